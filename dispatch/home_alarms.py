"""Alarms from residents' homes: raised by a device, deduplicated, taken through the steps of
their rule (call-backs, a community responder's welfare check) and, when the rule says so,
turned into a call on a hotline that opens or joins an incident.

Pure decisions over the folded state. Every step's deadline is an absolute time in its event,
so a restart resumes the step from the log and a replay on a simulated clock decides at the
same moments (as the whistle's escalation does)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dispatch import events as ev
from dispatch.alarm_rules import OUTCOMES, RESPONDER_OUTCOMES, AlarmRule, AlarmRules
from dispatch.home_register import Resident
from dispatch.incidents import note
from dispatch.rejection import Rejected

if TYPE_CHECKING:
    from dispatch.incidents import Incident
    from dispatch.state import DispatchState


@dataclass
class Step:
    step: int
    action: str
    deadline: datetime
    who: str
    responder_id: str | None
    started_at: datetime
    outcome: str | None = None  # all_well, needs_help, no_answer, timed_out
    ended_at: datetime | None = None


@dataclass
class HomeAlarm:
    alarm_id: str
    device_id: str
    resident_id: str
    kind: str
    raised_at: datetime  # the device's time
    received_at: datetime  # when this system recorded it
    value: float | None
    via: str
    lon: float
    lat: float
    acted: bool
    reason: str
    count: int = 1
    last_at: datetime | None = None  # the latest message's device time
    message_ids: set[str] = field(default_factory=set)
    steps: list[Step] = field(default_factory=list)
    call_id: str | None = None
    incident_id: str | None = None
    escalated_at: datetime | None = None
    escalation_reason: str = ""
    resolved_at: datetime | None = None
    outcome: str | None = None
    resolved_by: str | None = None
    responder_task_ids: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.resolved_at is None and self.incident_id is None

    @property
    def status(self) -> str:
        if self.incident_id is not None:
            return "escalated"
        if self.resolved_at is not None:
            return "resolved"
        return "verifying" if self.current_step is not None else "raised"

    @property
    def current_step(self) -> Step | None:
        if self.steps and self.steps[-1].outcome is None and self.open:
            return self.steps[-1]
        return None


@dataclass
class ResponderTask:
    task_id: str
    alarm_id: str
    responder_id: str
    resident_id: str
    ask: str
    reason: str
    asked_at: datetime
    accepted_at: datetime | None = None
    arrived_at: datetime | None = None
    outcome: str | None = None
    outcome_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AlarmCall:
    """The call an alarm makes on a hotline when its rule reaches the incident step."""

    hotline: str
    kind: str
    text: str
    lon: float
    lat: float
    address: str
    details: dict[str, Any]
    idempotency_key: str
    received_at: datetime


OpenCall = Callable[[AlarmCall], list[ev.Event]]  # dispatch.decide's intake of a call


@dataclass(frozen=True)
class RaiseDeviceAlarm:
    device_id: str
    gateway_id: str | None  # None: an IoT platform's push, authenticated by its key, not a gateway
    kind: str
    raised_at: datetime
    value: float | None = None
    via: str = "mqtt"
    message_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # given on to the alarm's call


@dataclass(frozen=True)
class AnswerAlarmStep:
    """The outcome of the alarm's current check: a call-back answered, or the welfare check done."""

    alarm_id: str
    outcome: str
    by: str
    note: str = ""


@dataclass(frozen=True)
class CheckAlarmDeadlines:
    """Sent by the clock at the edge: the next overdue step goes on to its next step."""


@dataclass(frozen=True)
class ReportResponderTask:
    task_id: str
    responder_id: str
    report: str  # accepted, arrived, outcome
    outcome: str = ""
    note: str = ""


