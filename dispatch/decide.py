"""Commands a dispatcher or a hotline gives, and the pure decision of which events they cause."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from dispatch import (
    device_health,
    green_wave,
    home_alarms,
    home_register,
    lead,
    mutual_aid,
    posts,
    roads,
    routes,
    whistle,
)
from dispatch import events as ev
from dispatch.agencies import Agency
from dispatch.alarm_rules import AlarmRules
from dispatch.merging import MergeRules, NewCall, find_match
from dispatch.plans import ResponsePlans
from dispatch.rejection import Rejected
from dispatch.roster import RosterRules
from dispatch.state import (
    INCIDENT_TRANSITIONS,
    TASK_TRANSITIONS,
    DispatchState,
    IncidentStatus,
    TaskStatus,
)
from dispatch.units import ASSIGNABLE, UNIT_TRANSITIONS, Unit, UnitStatus


@dataclass(frozen=True)
class ReceiveCall:
    hotline: str
    received_at: datetime
    kind: str
    text: str = ""
    caller_number: str | None = None
    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    idempotency_key: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # False when `received_at` is the server's own receipt time: a retry of the same request
    # arrives later, and its different "now" must not make it a different call.
    received_at_told: bool = True

    def fingerprint(self) -> str:
        """What makes two submissions the same call, to catch a reused idempotency key."""
        told = self.received_at.isoformat() if self.received_at_told else None
        body = [self.hotline, told, self.kind, self.text, self.caller_number, self.lon, self.lat,
                self.address]
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SplitCall:
    call_id: str
    reason: str
    by: str


@dataclass(frozen=True)
class MergeIncidents:
    target_id: str
    source_id: str
    reason: str
    by: str


@dataclass(frozen=True)
class ChangeIncidentStatus:
    incident_id: str
    status: str
    by: str
    reason: str = ""


@dataclass(frozen=True)
class AddIncidentNote:
    incident_id: str
    agency: str
    by: str
    text: str


@dataclass(frozen=True)
class RecordCheckIn:
    incident_id: str
    agency: str
    by: str


@dataclass(frozen=True)
class ChangeTaskStatus:
    incident_id: str
    agency: str
    status: str
    by: str


@dataclass(frozen=True)
class RegisterUnit:
    unit_id: str
    agency: str
    kind: str
    call_sign: str
    station_id: str
    crew: int
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangeUnitStatus:
    unit_id: str
    status: str
    by: str
    reason: str = ""
    hospital_id: str | None = None  # transporting: the crew's choice of hospital


@dataclass(frozen=True)
class Assignment:
    unit_id: str
    eta_s: float | None = None
    recommended: bool = True
    divert: bool = False  # take it off a less severe incident it is committed to


@dataclass(frozen=True)
class AssignUnits:
    """Send units to an incident, all or none: one may not go if another was taken meanwhile.

    `by_agency` is the centre the dispatcher works for (None: the system itself, e.g. a replay's
    joint desk); `authority` says how units of other agencies may be sent (see `_may_send`)."""

    incident_id: str
    assignments: tuple[Assignment, ...]
    by: str
    reason: str = ""
    by_agency: str | None = None
    authority: Literal["dispatcher", "supervisor", "whistle"] = "dispatcher"


Command = (
    ReceiveCall | SplitCall | MergeIncidents | ChangeIncidentStatus | ChangeTaskStatus | AddIncidentNote
    | RecordCheckIn | RegisterUnit | ChangeUnitStatus | AssignUnits | routes.GiveRoute
    | green_wave.GreenWaveCommand
    | whistle.BlowWhistle | whistle.AcknowledgeSummons | whistle.CheckDeadlines | whistle.PlanRosterDay
    | lead.HandOverLead
    | roads.CloseRoad | roads.ReopenRoad | mutual_aid.RequestMutualAid | mutual_aid.AnswerMutualAid
    | home_register.ImportRegister | home_alarms.RaiseDeviceAlarm | home_alarms.AnswerAlarmStep
    | home_alarms.CheckAlarmDeadlines | home_alarms.ReportResponderTask
    | device_health.OpenMaintenanceTask | device_health.CloseMaintenanceTask
    | posts.ProposePostPlan | posts.AcceptPostPlan | posts.RejectPostPlan | posts.PostUnit | posts.LeavePost
)


@dataclass(frozen=True)
class Rules:
    plans: ResponsePlans
    merge: MergeRules = MergeRules()
    roster: RosterRules = field(default_factory=RosterRules.load)
    ack_deadline_s: float = 30.0
    alarms: AlarmRules = field(default_factory=AlarmRules.load)

    @property
    def joint(self) -> bool:
        """Joint intake: calls of all hotlines merge and every agency the plan names gets a task.
        Off, each hotline acts alone on what reached it (how trainers compare strategies)."""
        return self.merge.across_hotlines

    def task_agencies(self, kind: str, hotline: str) -> tuple[str, ...]:
        """The centre that took the call always has a task (its caller is waiting on it: a 120
        caller at a crash means a patient, whatever the crash's plan says); joint, so does every
        agency the plan names. Working alone, a centre acts on its own calls only: another
        agency's part reaches that agency when the call is passed on by phone."""
        agencies = tuple(str(a) for a in self.plans[kind].agencies)
        if not self.joint:
            return (hotline,)
        return agencies if hotline in agencies else (*agencies, hotline)


def decide(state: DispatchState, command: Command, rules: Rules, now: datetime) -> list[ev.Event]:
    """The events a command causes on this state. Pure: same state and command, same events."""
    match command:
        case ReceiveCall():
            return _receive_call(state, command, rules, now)
        case SplitCall():
            return _split_call(state, command, rules, now)
        case MergeIncidents():
            return _merge_incidents(state, command, now)
        case ChangeIncidentStatus():
            return _change_incident_status(state, command, now)
        case ChangeTaskStatus():
            return _change_task_status(state, command, now)
        case AddIncidentNote():
            return _add_note(state, command, now)
        case RecordCheckIn():
            return _record_check_in(state, command, now)
        case RegisterUnit():
            return _register_unit(state, command, now)
        case ChangeUnitStatus():
            return _change_unit_status(state, command, now)
        case AssignUnits():
            return _assign_units(state, command, now)
        case routes.GiveRoute():
            return routes.give(state, command, now)
        case mutual_aid.RequestMutualAid():
            return mutual_aid.request(state, command, now)
        case mutual_aid.AnswerMutualAid():
            return mutual_aid.answer(state, command, now)
        case posts.ProposePostPlan() | posts.AcceptPostPlan() | posts.RejectPostPlan() | posts.PostUnit() | \
                posts.LeavePost():
            return posts.decide(state, command, now)
        case green_wave.RecordGreenWave() | green_wave.RecordGreenWaveRetime() | \
                green_wave.RecordGreenWaveAnswers() | green_wave.RecordGreenWaveRelease():
            return green_wave.decide(state, command, now)
        case roads.CloseRoad():
            return roads.close(state, command, now)
        case roads.ReopenRoad():
            return roads.reopen(state, command, now)
        case whistle.BlowWhistle():
            return whistle.blow(state, command, rules.roster, rules.ack_deadline_s, now)
        case whistle.AcknowledgeSummons():
            return whistle.acknowledge(state, command, now)
        case whistle.CheckDeadlines():
            return whistle.escalate_overdue(state, rules.roster, rules.ack_deadline_s, now)
        case whistle.PlanRosterDay():
            return whistle.plan_day(command, now)
        case lead.HandOverLead():
            return lead.hand_over(state, command, rules.roster, now)
        case home_register.ImportRegister():
            return home_register.import_register(state, command, now)
        case device_health.OpenMaintenanceTask():
            return device_health.open_task(state, command, now)
        case device_health.CloseMaintenanceTask():
            return device_health.close_task(state, command, now)
        case (home_alarms.RaiseDeviceAlarm() | home_alarms.AnswerAlarmStep()
              | home_alarms.CheckAlarmDeadlines() | home_alarms.ReportResponderTask()):
            return _home_alarm(state, command, rules, now)
    raise TypeError(f"unknown command {command!r}")


def _home_alarm(state: DispatchState, command: home_alarms.RaiseDeviceAlarm | home_alarms.AnswerAlarmStep
                | home_alarms.CheckAlarmDeadlines | home_alarms.ReportResponderTask, rules: Rules,
                now: datetime) -> list[ev.Event]:
    """An alarm's rule reaching its incident step makes a call through the one intake, so it
    opens an incident or joins the one a neighbour's call already opened, by the same merging."""

    def open_call(call: home_alarms.AlarmCall) -> list[ev.Event]:
        return _receive_call(state, ReceiveCall(
            hotline=call.hotline, received_at=call.received_at, kind=call.kind, text=call.text, lon=call.lon,
            lat=call.lat, address=call.address, idempotency_key=call.idempotency_key, details=call.details),
            rules, now)

    match command:
        case home_alarms.RaiseDeviceAlarm():
            return home_alarms.raise_alarm(state, command, rules.alarms, open_call, now)
        case home_alarms.AnswerAlarmStep():
            return home_alarms.answer_step(state, command, rules.alarms, open_call, now)
        case home_alarms.CheckAlarmDeadlines():
            return home_alarms.check_deadlines(state, rules.alarms, open_call, now)
        case home_alarms.ReportResponderTask():
            return home_alarms.report(state, command, rules.alarms, open_call, now)


def _receive_call(
    state: DispatchState, cmd: ReceiveCall, rules: Rules, now: datetime
) -> list[ev.Event]:
    if cmd.idempotency_key and cmd.idempotency_key in state.idempotency:
        earlier = state.calls[state.idempotency[cmd.idempotency_key]]
        if earlier.fingerprint != cmd.fingerprint():
            raise Rejected(409, "Idempotency-Key",
                           "this Idempotency-Key was already used for a different call")
        return []  # the same call again: nothing new happens; the caller gets the first answer
    if cmd.kind not in rules.plans:
        raise Rejected(422, "kind", f"unknown kind {cmd.kind!r}; known: {', '.join(rules.plans.kinds)}")
    call_id = state.next_call_id()
    received = ev.CallReceived(
        at=now, call_id=call_id, hotline=cmd.hotline, received_at=cmd.received_at,
        caller_number=cmd.caller_number, lon=cmd.lon, lat=cmd.lat, address=cmd.address,
        kind=cmd.kind, text=cmd.text, idempotency_key=cmd.idempotency_key,
        fingerprint=cmd.fingerprint(), details=dict(cmd.details),
    )
    new = NewCall(received_at=cmd.received_at, lon=cmd.lon, lat=cmd.lat, address=cmd.address,
                  kind=cmd.kind, caller_number=cmd.caller_number, hotline=cmd.hotline)
    match = find_match(state, new, rules.plans, rules.merge)
    if match is None:
        return [received, *_open_incident(state, call_id, cmd, rules, now,
                                          "no open incident nearby of a compatible kind")]
    inc = state.incidents[match.incident_id]
    out: list[ev.Event] = [received, ev.CallMerged(
        at=now, call_id=call_id, incident_id=inc.incident_id, reason=match.reason,
        distance_m=None if match.distance_m is None else round(match.distance_m, 1),
        minutes_apart=match.minutes_apart, repeat=match.repeat, confidence=match.confidence,
    )]
    plan = rules.plans[cmd.kind]
    if plan.severity > inc.severity:
        out.append(ev.IncidentReclassified(
            at=now, incident_id=inc.incident_id, kind=cmd.kind, severity=plan.severity,
            whistle_qualifies=inc.whistle_qualifies or plan.whistle,
            reason=f"call {call_id} reports {cmd.kind}",
        ))
    for agency in rules.task_agencies(cmd.kind, cmd.hotline):
        if agency not in inc.tasks:
            out.append(ev.TaskCreated(at=now, incident_id=inc.incident_id, agency=agency,
                                      reason=f"{cmd.kind} plan, from call {call_id}"))
    return out


def _open_incident(
    state: DispatchState, call_id: str, call: ReceiveCall | Any, rules: Rules, now: datetime,
    reason: str,
) -> list[ev.Event]:
    plan = rules.plans[call.kind]
    incident_id = state.next_incident_id()
    out: list[ev.Event] = [ev.IncidentOpened(
        at=now, incident_id=incident_id, call_id=call_id, kind=call.kind, severity=plan.severity,
        lon=call.lon, lat=call.lat, address=call.address, whistle_qualifies=plan.whistle,
        reason=reason,
    )]
    out += [ev.TaskCreated(at=now, incident_id=incident_id, agency=a, reason=f"{call.kind} plan")
            for a in rules.task_agencies(call.kind, call.hotline)]
    return out


def _split_call(state: DispatchState, cmd: SplitCall, rules: Rules, now: datetime) -> list[ev.Event]:
    call = state.calls.get(cmd.call_id)
    if call is None:
        raise Rejected(404, "call_id", f"no call {cmd.call_id}")
    inc = state.incidents[call.incident_id] if call.incident_id else None
    if inc is None or len(inc.call_ids) < 2:
        raise Rejected(409, "call_id",
                       f"call {cmd.call_id} is the only call of its incident; nothing to split")
    if not inc.active:
        raise Rejected(409, "call_id", f"incident {inc.incident_id} is {inc.status}")
    return [
        ev.CallSplit(at=now, call_id=cmd.call_id, from_incident_id=inc.incident_id,
                     reason=cmd.reason, by=cmd.by),
        *_open_incident(state, cmd.call_id, call, rules, now,
                        f"split out of {inc.incident_id} by {cmd.by}: {cmd.reason}"),
    ]


def _merge_incidents(state: DispatchState, cmd: MergeIncidents, now: datetime) -> list[ev.Event]:
    if cmd.target_id == cmd.source_id:
        raise Rejected(422, "source_id", "an incident cannot be merged into itself")
    for field_name, incident_id in (("target_id", cmd.target_id), ("source_id", cmd.source_id)):
        inc = state.incidents.get(incident_id)
        if inc is None:
            raise Rejected(404, field_name, f"no incident {incident_id}")
        if not inc.active:
            raise Rejected(409, field_name, f"incident {incident_id} is {inc.status}")
    return [ev.IncidentsMerged(at=now, target_id=cmd.target_id, source_id=cmd.source_id,
                               reason=cmd.reason, by=cmd.by)]


def _add_note(state: DispatchState, cmd: AddIncidentNote, now: datetime) -> list[ev.Event]:
    inc = state.incidents.get(cmd.incident_id)
    if inc is None:
        raise Rejected(404, "incident_id", f"no incident {cmd.incident_id}")
    if inc.merged_into is not None:
        raise Rejected(409, "incident_id", f"{inc.incident_id} was merged into {inc.merged_into}; "
                       "write the note there")
    text = cmd.text.strip()
    if not text:
        raise Rejected(422, "text", "a note needs some text")
    return [ev.IncidentNoteAdded(at=now, incident_id=inc.incident_id, agency=cmd.agency, by=cmd.by,
                                 text=text)]


def _record_check_in(state: DispatchState, cmd: RecordCheckIn, now: datetime) -> list[ev.Event]:
    """A scene timer runs for each agency on scene; a check-in starts it again."""
    inc = state.incidents.get(cmd.incident_id)
    if inc is None:
        raise Rejected(404, "incident_id", f"no incident {cmd.incident_id}")
    if inc.merged_into is not None:
        raise Rejected(409, "incident_id", f"{inc.incident_id} was merged into {inc.merged_into}; "
                       "check in there")
    if not inc.active:
        raise Rejected(409, "incident_id", f"incident {inc.incident_id} is {inc.status}")
    task = inc.tasks.get(cmd.agency)
    if task is None:
        raise Rejected(404, "agency", f"incident {inc.incident_id} has no task for {cmd.agency}")
    if task.status != TaskStatus.ON_SCENE:
        raise Rejected(409, "agency", f"{cmd.agency} is not on scene at {inc.incident_id} (its task is "
                       f"{task.status}); the check-in timer runs only on scene")
    if not cmd.by.strip():
        raise Rejected(422, "by", "say who checked in")
    return [ev.CheckInRecorded(at=now, incident_id=inc.incident_id, agency=cmd.agency, by=cmd.by.strip())]


def _change_incident_status(
    state: DispatchState, cmd: ChangeIncidentStatus, now: datetime
) -> list[ev.Event]:
    inc = state.incidents.get(cmd.incident_id)
    if inc is None:
        raise Rejected(404, "incident_id", f"no incident {cmd.incident_id}")
    try:
        target = IncidentStatus(cmd.status)
    except ValueError:
        raise Rejected(422, "status", f"unknown status {cmd.status!r}") from None
    allowed = INCIDENT_TRANSITIONS[inc.status]
    if target not in allowed:
        raise Rejected(409, "status", f"{inc.status} -> {target} is not allowed; allowed: "
                       f"{', '.join(sorted(allowed)) or 'none'}")
    out: list[ev.Event] = []
    if target == IncidentStatus.CLOSED:
        # A closed incident has no live task: feeds and CAP must not publish work still going.
        out += [ev.TaskStatusChanged(at=now, incident_id=inc.incident_id, agency=agency, by=cmd.by,
                                     status=TaskStatus.CANCELLED if task.status == TaskStatus.PENDING
                                     else TaskStatus.DONE)
                for agency, task in inc.tasks.items() if task.status not in TASK_DONE]
    out.append(ev.IncidentStatusChanged(
        at=now, incident_id=inc.incident_id, status=target, by=cmd.by, reason=cmd.reason))
    if target == IncidentStatus.CLOSED:
        # Closing frees the units still tied to it, so nobody is left committed to nothing.
        out += [ev.UnitStatusChanged(at=now, unit_id=u, status=UnitStatus.RETURNING, by=cmd.by,
                                     incident_id=inc.incident_id, reason="incident closed")
                for u in inc.unit_ids
                if state.units[u].incident_id == inc.incident_id
                and UnitStatus.RETURNING in UNIT_TRANSITIONS[state.units[u].status]]
        out += [ev.WhistleEnded(at=now, whistle_id=w.whistle_id, reason="incident closed")
                for w in state.whistles.values() if w.active and w.incident_id == inc.incident_id]
    return out


def _change_task_status(state: DispatchState, cmd: ChangeTaskStatus, now: datetime) -> list[ev.Event]:
    inc = state.incidents.get(cmd.incident_id)
    if inc is None:
        raise Rejected(404, "incident_id", f"no incident {cmd.incident_id}")
    task = inc.tasks.get(cmd.agency)
    if task is None:
        raise Rejected(404, "agency", f"incident {cmd.incident_id} has no task for {cmd.agency}")
    try:
        target = TaskStatus(cmd.status)
    except ValueError:
        raise Rejected(422, "status", f"unknown status {cmd.status!r}") from None
    allowed = TASK_TRANSITIONS[task.status]
    if target not in allowed:
        raise Rejected(409, "status", f"{task.status} -> {target} is not allowed; allowed: "
                       f"{', '.join(sorted(allowed)) or 'none'}")
    return [ev.TaskStatusChanged(at=now, incident_id=inc.incident_id, agency=cmd.agency,
                                 status=target, by=cmd.by)]


def _register_unit(state: DispatchState, cmd: RegisterUnit, now: datetime) -> list[ev.Event]:
    if cmd.unit_id in state.units:
        raise Rejected(409, "unit_id", f"unit {cmd.unit_id} already exists")
    try:
        Agency(cmd.agency)
    except ValueError:
        raise Rejected(422, "agency", f"unknown agency {cmd.agency!r}") from None
    if cmd.crew < 1:
        raise Rejected(422, "crew", "a unit has at least one crew member")
    return [ev.UnitRegistered(at=now, unit_id=cmd.unit_id, agency=cmd.agency, kind=cmd.kind,
                              call_sign=cmd.call_sign, station_id=cmd.station_id, crew=cmd.crew,
                              capabilities=list(cmd.capabilities))]


def _change_unit_status(state: DispatchState, cmd: ChangeUnitStatus, now: datetime) -> list[ev.Event]:
    unit = state.units.get(cmd.unit_id)
    if unit is None:
        raise Rejected(404, "unit_id", f"no unit {cmd.unit_id}")
    try:
        target = UnitStatus(cmd.status)
    except ValueError:
        raise Rejected(422, "status", f"unknown status {cmd.status!r}; known: "
                       f"{', '.join(s.value for s in UnitStatus)}") from None
    allowed = UNIT_TRANSITIONS[unit.status]
    if target not in allowed:
        raise Rejected(409, "status", f"{unit.call_sign} is {unit.status}; {target} is not allowed "
                       f"from there; allowed: {', '.join(sorted(allowed))}")
    if target == UnitStatus.DISPATCHED:
        raise Rejected(409, "status", "a unit is dispatched by assigning it to an incident")
    if cmd.hospital_id is not None and target != UnitStatus.TRANSPORTING:
        raise Rejected(422, "hospital_id", "a hospital is named only when transporting")
    changed = ev.UnitStatusChanged(at=now, unit_id=unit.unit_id, status=target, by=cmd.by,
                                   incident_id=unit.incident_id, reason=cmd.reason,
                                   hospital_id=cmd.hospital_id)
    return [changed, *_task_follows(state, unit, target, cmd.by, now)]


# How far an agency's units on an incident have got, as the status of its task.
_TASK_OF_UNIT = {UnitStatus.DISPATCHED: TaskStatus.DISPATCHED, UnitStatus.EN_ROUTE: TaskStatus.EN_ROUTE,
                 UnitStatus.ON_SCENE: TaskStatus.ON_SCENE, UnitStatus.TRANSPORTING: TaskStatus.ON_SCENE,
                 UnitStatus.AT_HOSPITAL: TaskStatus.ON_SCENE}
_TASK_ORDER = [TaskStatus.PENDING, TaskStatus.DISPATCHED, TaskStatus.EN_ROUTE, TaskStatus.ON_SCENE]
TASK_DONE = frozenset({TaskStatus.DONE, TaskStatus.CANCELLED})


def _task_follows(state: DispatchState, unit: Unit, status: UnitStatus, by: str,
                  now: datetime) -> list[ev.Event]:
    """The agency's task moves with its units: en route when the first sets off, on scene when
    the first arrives, done once it was on scene and its last unit has left. It never goes back."""
    inc = state.incidents.get(unit.incident_id or "")
    task = inc.tasks.get(unit.agency) if inc is not None else None
    if inc is None or task is None or task.status in TASK_DONE:
        return []
    statuses = [status if u == unit.unit_id else state.units[u].status for u in dict.fromkeys(inc.unit_ids)
                if state.units[u].agency == unit.agency and state.units[u].incident_id == inc.incident_id]
    reached = [_TASK_OF_UNIT[s] for s in statuses if s in _TASK_OF_UNIT]
    if reached:
        target = max(reached, key=_TASK_ORDER.index)
        if _TASK_ORDER.index(target) <= _TASK_ORDER.index(task.status):
            return []
    elif task.status == TaskStatus.ON_SCENE:
        target = TaskStatus.DONE  # worked on scene, and every unit has left
    else:
        return []  # turned back before arriving: the task waits for another unit
    return [ev.TaskStatusChanged(at=now, incident_id=inc.incident_id, agency=unit.agency,
                                 status=target, by=by)]


def _may_send(state: DispatchState, cmd: AssignUnits, unit: Unit) -> None:
    """A dispatcher sends their own agency's units; another agency's only when the incident is
    whistled (every agency is convened on it), through a supervisor, or when that agency accepted
    a mutual-aid request for this incident."""
    if cmd.by_agency is None or unit.agency == cmd.by_agency or cmd.authority in ("supervisor", "whistle"):
        return
    whistled = any(w.active and w.incident_id == cmd.incident_id for w in state.whistles.values())
    if whistled or mutual_aid.permits(state, cmd.incident_id, cmd.by_agency, unit.agency):
        return
    raise Rejected(403, "units", f"{unit.call_sign} is a {unit.agency} unit: a {cmd.by_agency} dispatcher "
                   f"sends {unit.agency} units only when the incident is whistled, through a supervisor, "
                   f"or after {unit.agency} accepts a mutual-aid request")


def _assign_units(state: DispatchState, cmd: AssignUnits, now: datetime) -> list[ev.Event]:
    inc = state.incidents.get(cmd.incident_id)
    if inc is None:
        raise Rejected(404, "incident_id", f"no incident {cmd.incident_id}")
    if not inc.active:
        raise Rejected(409, "incident_id", f"incident {inc.incident_id} is {inc.status}")
    if not cmd.assignments:
        raise Rejected(422, "units", "name at least one unit")
    chosen = [a.unit_id for a in cmd.assignments]
    if len(set(chosen)) != len(chosen):
        raise Rejected(422, "units", "a unit is named twice")
    if any(not a.recommended for a in cmd.assignments) and not cmd.reason.strip():
        raise Rejected(422, "reason", "say why when sending units other than the recommended ones")
    out: list[ev.Event] = []
    tasked = set(inc.tasks)
    for a in cmd.assignments:
        unit = state.units.get(a.unit_id)
        if unit is None:
            raise Rejected(404, "units", f"no unit {a.unit_id}")
        _may_send(state, cmd, unit)
        if unit.agency not in tasked:  # the agency whose unit goes has work in the incident now
            tasked.add(unit.agency)
            out.append(ev.TaskCreated(at=now, incident_id=inc.incident_id, agency=unit.agency,
                                      reason=f"{unit.call_sign} sent by {cmd.by}"
                                      + (f" ({cmd.by_agency})" if cmd.by_agency else "")))
        current = state.incidents.get(unit.incident_id or "")
        if a.divert and current is not None and current.incident_id != inc.incident_id:
            if current.severity >= inc.severity:
                raise Rejected(409, "units", f"{unit.call_sign} serves {current.incident_id} of "
                               f"severity {current.severity}; only a less severe task may be left")
        elif unit.status not in ASSIGNABLE:
            where = f" to {unit.incident_id}" if unit.incident_id else ""
            raise Rejected(409, "units", f"{unit.call_sign} is {unit.status}{where}; release it first")
        out.append(ev.UnitAssigned(at=now, unit_id=unit.unit_id, incident_id=inc.incident_id,
                                   agency=unit.agency, by=cmd.by, recommended=a.recommended,
                                   eta_s=a.eta_s, reason=cmd.reason))
    return out
