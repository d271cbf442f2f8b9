"""Units of all three agencies as one pool: what they are, and the legal moves of their status."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


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