def raise_alarm(
    state: "DispatchState", cmd: RaiseDeviceAlarm, rules: AlarmRules, open_call: OpenCall, now: datetime
) -> list[ev.Event]:
    device = state.homes.devices.get(cmd.device_id)
    if device is None:
        raise Rejected(422, "device_id", f"device {cmd.device_id!r} is not in the register")
    if cmd.gateway_id is not None and device.gateway_id != cmd.gateway_id:
        raise Rejected(
            403,
            "gateway_id",
            f"device {cmd.device_id} belongs to gateway {device.gateway_id}, not {cmd.gateway_id}",
        )
    if cmd.kind not in rules:
        raise Rejected(
            422, "kind", f"unknown alarm kind {cmd.kind!r}; known: {', '.join(sorted(rules.kinds))}"
        )
    known = state.alarm_by_device.get((cmd.device_id, cmd.kind))
    if known is not None:
        alarm = state.alarms[known]
        if cmd.message_id is not None and cmd.message_id in alarm.message_ids:
            return []  # the broker delivered it twice (QoS 1): already counted
        last = alarm.last_at or alarm.raised_at
        if alarm.open or abs((cmd.raised_at - last).total_seconds()) <= rules.dedup_window_s:
            return [
                ev.DeviceAlarmRepeated(
                    at=now,
                    alarm_id=alarm.alarm_id,
                    count=alarm.count + 1,
                    raised_at=cmd.raised_at,
                    message_id=cmd.message_id,
                )
            ]
    resident = state.homes.residents[device.resident_id]
    rule = rules[cmd.kind]
    acted, why = _holds(rule, rules, resident, cmd)
    alarm_id = f"A{len(state.alarms) + 1:06d}"
    raised = ev.DeviceAlarmRaised(
        at=now,
        alarm_id=alarm_id,
        device_id=cmd.device_id,
        resident_id=resident.resident_id,
        kind=cmd.kind,
        raised_at=cmd.raised_at,
        value=cmd.value,
        via=cmd.via,
        message_id=cmd.message_id,
        lon=resident.lon,
        lat=resident.lat,
        acted=acted,
        reason=why,
        details=dict(cmd.details),
    )
    if not acted:
        return [
            raised,
            ev.AlarmResolved(at=now, alarm_id=alarm_id, outcome="not_acted", by="rules", reason=why),
        ]
    out: list[ev.Event] = [raised]
    if rule.tell_responder:
        out += _task_responder(
            state, alarm_id, resident, f"{rule.label_en}: go to the home, help the resident out", now
        )
    return out + _enter(state, alarm_id, resident, rule, 0, now, now, open_call, why, dict(cmd.details))


def _holds(rule: AlarmRule, rules: AlarmRules, resident: Resident, cmd: RaiseDeviceAlarm) -> tuple[bool, str]:
    """Whether the rule acts on this alarm, and why (said in the log either way)."""
    if rule.when_dementia and not resident.has_dementia:
        return False, "the resident's care plan names no dementia"
    if rule.when_night and not rules.is_night(cmd.raised_at):
        return False, "not in the night window"
    if rule.outside is not None:
        low, high = rule.outside
        if cmd.value is None:
            return True, "no value measured: acted on as out of range"
        if low <= cmd.value <= high:
            return False, f"{cmd.value:g} is within {low:g}..{high:g}"
        return True, f"{cmd.value:g} is outside {low:g}..{high:g}"
    return True, f"{rule.label_en} rule"


def _enter(
    state: "DispatchState",
    alarm_id: str,
    resident: Resident,
    rule: AlarmRule,
    index: int,
    since: datetime,
    now: datetime,
    open_call: OpenCall,
    reason: str,
    details: dict[str, Any] | None = None,
) -> list[ev.Event]:
    """The events of starting step `index` (deadlines run from `since`); a check that has no one
    to call or send is passed over, with the reason, to the next. `details`: the alarm's, while
    it is being raised (not in the state yet)."""
    step = rule.steps[index]
    if step.is_incident:
        return _escalate(state, alarm_id, resident, rule, index, now, open_call, reason, details)
    deadline = since + timedelta(seconds=step.deadline_s)
    if step.check == "call_resident":
        return [
            ev.AlarmStepStarted(
                at=now,
                alarm_id=alarm_id,
                step=index,
                action="call_resident",
                deadline=deadline,
                who=f"{resident.name} {resident.phone or '(no phone)'}",
            )
        ]
    if step.check == "call_contact":
        if not resident.contacts:
            return _enter(
                state,
                alarm_id,
                resident,
                rule,
                index + 1,
                since,
                now,
                open_call,
                "no contact in the register to call",
                details,
            )
        c = resident.contacts[0]
        who = f"{c.get('name', '')} ({c.get('relation', 'contact')}) {c.get('phone', '')}".strip()
        return [
            ev.AlarmStepStarted(
                at=now, alarm_id=alarm_id, step=index, action="call_contact", deadline=deadline, who=who
            )
        ]
    found = state.homes.nearest_responder(resident.lon, resident.lat)
    if found is None:
        return _enter(
            state,
            alarm_id,
            resident,
            rule,
            index + 1,
            since,
            now,
            open_call,
            "no community responder in the register for a welfare check",
            details,
        )
    responder, _why = found
    tasked = _task_responder(state, alarm_id, resident, f"{rule.label_en}: welfare check at the home", now)
    return [
        *tasked,
        ev.AlarmStepStarted(
            at=now,
            alarm_id=alarm_id,
            step=index,
            action="welfare_check",
            deadline=deadline,
            who=f"{responder.name} {responder.phone}",
            responder_id=responder.responder_id,
        ),
    ]


