"""The state of joint dispatch as a fold of the event log: calls, incidents, tasks, timelines."""

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from dispatch import events as ev
from dispatch import mutual_aid, roads, routes
from dispatch.addresses import normalise_address
from dispatch.mutual_aid import MutualAidRequest
from dispatch.nearby import NearbyIndex
from dispatch.roads import RoadRestriction
from dispatch.roster import RosterDay
from dispatch.routes import UnitRoute
from dispatch.units import COMMITTED, Unit, UnitStatus
from dispatch.whistle import Summons, Whistle, roster_day_from_event


class IncidentStatus(StrEnum):
    OPEN = "open"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    CLOSED = "closed"
    MERGED = "merged"  # folded into another incident; kept so its id still resolves


class TaskStatus(StrEnum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    DONE = "done"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = frozenset({IncidentStatus.OPEN, IncidentStatus.DISPATCHED, IncidentStatus.ON_SCENE})

INCIDENT_TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.OPEN: frozenset({IncidentStatus.DISPATCHED, IncidentStatus.CLOSED}),
    IncidentStatus.DISPATCHED: frozenset({IncidentStatus.ON_SCENE, IncidentStatus.CLOSED}),
    IncidentStatus.ON_SCENE: frozenset({IncidentStatus.CLOSED}),
    IncidentStatus.CLOSED: frozenset(),
    IncidentStatus.MERGED: frozenset(),
}

