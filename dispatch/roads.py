"""Road restrictions: a stretch of road closed or slowed, and reopened, as facts in the log.

Pure decisions over the folded state. A restriction names its stretch by the coordinates of its
two ends, not by graph node ids, so it means the same road after a restart or a re-import of the
same extract; the edge that routes with it (web.road_restrictions) finds the road from them."""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dispatch import events as ev
from dispatch.rejection import Rejected
from dispatch.router import LonLat, RoutePlan

if TYPE_CHECKING:
    from dispatch.state import DispatchState

MAX_SLOW_KMH = 130.0  # a "slowed" road faster than a motorway is a typing error


@dataclass(frozen=True)
class CloseRoad:
    """Close (speed_kmh None) or slow a stretch; `road` runs from its first point to its last."""

    road: tuple[LonLat, LonLat]
    both_ways: bool
    reason: str
    by: str
    by_agency: str
    speed_kmh: float | None = None


@dataclass(frozen=True)
class ReopenRoad:
    restriction_id: str
    by: str


@dataclass
class RoadRestriction:
    restriction_id: str
    road: tuple[LonLat, LonLat]
    both_ways: bool
    speed_kmh: float | None  # None: closed
    reason: str
    by: str
    by_agency: str
    since: datetime
    reopened_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.reopened_at is None


def close(state: "DispatchState", cmd: CloseRoad, now: datetime) -> list[ev.Event]:
    (alon, alat), (blon, blat) = cmd.road
    if (alon, alat) == (blon, blat):
        raise Rejected(422, "road", "a road stretch needs two different ends")
    if cmd.speed_kmh is not None and not 0 < cmd.speed_kmh <= MAX_SLOW_KMH:
        raise Rejected(422, "speed_kmh", f"a slowed road's speed is above 0 and at most "
                       f"{MAX_SLOW_KMH:g} km/h (close the road instead of slowing it to 0)")
    restriction_id = f"R{len(state.roads) + 1:05d}"
    road = [[alon, alat], [blon, blat]]
    if cmd.speed_kmh is None:
        return [ev.RoadClosed(at=now, restriction_id=restriction_id, road=road, both_ways=cmd.both_ways,
                              reason=cmd.reason, by=cmd.by, by_agency=cmd.by_agency)]
    return [ev.RoadSlowed(at=now, restriction_id=restriction_id, road=road, both_ways=cmd.both_ways,
                          speed_kmh=cmd.speed_kmh, reason=cmd.reason, by=cmd.by, by_agency=cmd.by_agency)]


def reopen(state: "DispatchState", cmd: ReopenRoad, now: datetime) -> list[ev.Event]:
    held = state.roads.get(cmd.restriction_id)
    if held is None:
        raise Rejected(404, "restriction_id", f"no road restriction {cmd.restriction_id}")
    if not held.active:
        raise Rejected(409, "restriction_id", f"{cmd.restriction_id} was reopened already")
    return [ev.RoadReopened(at=now, restriction_id=cmd.restriction_id, by=cmd.by)]


def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    match e:
        case ev.RoadClosed() | ev.RoadSlowed():
            (alon, alat), (blon, blat) = e.road
            state.roads[e.restriction_id] = RoadRestriction(
                restriction_id=e.restriction_id, road=((alon, alat), (blon, blat)), both_ways=e.both_ways,
                speed_kmh=e.speed_kmh if isinstance(e, ev.RoadSlowed) else None, reason=e.reason,
                by=e.by, by_agency=e.by_agency, since=e.at)
        case ev.RoadReopened():
            state.roads[e.restriction_id].reopened_at = e.at


def runs_over(plan: RoutePlan, road: tuple[LonLat, LonLat], both_ways: bool) -> bool:
    """Whether a route drives the stretch (its line passes both ends in a row). Compared at the
    log's precision: a route in the log is kept to 6 decimal places (about 0.1 m)."""
    a, b = _at_6(road[0]), _at_6(road[1])
    coords = [_at_6(p) for p in plan.coords]
    for p, q in zip(coords, coords[1:], strict=False):
        if (p, q) == (a, b) or (both_ways and (p, q) == (b, a)):
            return True
    return False


def _at_6(p: LonLat) -> LonLat:
    return (round(p[0], 6), round(p[1], 6))