def _task_responder(
    state: "DispatchState", alarm_id: str, resident: Resident, ask: str, now: datetime
) -> list[ev.Event]:
    found = state.homes.nearest_responder(resident.lon, resident.lat)
    if found is None:
        return []
    responder, why = found
    return [
        ev.ResponderTasked(
            at=now,
            task_id=f"RT{len(state.responder_tasks) + 1:06d}",
            alarm_id=alarm_id,
            responder_id=responder.responder_id,
            resident_id=resident.resident_id,
            ask=f"{ask} ({resident.address})",
            reason=why,
        )
    ]


def _escalate(
    state: "DispatchState",
    alarm_id: str,
    resident: Resident,
    rule: AlarmRule,
    index: int,
    now: datetime,
    open_call: OpenCall,
    reason: str,
    details: dict[str, Any] | None = None,
) -> list[ev.Event]:
    step = rule.steps[index]
    assert step.hotline is not None and step.incident_kind is not None
    return _call_hotline(state, alarm_id, resident, rule, step.hotline, step.incident_kind, now,
                         open_call, reason, details)


def _call_hotline(
    state: "DispatchState",
    alarm_id: str,
    resident: Resident,
    rule: AlarmRule,
    hotline: str,
    kind: str,
    now: datetime,
    open_call: OpenCall,
    reason: str,
    details: dict[str, Any] | None = None,
) -> list[ev.Event]:
    """The alarm's call on `hotline` through the one intake, and the alarm escalated to the
    incident it opened or joined."""
    given = details if details is not None else state.alarms[alarm_id].details
    # A second call of the same alarm (a responder's "needs 120" after the rule's own call) needs
    # its own idempotency key, or the intake would take it for the first one again.
    made = sum(1 for c in state.calls.values() if c.details.get("alarm_id") == alarm_id)
    call = AlarmCall(
        hotline=hotline,
        kind=kind,
        lon=resident.lon,
        lat=resident.lat,
        address=resident.address,
        text=f"home alarm {alarm_id}: {rule.label_en} at {resident.address} "
        f"(resident {resident.resident_id}): {reason}",
        details={
            **given,
            "source": "home_alarm",
            "alarm_id": alarm_id,
            "alarm_kind": rule.kind,
            "resident_id": resident.resident_id,
        },
        idempotency_key=f"home-alarm:{alarm_id}" + (f":{made + 1}" if made else ""),
        received_at=now,
    )
    events = open_call(call)
    received = next(e for e in events if isinstance(e, ev.CallReceived))
    incident_id = next(e.incident_id for e in events if isinstance(e, ev.IncidentOpened | ev.CallMerged))
    return [
        *events,
        ev.AlarmEscalated(
            at=now, alarm_id=alarm_id, call_id=received.call_id, incident_id=incident_id, reason=reason
        ),
    ]


def _alarm(state: "DispatchState", alarm_id: str) -> HomeAlarm:
    alarm = state.alarms.get(alarm_id)
    if alarm is None:
        raise Rejected(404, "alarm_id", f"no alarm {alarm_id}")
    return alarm


def answer_step(
    state: "DispatchState", cmd: AnswerAlarmStep, rules: AlarmRules, open_call: OpenCall, now: datetime
) -> list[ev.Event]:
    alarm = _alarm(state, cmd.alarm_id)
    if cmd.outcome not in OUTCOMES:
        raise Rejected(422, "outcome", f"unknown outcome {cmd.outcome!r}; one of {', '.join(OUTCOMES)}")
    step = alarm.current_step
    if step is None:
        raise Rejected(
            409, "alarm_id", f"alarm {alarm.alarm_id} is {alarm.status}: no step waits for an answer"
        )
    answered = ev.AlarmStepAnswered(
        at=now, alarm_id=alarm.alarm_id, step=step.step, outcome=cmd.outcome, by=cmd.by, note=cmd.note
    )
    rule = rules[alarm.kind]
    resident = state.homes.residents[alarm.resident_id]
    said = f"{step.action.replace('_', ' ')}: {cmd.outcome.replace('_', ' ')} ({cmd.by})"
    if cmd.outcome == "all_well":
        return [
            answered,
            ev.AlarmResolved(
                at=now,
                alarm_id=alarm.alarm_id,
                outcome="all_well",
                by=cmd.by,
                reason=said + (f": {cmd.note}" if cmd.note else ""),
            ),
        ]
    following = rule.incident_step() if cmd.outcome == "needs_help" else step.step + 1
    return [answered, *_enter(state, alarm.alarm_id, resident, rule, following, now, now, open_call, said)]