TASK_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.DISPATCHED, TaskStatus.CANCELLED}),
    TaskStatus.DISPATCHED: frozenset({TaskStatus.EN_ROUTE, TaskStatus.ON_SCENE, TaskStatus.DONE,
                                      TaskStatus.CANCELLED}),
    TaskStatus.EN_ROUTE: frozenset({TaskStatus.ON_SCENE, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.ON_SCENE: frozenset({TaskStatus.DONE}),
    TaskStatus.DONE: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


@dataclass
class Call:
    call_id: str
    hotline: str
    received_at: datetime
    caller_number: str | None
    lon: float | None
    lat: float | None
    address: str | None
    kind: str
    text: str
    idempotency_key: str | None
    fingerprint: str | None
    details: dict[str, Any]
    incident_id: str | None = None
    merged: bool = False
    reason: str = ""
    repeat: bool = False


@dataclass
class AgencyTask:
    agency: str
    status: TaskStatus = TaskStatus.PENDING
    reason: str = ""
    changed_at: datetime | None = None


@dataclass
class TimelineEntry:
    seq: int
    at: datetime
    type: str
    summary: str


@dataclass
class Incident:
    incident_id: str
    kind: str
    severity: int
    lon: float | None
    lat: float | None
    address: str | None
    whistle_qualifies: bool
    opened_at: datetime
    reported_at: datetime  # when the first call was answered: what dispatchers filter on
    status: IncidentStatus = IncidentStatus.OPEN
    call_ids: list[str] = field(default_factory=list)
    tasks: dict[str, AgencyTask] = field(default_factory=dict)
    unit_ids: list[str] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    repeat_calls: int = 0
    merged_into: str | None = None
    last_call_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass
class CorridorState:
    """One unit's green wave as the log tells it: each signal's window and latest answer."""

    unit_id: str
    incident_id: str
    whistle_id: str | None
    eta_s: float
    eta_green_s: float
    signals: dict[str, dict[str, Any]]  # signal id -> request fields + status, reason

    @property
    def saved_s(self) -> float:
        return self.eta_s - self.eta_green_s


@dataclass
class DispatchState:
    """Everything the log says so far; `version` is the number of events folded in."""

    version: int = 0
    calls: dict[str, Call] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    idempotency: dict[str, str] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    whistles: dict[str, Whistle] = field(default_factory=dict)
    roster_plans: dict[date, RosterDay] = field(default_factory=dict)
    roster_history: list[ev.RosterDayPlanned] = field(default_factory=list)
    corridors: dict[str, CorridorState] = field(default_factory=dict)  # by unit id
    roads: dict[str, RoadRestriction] = field(default_factory=dict)  # closed or slowed, by id
    routes: dict[str, UnitRoute] = field(default_factory=dict)  # the route each moving unit drives
    mutual_aid: dict[str, MutualAidRequest] = field(default_factory=dict)  # by request id
    # derived, for merging: where open incidents' calls are, and their address texts
    nearby: NearbyIndex = field(default_factory=NearbyIndex)
    by_address: dict[str, set[str]] = field(default_factory=dict)

    def next_call_id(self) -> str:
        return f"C{len(self.calls) + 1:06d}"

    def next_incident_id(self) -> str:
        return f"I{len(self.incidents) + 1:06d}"

    def active_incidents(self) -> list[Incident]:
        return [i for i in self.incidents.values() if i.active]


def apply(state: DispatchState, e: ev.Event) -> DispatchState:
    """Fold one event into the state. It mutates in place for speed over long logs: replays
    fold hundreds of thousands of events; `decide` never mutates, so callers stay pure."""
    state.version += 1
    seq = state.version
    match e:
        case ev.CallReceived():
            state.calls[e.call_id] = Call(
                call_id=e.call_id, hotline=e.hotline, received_at=e.received_at,
                caller_number=e.caller_number, lon=e.lon, lat=e.lat, address=e.address,
                kind=e.kind, text=e.text, idempotency_key=e.idempotency_key,
                fingerprint=e.fingerprint, details=dict(e.details),
            )
            if e.idempotency_key:
                state.idempotency[e.idempotency_key] = e.call_id
        case ev.IncidentOpened():
            call = state.calls[e.call_id]
            inc = Incident(
                incident_id=e.incident_id, kind=e.kind, severity=e.severity, lon=e.lon,
                lat=e.lat, address=e.address, whistle_qualifies=e.whistle_qualifies,
                opened_at=e.at, reported_at=call.received_at, call_ids=[e.call_id],
                last_call_at=call.received_at,
            )
            state.incidents[e.incident_id] = inc
            call.incident_id, call.merged, call.reason = e.incident_id, False, e.reason
            _index_call(state, inc.incident_id, call)
            _note(inc, seq, e, f"opened from call {e.call_id} ({call.hotline} {e.kind})")
        case ev.CallMerged():
            call = state.calls[e.call_id]
            inc = state.incidents[e.incident_id]
            inc.call_ids.append(e.call_id)
            inc.last_call_at = max(inc.last_call_at or call.received_at, call.received_at)
            call.incident_id, call.merged, call.reason, call.repeat = (
                e.incident_id, True, e.reason, e.repeat
            )
            if e.repeat:
                inc.repeat_calls += 1
            _index_call(state, inc.incident_id, call)
            _note(inc, seq, e, f"call {e.call_id} ({call.hotline}) joined: {e.reason}")
        case ev.TaskCreated():
            inc = state.incidents[e.incident_id]
            inc.tasks[e.agency] = AgencyTask(agency=e.agency, reason=e.reason, changed_at=e.at)
            _note(inc, seq, e, f"task for {e.agency}: {e.reason}")
        case ev.IncidentReclassified():
            inc = state.incidents[e.incident_id]
            inc.kind, inc.severity, inc.whistle_qualifies = e.kind, e.severity, e.whistle_qualifies
            _note(inc, seq, e, f"now {e.kind}, severity {e.severity}: {e.reason}")
        case ev.CallSplit():
            inc = state.incidents[e.from_incident_id]
            inc.call_ids.remove(e.call_id)
            call = state.calls[e.call_id]
            _unindex_call(state, inc.incident_id, call)
            if call.repeat:
                inc.repeat_calls -= 1
                call.repeat = False
            _note(inc, seq, e, f"call {e.call_id} split out by {e.by}: {e.reason}")
        case ev.IncidentsMerged():
            target, source = state.incidents[e.target_id], state.incidents[e.source_id]
            for call_id in source.call_ids:
                state.calls[call_id].incident_id = target.incident_id
                _unindex_call(state, source.incident_id, state.calls[call_id])
                _index_call(state, target.incident_id, state.calls[call_id])
            target.call_ids.extend(source.call_ids)
            target.repeat_calls += source.repeat_calls
            for agency, task in source.tasks.items():
                target.tasks.setdefault(agency, task)
            if source.last_call_at and (
                target.last_call_at is None or source.last_call_at > target.last_call_at
            ):
                target.last_call_at = source.last_call_at
            source.status, source.merged_into = IncidentStatus.MERGED, target.incident_id
            source.call_ids = []
            _note(target, seq, e, f"{e.source_id} merged in by {e.by}: {e.reason}")
            _note(source, seq, e, f"merged into {e.target_id} by {e.by}: {e.reason}")
        case ev.IncidentStatusChanged():
            inc = state.incidents[e.incident_id]
            inc.status = IncidentStatus(e.status)
            if not inc.active:  # closed incidents take no more calls: out of the merge index
                for call_id in inc.call_ids:
                    _unindex_call(state, inc.incident_id, state.calls[call_id])
            _note(inc, seq, e, f"status {e.status} by {e.by}" + (f": {e.reason}" if e.reason else ""))
        case ev.TaskStatusChanged():
            inc = state.incidents[e.incident_id]
            task = inc.tasks[e.agency]
            task.status, task.changed_at = TaskStatus(e.status), e.at
            _note(inc, seq, e, f"{e.agency} task {e.status} by {e.by}")
        case ev.UnitRegistered():
            state.units[e.unit_id] = Unit(
                unit_id=e.unit_id, agency=e.agency, kind=e.kind, call_sign=e.call_sign,
                station_id=e.station_id, crew=e.crew, capabilities=tuple(e.capabilities),
                status_at=e.at,
            )
        case ev.UnitAssigned():
            unit = state.units[e.unit_id]
            unit.status, unit.incident_id, unit.status_at = UnitStatus.DISPATCHED, e.incident_id, e.at
            unit.history.append((e.at, UnitStatus.DISPATCHED.value))
            inc = state.incidents[e.incident_id]
            inc.unit_ids.append(e.unit_id)
            pending = inc.tasks.get(e.agency)
            if pending is not None and pending.status == TaskStatus.PENDING:
                pending.status, pending.changed_at = TaskStatus.DISPATCHED, e.at
            if inc.status == IncidentStatus.OPEN:
                inc.status = IncidentStatus.DISPATCHED
            eta = f", ETA {e.eta_s / 60:.1f} min" if e.eta_s is not None else ""
            advice = "as recommended" if e.recommended else f"dispatcher's choice: {e.reason}"
            _note(inc, seq, e, f"{unit.call_sign} ({e.agency} {unit.kind}) assigned{eta}, {advice}")
        case ev.UnitStatusChanged():
            unit = state.units[e.unit_id]
            unit.status, unit.status_at = UnitStatus(e.status), e.at
            unit.history.append((e.at, e.status))
            on = state.incidents.get(unit.incident_id or "")
            if on is not None:
                _note(on, seq, e, f"{unit.call_sign} {e.status}")
                if unit.status == UnitStatus.ON_SCENE and on.status == IncidentStatus.DISPATCHED:
                    on.status = IncidentStatus.ON_SCENE
            if unit.status not in COMMITTED:
                unit.incident_id = None
        case ev.UnitRerouted():
            unit = state.units[e.unit_id]
            if e.incident_id in state.incidents:
                _note(state.incidents[e.incident_id], seq, e,
                      f"{unit.call_sign} re-routed, ETA {e.eta_s / 60:.1f} min: {e.reason}")
        case ev.GreenWaveRequested():
            state.corridors[e.unit_id] = CorridorState(
                unit_id=e.unit_id, incident_id=e.incident_id, whistle_id=e.whistle_id, eta_s=e.eta_s,
                eta_green_s=e.eta_green_s,
                signals={s["signal_id"]: {**s, "status": "requested", "reason": ""} for s in e.signals})
            if e.whistle_id in state.whistles:
                state.whistles[e.whistle_id].corridor_units.append(e.unit_id)
            _note(state.incidents[e.incident_id], seq, e,
                  f"green wave requested for {state.units[e.unit_id].call_sign}: {len(e.signals)} signals, "
                  f"ETA {e.eta_green_s / 60:.1f} min instead of {e.eta_s / 60:.1f}")
        case ev.GreenWaveAnswered():
            corridor = state.corridors[e.unit_id]
            changed: dict[str, int] = {}
            for a in e.answers:
                sg = corridor.signals.get(a["signal_id"])
                if sg is None:
                    continue
                if (sg["status"], sg.get("degraded", False)) != (a["status"], a.get("degraded", False)):
                    changed[a["status"]] = changed.get(a["status"], 0) + 1
                # The window the controller will serve, kept apart from the one asked for: when
                # another unit wins the junction the two differ, and both dispatchers see how.
                sg.update({k: a[k] for k in ("status", "reason", "degraded") if k in a})
                sg["served_start"], sg["served_end"] = a.get("window_start"), a.get("window_end")
            if changed:  # a re-sent window answered as before is not news for the timeline
                _note(state.incidents[e.incident_id], seq, e, "122 signals: " + ", ".join(
                    f"{n} {status}" for status, n in sorted(changed.items())))
        case ev.GreenWaveRetimed():
            corridor = state.corridors[e.unit_id]
            for sg in e.signals:
                if sg["signal_id"] in corridor.signals:
                    corridor.signals[sg["signal_id"]].update(
                        {k: sg[k] for k in ("eta", "window_start", "window_end") if k in sg})
            _note(state.incidents[e.incident_id], seq, e,
                  f"green wave of {state.units[e.unit_id].call_sign} retimed: {len(e.signals)} windows moved "
                  "with its ETA")
        case ev.GreenWaveReleased():
            corridor = state.corridors[e.unit_id]
            for sid in e.signal_ids:
                if sid in corridor.signals:
                    corridor.signals[sid]["status"] = "released"
            if all(s["status"] in ("released", "refused") for s in corridor.signals.values()):
                _note(state.incidents[e.incident_id], seq, e,
                      f"green wave of {state.units[e.unit_id].call_sign} released: {e.reason}")
        case ev.RosterDayPlanned():
            day = roster_day_from_event(e)
            state.roster_plans[day.day] = day
            state.roster_history.append(e)
        case ev.WhistleBlown():
            state.whistles[e.whistle_id] = Whistle(
                whistle_id=e.whistle_id, incident_id=e.incident_id, by=e.by, by_agency=e.by_agency,
                blown_at=e.at, roster_day=e.roster_day, lead=e.lead, override_reason=e.override_reason)
            why = f" (override: {e.override_reason})" if e.override_reason else ""
            _note(state.incidents[e.incident_id], seq, e,
                  f"whistle {e.whistle_id} blown by {e.by} ({e.by_agency}){why}")
        case ev.ConvenerSummoned():
            w = state.whistles[e.whistle_id]
            old = w.summons.get(e.agency)
            s = Summons(agency=e.agency, level=e.level, name=e.name, channel=e.channel,
                        summoned_at=old.summoned_at if old else e.at, deadline=e.deadline,
                        steps=[*(old.steps if old else []), (e.at, e.level, e.name)])
            w.summons[e.agency] = s
            verb = "summoned" if old is None else "escalated to"
            _note(state.incidents[w.incident_id], seq, e, f"{e.agency} {verb} {e.level} {e.name}")
        case ev.SummonsAcknowledged():
            w = state.whistles[e.whistle_id]
            s = w.summons[e.agency]
            s.acknowledged_at, s.acknowledged_by = e.at, e.name
            late = " (late)" if e.late else ""
            _note(state.incidents[w.incident_id], seq, e, f"{e.agency} acknowledged by {e.name}{late}")
        case ev.SummonsUnanswered():
            w = state.whistles[e.whistle_id]
            w.summons[e.agency].unanswered = True
            _note(state.incidents[w.incident_id], seq, e, f"{e.agency}: nobody answered the whistle")
        case ev.WhistleEnded():
            w = state.whistles[e.whistle_id]
            w.ended_at, w.end_reason = e.at, e.reason
            _note(state.incidents[w.incident_id], seq, e, f"whistle {e.whistle_id} ended: {e.reason}")
        case ev.RoadClosed() | ev.RoadSlowed() | ev.RoadReopened():
            roads.fold(state, e)
        case ev.UnitRouted():
            unit = state.units[e.unit_id]
            before = state.routes.get(e.unit_id)
            again = before is not None and before.incident_id == e.incident_id and before.purpose == e.purpose
            where = f"to {e.hospital_id}" if e.hospital_id else "to the scene"
            _note(state.incidents[e.incident_id], seq, e,
                  f"{unit.call_sign} {'re-routed' if again else 'routed'} {where}, "
                  f"{e.length_m / 1000:.1f} km, ETA {e.eta_s / 60:.1f} min: {e.reason}")
        case ev.MutualAidRequested():
            _note(state.incidents[e.incident_id], seq, e,
                  f"{e.from_agency} asks {e.to_agency} for mutual aid ({e.by}): {e.reason}")
        case ev.MutualAidAnswered():
            _note(state.incidents[e.incident_id], seq, e,
                  f"mutual aid {e.request_id} {'accepted' if e.accepted else 'declined'} by {e.by}")
    routes.fold(state, e)
    mutual_aid.fold(state, e)
    return state


def _index_call(state: DispatchState, incident_id: str, call: Call) -> None:
    state.nearby.add(incident_id, call.lon, call.lat)
    if call.address:
        state.by_address.setdefault(normalise_address(call.address), set()).add(incident_id)


def _unindex_call(state: DispatchState, incident_id: str, call: Call) -> None:
    state.nearby.remove(incident_id, call.lon, call.lat)
    if call.address:
        key = normalise_address(call.address)
        others = [c for c in state.incidents[incident_id].call_ids if c != call.call_id
                  and state.calls[c].address and normalise_address(state.calls[c].address) == key]
        if not others:
            state.by_address.get(key, set()).discard(incident_id)


def _note(inc: Incident, seq: int, e: ev.Event, summary: str) -> None:
    inc.timeline.append(TimelineEntry(seq=seq, at=e.at, type=e.type, summary=summary))
