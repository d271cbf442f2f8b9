"""Units' routes as facts in the log: the route each unit was given, decided and folded here.

A route is given by the application layer (it asks the road router) and recorded with
`GiveRoute`; the fold keeps each moving unit's current route, so off-route checks, re-routes on a
closure and the map read the same route in every process and after a restart. A route ends when
its unit arrives (on scene, at hospital) or is freed."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import polyline

from dispatch import events as ev
from dispatch.incidents import note
from dispatch.rejection import Rejected
from dispatch.router import LonLat, RoutePlan, SignalPassage
from dispatch.units import UnitStatus

if TYPE_CHECKING:
    from dispatch.state import DispatchState

PRECISION = 6  # polyline6: about 0.1 m, the precision OSRM and Valhalla use


class RoutePurpose(StrEnum):
    TO_SCENE = "to_scene"
    TO_HOSPITAL = "to_hospital"


# The statuses in which a unit drives a route of each purpose.
DRIVING: dict[RoutePurpose, frozenset[UnitStatus]] = {
    RoutePurpose.TO_SCENE: frozenset({UnitStatus.DISPATCHED, UnitStatus.EN_ROUTE}),
    RoutePurpose.TO_HOSPITAL: frozenset({UnitStatus.TRANSPORTING}),
}


@dataclass(frozen=True)
class GiveRoute:
    unit_id: str
    purpose: RoutePurpose
    destination: LonLat
    plan: RoutePlan
    reason: str
    hospital_id: str | None = None


@dataclass
class UnitRoute:
    """The route a unit is driving, as the log tells it."""

    unit_id: str
    incident_id: str
    purpose: RoutePurpose
    destination: LonLat
    plan: RoutePlan
    given_at: datetime
    reason: str
    hospital_id: str | None = None
    reroutes: int = 0
    history: list[str] = field(default_factory=list)  # why each route was given, oldest first


def give(state: "DispatchState", cmd: GiveRoute, now: datetime) -> list[ev.Event]:
    unit = state.units.get(cmd.unit_id)
    if unit is None:
        raise Rejected(404, "unit_id", f"no unit {cmd.unit_id}")
    if unit.incident_id is None or unit.status not in DRIVING[cmd.purpose]:
        raise Rejected(409, "unit_id", f"{unit.call_sign} is {unit.status}; it drives no route "
                       f"{cmd.purpose.value.replace('_', ' ')}")
    p = cmd.plan
    return [ev.UnitRouted(
        at=now, unit_id=unit.unit_id, incident_id=unit.incident_id, purpose=cmd.purpose.value,
        destination=[round(cmd.destination[0], 7), round(cmd.destination[1], 7)],
        eta_s=round(p.eta_s, 1), eta_green_s=round(p.eta_green_s, 1), length_m=round(p.length_m, 1),
        polyline=encode(p.coords),
        signals=tuple(SignalPassage(s.signal_id, s.approach, round(s.eta_s, 2), round(s.expected_delay_s, 2))
                      for s in p.signals),
        reason=cmd.reason, hospital_id=cmd.hospital_id)]


def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    match e:
        case ev.UnitRouted():
            before = state.routes.get(e.unit_id)
            plan = RoutePlan(eta_s=e.eta_s, eta_green_s=e.eta_green_s, length_m=e.length_m,
                             coords=decode(e.polyline), signals=list(e.signals))
            same_trip = before is not None and before.incident_id == e.incident_id \
                and before.purpose == e.purpose
            note(state.incidents[e.incident_id], seq, e, call_sign=state.units[e.unit_id].call_sign,
                 again=same_trip)
            state.routes[e.unit_id] = UnitRoute(
                unit_id=e.unit_id, incident_id=e.incident_id, purpose=RoutePurpose(e.purpose),
                destination=(e.destination[0], e.destination[1]), plan=plan, given_at=e.at,
                reason=e.reason, hospital_id=e.hospital_id,
                reroutes=before.reroutes + 1 if same_trip and before else 0,
                history=[*(before.history if same_trip and before else []), e.reason])
        case ev.UnitStatusChanged():
            route = state.routes.get(e.unit_id)
            if route is not None and UnitStatus(e.status) not in DRIVING[route.purpose]:
                del state.routes[e.unit_id]  # arrived, or freed: nothing left to follow
        case ev.UnitAssigned():
            route = state.routes.get(e.unit_id)
            if route is not None and route.incident_id != e.incident_id:
                del state.routes[e.unit_id]  # diverted: the old route no longer leads anywhere


def encode(coords: list[LonLat]) -> str:
    return str(polyline.encode([(lat, lon) for lon, lat in coords], PRECISION))


def decode(text: str) -> list[LonLat]:
    return [(lon, lat) for lat, lon in polyline.decode(text, PRECISION)]