def check_deadlines(
    state: "DispatchState", rules: AlarmRules, open_call: OpenCall, now: datetime
) -> list[ev.Event]:
    """The most overdue step goes on, one alarm per decision: opening a call takes the next call
    id from the state, so two in one decision would collide. The clock asks again while any is due."""
    due = sorted(
        (s.deadline, a.alarm_id)
        for a in state.alarms.values()
        if (s := a.current_step) is not None and s.deadline <= now
    )
    if not due:
        return []
    deadline, alarm_id = due[0]
    alarm = state.alarms[alarm_id]
    step = alarm.current_step
    assert step is not None
    rule = rules[alarm.kind]
    resident = state.homes.residents[alarm.resident_id]
    # The next step's deadline runs from the moment this one passed, not from when the clock
    # noticed, so the steps keep time even if a tick is late or a replay jumps.
    return [
        ev.AlarmStepTimedOut(at=now, alarm_id=alarm_id, step=step.step, deadline=deadline),
        *_enter(
            state,
            alarm_id,
            resident,
            rule,
            step.step + 1,
            deadline,
            now,
            open_call,
            f"{step.action.replace('_', ' ')}: no answer by {deadline.isoformat()}",
        ),
    ]


def next_deadline(state: "DispatchState") -> datetime | None:
    """When the clock must next look at the alarms."""
    pending = [s.deadline for a in state.alarms.values() if (s := a.current_step) is not None]
    return min(pending) if pending else None


def report(
    state: "DispatchState", cmd: ReportResponderTask, rules: AlarmRules, open_call: OpenCall, now: datetime
) -> list[ev.Event]:
    """A community responder's report: accepted, arrived, or the outcome of the visit.

    An outcome is the answer of the welfare check the alarm waits for, if it is this responder's;
    "needs 120" asks for an ambulance whatever the alarm's step (a 120 task on its incident, or a
    120 call when it has none). A repeated accept or arrival (a phone retrying) adds nothing."""
    task = state.responder_tasks.get(cmd.task_id)
    if task is None:
        raise Rejected(404, "task_id", f"no responder task {cmd.task_id}")
    if task.responder_id != cmd.responder_id:
        raise Rejected(
            403, "task_id", f"task {cmd.task_id} was given to {task.responder_id}, not {cmd.responder_id}"
        )
    if cmd.report not in ("accepted", "arrived", "outcome"):
        raise Rejected(422, "report", "one of accepted, arrived, outcome")
    if task.outcome is not None:
        raise Rejected(
            409, "task_id", f"task {task.task_id} is done: its outcome {task.outcome} was reported"
        )
    if cmd.report == "accepted" and task.accepted_at is not None:
        return []
    if cmd.report == "arrived" and task.arrived_at is not None:
        return []
    if cmd.report == "outcome":
        if cmd.outcome not in RESPONDER_OUTCOMES:
            raise Rejected(
                422, "outcome", f"an outcome report says one of {', '.join(RESPONDER_OUTCOMES)}"
            )
        if cmd.outcome == "other" and not cmd.note.strip():
            raise Rejected(422, "note", "an outcome of 'other' says in the note what was found")
    elif cmd.outcome:
        raise Rejected(422, "outcome", f"only an outcome report carries an outcome, not {cmd.report}")
    out: list[ev.Event] = [
        ev.ResponderReported(
            at=now,
            task_id=task.task_id,
            responder_id=cmd.responder_id,
            report=cmd.report,
            outcome=cmd.outcome,
            note=cmd.note,
        )
    ]
    if cmd.report != "outcome" or cmd.outcome == "other":
        return out
    alarm = state.alarms[task.alarm_id]
    step = alarm.current_step
    by = f"responder {cmd.responder_id}"
    said = f"{by} at the home: {cmd.outcome.replace('_', ' ')}" + (f": {cmd.note}" if cmd.note else "")
    rule = rules[alarm.kind]
    resident = state.homes.residents[alarm.resident_id]
    waited_on = step is not None and step.responder_id == cmd.responder_id
    if cmd.outcome == "needs_120":
        if waited_on:
            assert step is not None
            out.append(ev.AlarmStepAnswered(
                at=now, alarm_id=alarm.alarm_id, step=step.step, outcome="needs_help", by=by, note=cmd.note))
        incident = _live_incident(state, alarm)
        if incident is None:
            return out + _call_hotline(state, alarm.alarm_id, resident, rule, "120", rules.needs_120_kind,
                                       now, open_call, said)
        if "120" not in incident.tasks:
            out.append(ev.TaskCreated(at=now, incident_id=incident.incident_id, agency="120", reason=said))
        return out
    if waited_on:
        return out + answer_step(
            state, AnswerAlarmStep(alarm.alarm_id, cmd.outcome, by, cmd.note), rules, open_call, now
        )
    if cmd.outcome == "needs_help" and _live_incident(state, alarm) is None:
        return out + _escalate(state, alarm.alarm_id, resident, rule, rule.incident_step(), now, open_call,
                               said)
    return out  # the alarm is past waiting for this visit: the report is for the incident's timeline


