"""Units of all three agencies as one pool: what they are, and the legal moves of their status."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from dispatch import events as ev
from dispatch.incidents import IncidentStatus, TaskStatus, note

if TYPE_CHECKING:
    from dispatch.state import DispatchState


class UnitStatus(StrEnum):
    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    TRANSPORTING = "transporting"
    AT_HOSPITAL = "at_hospital"
    RETURNING = "returning"
    OUT_OF_SERVICE = "out_of_service"


S = UnitStatus
UNIT_TRANSITIONS: dict[UnitStatus, frozenset[UnitStatus]] = {
    S.AVAILABLE: frozenset({S.DISPATCHED, S.OUT_OF_SERVICE}),
    S.DISPATCHED: frozenset({S.EN_ROUTE, S.AVAILABLE, S.RETURNING}),
    S.EN_ROUTE: frozenset({S.ON_SCENE, S.RETURNING, S.AVAILABLE}),
    S.ON_SCENE: frozenset({S.TRANSPORTING, S.RETURNING, S.AVAILABLE}),
    S.TRANSPORTING: frozenset({S.AT_HOSPITAL}),
    S.AT_HOSPITAL: frozenset({S.RETURNING, S.AVAILABLE}),
    S.RETURNING: frozenset({S.AVAILABLE, S.DISPATCHED, S.OUT_OF_SERVICE}),
    S.OUT_OF_SERVICE: frozenset({S.AVAILABLE}),
}

# A unit in one of these is tied to an incident; the others can be sent.
COMMITTED = frozenset({S.DISPATCHED, S.EN_ROUTE, S.ON_SCENE, S.TRANSPORTING, S.AT_HOSPITAL})
ASSIGNABLE = frozenset({S.AVAILABLE, S.RETURNING})


@dataclass
class Unit:
    unit_id: str
    agency: str
    kind: str
    call_sign: str
    station_id: str
    crew: int
    capabilities: tuple[str, ...] = ()
    status: UnitStatus = UnitStatus.AVAILABLE
    incident_id: str | None = None
    status_at: datetime | None = None
    history: list[tuple[datetime, str]] = field(default_factory=list)


def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    """A unit's own record, and what its moves mean for the incident it serves."""
    match e:
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
            note(inc, seq, e, call_sign=unit.call_sign, unit_kind=unit.kind)
        case ev.UnitStatusChanged():
            unit = state.units[e.unit_id]
            unit.status, unit.status_at = UnitStatus(e.status), e.at
            unit.history.append((e.at, e.status))
            on = state.incidents.get(unit.incident_id or "")
            if on is not None:
                note(on, seq, e, call_sign=unit.call_sign)
                if unit.status == UnitStatus.ON_SCENE and on.status == IncidentStatus.DISPATCHED:
                    on.status = IncidentStatus.ON_SCENE
            if unit.status not in COMMITTED:
                unit.incident_id = None
        case ev.UnitRerouted():
            unit = state.units[e.unit_id]
            if e.incident_id in state.incidents:
                note(state.incidents[e.incident_id], seq, e, call_sign=unit.call_sign)
