"""Calls and incidents as the log folds them: who called, which incident they joined, each
agency's task, and the incident's timeline."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from dispatch import events as ev
from dispatch.addresses import normalise_address

if TYPE_CHECKING:
    from dispatch.state import DispatchState


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
    checked_in_at: datetime | None = None  # the crew on scene last answered its check-in
    checked_in_by: str | None = None

    @property
    def check_in_since(self) -> datetime | None:
        """Where the agency's scene timer counts from: its arrival or its last check-in, while on
        scene; None when it is not on scene (no timer runs)."""
        if self.status != TaskStatus.ON_SCENE or self.changed_at is None:
            return None
        return max(self.changed_at, self.checked_in_at or self.changed_at)


@dataclass
class TimelineEntry:
    """One line of an incident's story: the event and the facts of the moment it needs to be told
    (a call sign, whether a route is a re-route). The words are the screen's, in its language."""

    seq: int
    at: datetime
    type: str
    event: ev.Event
    facts: dict[str, Any] = field(default_factory=dict)


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



def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    # One case per event this module folds, read as a table; split, the cases would only scatter.
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
            note(inc, seq, e, hotline=call.hotline)
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
            note(inc, seq, e, hotline=call.hotline)
        case ev.TaskCreated():
            inc = state.incidents[e.incident_id]
            inc.tasks[e.agency] = AgencyTask(agency=e.agency, reason=e.reason, changed_at=e.at)
            note(inc, seq, e)
        case ev.IncidentReclassified():
            inc = state.incidents[e.incident_id]
            inc.kind, inc.severity, inc.whistle_qualifies = e.kind, e.severity, e.whistle_qualifies
            note(inc, seq, e)
        case ev.CallSplit():
            inc = state.incidents[e.from_incident_id]
            inc.call_ids.remove(e.call_id)
            call = state.calls[e.call_id]
            _unindex_call(state, inc.incident_id, call)
            if call.repeat:
                inc.repeat_calls -= 1
                call.repeat = False
            note(inc, seq, e)
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
            note(target, seq, e, side="target")
            note(source, seq, e, side="source")
        case ev.IncidentStatusChanged():
            inc = state.incidents[e.incident_id]
            inc.status = IncidentStatus(e.status)
            if not inc.active:  # closed incidents take no more calls: out of the merge index
                for call_id in inc.call_ids:
                    _unindex_call(state, inc.incident_id, state.calls[call_id])
            note(inc, seq, e)
        case ev.IncidentNoteAdded():
            note(state.incidents[e.incident_id], seq, e)  # the narrative is the timeline's notes
        case ev.CheckInRecorded():
            inc = state.incidents[e.incident_id]
            task = inc.tasks[e.agency]
            task.checked_in_at, task.checked_in_by = e.at, e.by
            note(inc, seq, e)
        case ev.TaskStatusChanged():
            inc = state.incidents[e.incident_id]
            task = inc.tasks[e.agency]
            task.status, task.changed_at = TaskStatus(e.status), e.at
            note(inc, seq, e)


def _index_call(state: "DispatchState", incident_id: str, call: Call) -> None:
    state.nearby.add(incident_id, call.lon, call.lat)
    if call.address:
        state.by_address.setdefault(normalise_address(call.address), set()).add(incident_id)


def _unindex_call(state: "DispatchState", incident_id: str, call: Call) -> None:
    state.nearby.remove(incident_id, call.lon, call.lat)
    if call.address:
        key = normalise_address(call.address)
        others = [c for c in state.incidents[incident_id].call_ids if c != call.call_id
                  and state.calls[c].address and normalise_address(state.calls[c].address) == key]
        if not others:
            state.by_address.get(key, set()).discard(incident_id)


def note(inc: Incident, seq: int, e: ev.Event, **facts: Any) -> None:
    inc.timeline.append(TimelineEntry(seq=seq, at=e.at, type=e.type, event=e, facts=facts))