def _live_incident(state: "DispatchState", alarm: HomeAlarm) -> "Incident | None":
    """The active incident the alarm's call is in now (following merges), if any."""
    incident_id = alarm.incident_id
    seen: set[str] = set()
    while incident_id is not None and incident_id not in seen:
        seen.add(incident_id)
        incident = state.incidents[incident_id]
        if incident.active:
            return incident
        incident_id = incident.merged_into
    return None


def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    match e:
        case ev.DeviceAlarmRaised():
            alarm = HomeAlarm(
                alarm_id=e.alarm_id,
                device_id=e.device_id,
                resident_id=e.resident_id,
                kind=e.kind,
                raised_at=e.raised_at,
                received_at=e.at,
                value=e.value,
                via=e.via,
                lon=e.lon,
                lat=e.lat,
                acted=e.acted,
                reason=e.reason,
                last_at=e.raised_at,
                message_ids={e.message_id} if e.message_id else set(),
                details=dict(e.details),
            )
            state.alarms[e.alarm_id] = alarm
            state.alarm_by_device[(e.device_id, e.kind)] = e.alarm_id
        case ev.DeviceAlarmRepeated():
            alarm = state.alarms[e.alarm_id]
            alarm.count = e.count
            alarm.last_at = max(alarm.last_at or e.raised_at, e.raised_at)
            if e.message_id:
                alarm.message_ids.add(e.message_id)
        case ev.AlarmStepStarted():
            state.alarms[e.alarm_id].steps.append(
                Step(
                    step=e.step,
                    action=e.action,
                    deadline=e.deadline,
                    who=e.who,
                    responder_id=e.responder_id,
                    started_at=e.at,
                )
            )
        case ev.AlarmStepAnswered():
            s = state.alarms[e.alarm_id].steps[-1]
            s.outcome, s.ended_at = e.outcome, e.at
        case ev.AlarmStepTimedOut():
            s = state.alarms[e.alarm_id].steps[-1]
            s.outcome, s.ended_at = "timed_out", e.at
        case ev.AlarmEscalated():
            alarm = state.alarms[e.alarm_id]
            alarm.call_id, alarm.incident_id, alarm.escalated_at = e.call_id, e.incident_id, e.at
            alarm.escalation_reason = e.reason
            note(state.incidents[e.incident_id], seq, e, alarm_kind=alarm.kind)
        case ev.AlarmResolved():
            alarm = state.alarms[e.alarm_id]
            alarm.resolved_at, alarm.outcome, alarm.resolved_by = e.at, e.outcome, e.by
        case ev.ResponderTasked():
            state.responder_tasks[e.task_id] = ResponderTask(
                task_id=e.task_id,
                alarm_id=e.alarm_id,
                responder_id=e.responder_id,
                resident_id=e.resident_id,
                ask=e.ask,
                reason=e.reason,
                asked_at=e.at,
            )
            state.alarms[e.alarm_id].responder_task_ids.append(e.task_id)
        case ev.ResponderReported():
            task = state.responder_tasks[e.task_id]
            if e.report == "accepted":
                task.accepted_at = e.at
            elif e.report == "arrived":
                task.arrived_at = e.at
                task.accepted_at = task.accepted_at or e.at  # gone without saying so first
            else:
                task.outcome, task.outcome_at = e.outcome, e.at
            if e.note:
                task.notes.append(e.note)
            alarm = state.alarms[task.alarm_id]
            if alarm.incident_id is not None:  # what the responder reports reaches the incident
                responder = state.homes.responders.get(e.responder_id)
                note(state.incidents[alarm.incident_id], seq, e, responder_id=e.responder_id,
                     responder_name=responder.name if responder is not None else e.responder_id,
                     alarm_id=alarm.alarm_id)
