"""Closed and slowed roads over HTTP.

A dispatcher (or the 122 traffic centre's desk) points at a road: the place is snapped to the
nearest stretch, and the restriction goes in the log; coordination.road_restrictions patches
every process's router from the log, and the workflows re-route the units it affects."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from coordination.road_restrictions import RoadRestrictions
from dispatch.rejection import Rejected
from dispatch.roads import CloseRoad, ReopenRoad
from dispatch.router import RoutePlan
from routing.snap import OffRoad
from web.deps import CoordinatorDep, IdentityDep
from web.schemas import ViewRoute, refusals
from web.schemas_map import RestrictionList, RestrictionView
from web.views import restriction_view

router = APIRouter(route_class=ViewRoute)

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


def road_restrictions(coordinator: CoordinatorDep) -> RoadRestrictions:
    return coordinator.restrictions


RestrictionsDep = Annotated[RoadRestrictions, Depends(road_restrictions)]


@router.post("/v1/roads/restrictions", status_code=201, response_model=RestrictionView)
async def restrict_road(body: RestrictionIn, roads: RestrictionsDep, key: IdentityDep) -> dict[str, Any]:
    """Close (or slow) the road at a place; routing avoids it from the next question on."""
    try:
        stretch = roads.stretch_at((body.location.lon, body.location.lat))
    except OffRoad as off:
        raise Rejected(422, "location", str(off)) from None
    events = await roads.service.execute(CloseRoad(stretch, body.both_ways, body.reason, body.by, key.agency,
                                                   body.speed_kmh))
    held = roads.service.state.roads[events[0].restriction_id]  # type: ignore[attr-defined]
    return restriction_view(held)


@router.post("/v1/roads/restrictions/{restriction_id}/reopen", response_model=RestrictionView,
             responses=refusals(404, 409))
async def reopen_road(restriction_id: str, body: ReopenIn, roads: RestrictionsDep) -> dict[str, Any]:
    await roads.service.execute(ReopenRoad(restriction_id, body.by))
    return restriction_view(roads.service.state.roads[restriction_id])


@router.get("/v1/roads/restrictions", response_model=RestrictionList)
async def list_restrictions(
    roads: RestrictionsDep,
    include_reopened: Annotated[bool, Query(description="Also those lifted since.")] = False,
) -> dict[str, Any]:
    service = roads.service
    await service.catch_up()
    shown = [r for r in service.state.roads.values() if include_reopened or r.active]
    return {"restrictions": [restriction_view(r) for r in shown]}

