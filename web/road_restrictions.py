"""Closed and slowed roads over HTTP, and their effect on this process's router.

A dispatcher (or the 122 traffic centre's desk) points at a road: the place is snapped to the
nearest stretch, and the restriction goes in the log. Every process hears it from the log and
patches its own routing index at once (no rebuild, no restart), so the next ranking and route
already avoid the road; units whose route runs over it are given a new route from where they are.
Replaying the log at start-up puts every standing restriction back."""

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from dispatch import events as ev
from dispatch.rejection import Rejected
from dispatch.roads import CloseRoad, ReopenRoad, RoadRestriction
from dispatch.router import LonLat, RoutePlan
from dispatch.service import DispatchService
from dispatch.state import DispatchState
from routing.snap import OffRoad
from web.api_keys import ApiKey
from web.road_router import RoadRouter
from web.views import restriction_view

router = APIRouter()

Edge = tuple[int, int]
Reroute = Callable[[str, Callable[[RoutePlan], bool]], Awaitable[None]]


class PlaceIn(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class RestrictionIn(BaseModel):
    location: PlaceIn = Field(description="A point on the road; the nearest stretch is restricted.")
    both_ways: bool = Field(True, description="False: only the direction the stretch is drawn in.")
    speed_kmh: float | None = Field(None, gt=0, le=130,
                                    description="Slowed to this speed; omit to close the road.")
    reason: str = Field("", max_length=500)
    by: str = Field("dispatcher", min_length=1, max_length=64)


class ReopenIn(BaseModel):
    by: str = Field("dispatcher", min_length=1, max_length=64)


def runs_over(plan: RoutePlan, road: tuple[LonLat, LonLat], both_ways: bool) -> bool:
    """Whether a route drives the stretch (its line passes both ends in a row)."""
    a, b = road
    for p, q in zip(plan.coords, plan.coords[1:], strict=False):
        if (p, q) == (a, b) or (both_ways and (p, q) == (b, a)):
            return True
    return False


class RoadRestrictions:
    """Mirrors the log's road restrictions into one process's routing index."""

    def __init__(self, service: DispatchService, road: RoadRouter) -> None:
        self.service, self.road = service, road
        self.reroute: Reroute | None = None  # set once the fleet is up; not during the replay
        self._node_at: dict[LonLat, int] | None = None
        self._background: set[asyncio.Task[None]] = set()
        service.subscribe(self._on_event)

    def stretch_at(self, place: LonLat) -> tuple[LonLat, LonLat]:
        """The stretch of road nearest to a place, as its two ends (OffRoad when too far)."""
        snap = self.road.snapper.snap(*place, max_distance_m=self.road.snap_max_m)
        u, v = snap.edge
        lonlat = self.road.index.lonlat
        return (float(lonlat[u, 0]), float(lonlat[u, 1])), (float(lonlat[v, 0]), float(lonlat[v, 1]))

    def edges_of(self, r: RoadRestriction) -> list[Edge]:
        """The index's edges a restriction covers; none when its road is not on this network
        (the log outlived a re-import that dropped it)."""
        if self._node_at is None:
            self._node_at = {(float(x), float(y)): i for i, (x, y) in enumerate(self.road.index.lonlat)}
        u, v = (self._node_at.get(p) for p in r.road)
        if u is None or v is None:
            return []
        ids = self.road.index.edge_id
        pairs = [(u, v), (v, u)] if r.both_ways else [(u, v)]
        return [e for e in pairs if e in ids]

    def _on_event(self, seq: int, e: ev.Event, state: DispatchState) -> None:
        if not isinstance(e, ev.RoadClosed | ev.RoadSlowed | ev.RoadReopened):
            return
        r = state.roads[e.restriction_id]
        edges = self.edges_of(r)
        self._patch(edges, state.roads.values())
        if self.reroute is not None and r.active and edges:
            why = f"road {'closed' if r.speed_kmh is None else 'slowed'} ({r.restriction_id})"
            task = asyncio.get_running_loop().create_task(
                self.reroute(why, lambda plan: runs_over(plan, r.road, r.both_ways)))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _patch(self, edges: list[Edge], standing: Iterable[RoadRestriction]) -> None:
        """Each edge as every standing restriction on it says: closed if one closes it, else the
        slowest speed asked, else its own speed again. Slowing never speeds a road up."""
        active = [r for r in standing if r.active]
        index, own_speed = self.road.index, self.road.network.arrays.speed_kmh
        for u, v in edges:
            on_it = [r for r in active if (u, v) in self.edges_of(r)]
            closed = any(r.speed_kmh is None for r in on_it)
            own = float(own_speed[index.edge_id[(u, v)]])  # the network's, not the index's patched one
            slowest = min((r.speed_kmh for r in on_it if r.speed_kmh is not None), default=math.inf)
            index.set_edge_speed(u, v, min(own, slowest))
            if closed:
                index.close_edge(u, v)
            else:
                index.reopen_edge(u, v)

    async def settle(self) -> None:
        """Wait for the re-routing the last restrictions started (tests, orderly shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)


def _restrictions(request: Request) -> RoadRestrictions:
    return request.app.state.road_restrictions  # type: ignore[no-any-return]


@router.post("/v1/roads/restrictions", status_code=201)
async def restrict_road(body: RestrictionIn, request: Request) -> dict[str, Any]:
    """Close (or slow) the road at a place; routing avoids it from the next question on."""
    roads = _restrictions(request)
    try:
        stretch = roads.stretch_at((body.location.lon, body.location.lat))
    except OffRoad as off:
        raise Rejected(422, "location", str(off)) from None
    key: ApiKey = request.state.identity
    events = await roads.service.execute(CloseRoad(stretch, body.both_ways, body.reason, body.by, key.agency,
                                                   body.speed_kmh))
    held = roads.service.state.roads[events[0].restriction_id]  # type: ignore[attr-defined]
    return restriction_view(held)


@router.post("/v1/roads/restrictions/{restriction_id}/reopen")
async def reopen_road(restriction_id: str, body: ReopenIn, request: Request) -> dict[str, Any]:
    roads = _restrictions(request)
    await roads.service.execute(ReopenRoad(restriction_id, body.by))
    return restriction_view(roads.service.state.roads[restriction_id])


@router.get("/v1/roads/restrictions")
async def list_restrictions(
    request: Request, include_reopened: bool = Query(False, description="Also those lifted since.")
) -> dict[str, Any]:
    service = _restrictions(request).service
    await service.catch_up()
    shown = [r for r in service.state.roads.values() if include_reopened or r.active]
    return {"restrictions": [restriction_view(r) for r in shown]}

