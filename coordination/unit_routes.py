"""Giving units their routes: to the scene, to a hospital, and again when they stray or the roads
under them change. Every route goes in the log (dispatch.routes), so any process finds it."""

import asyncio
import math
from collections.abc import Callable

from shapely import LineString, Point

from coordination.whereabouts import Whereabouts
from dispatch.rejection import Rejected
from dispatch.router import LonLat, RoutePlan, Router, profile_for
from dispatch.routes import GiveRoute, RoutePurpose, UnitRoute
from dispatch.service import DispatchService
from dispatch.telemetry import Position

OFF_ROUTE_M = 80.0  # beyond GPS noise on a city street; closer than the next parallel street


def off_route_m(plan: RoutePlan, at: LonLat) -> float:
    """Distance from a fix to the route's line, in metres (local flat-earth scale: a fix is
    within a street or two of its route, where the scale's error is millimetres)."""
    mx = 111_320.0 * math.cos(math.radians(at[1]))
    scaled = LineString([((x - at[0]) * mx, (y - at[1]) * 110_574.0) for x, y in plan.coords])
    return float(scaled.distance(Point(0.0, 0.0)))


class UnitRoutes:
    def __init__(self, service: DispatchService, router: Router, whereabouts: Whereabouts) -> None:
        self.service, self.router, self.whereabouts = service, router, whereabouts

    def current(self, unit_id: str) -> UnitRoute | None:
        return self.service.state.routes.get(unit_id)

    async def give(self, unit_id: str, purpose: RoutePurpose, destination: LonLat, reason: str,
                   start: LonLat | None = None, hospital_id: str | None = None) -> UnitRoute | None:
        """Route the unit from where it is (or `start`) and record the route; None when it cannot
        be routed now (off the network or cut off: the next fix or closure tries again)."""
        unit = self.service.state.units[unit_id]
        if start is None:
            start = (await self.whereabouts.places([unit_id])).get(unit_id)
            if start is None:
                return None
        try:
            plan = await asyncio.to_thread(self.router.route, start, destination, profile_for(unit.kind))
        except ValueError:
            return None
        try:
            await self.service.execute(GiveRoute(unit_id, purpose, destination, plan, reason, hospital_id))
        except Rejected:
            return None  # it arrived or was freed while the route was worked out
        return self.current(unit_id)

    async def to_scene(self, unit_id: str, reason: str) -> UnitRoute | None:
        state = self.service.state
        inc = state.incidents.get(state.units[unit_id].incident_id or "")
        if inc is None or inc.lon is None or inc.lat is None:
            return None
        return await self.give(unit_id, RoutePurpose.TO_SCENE, (inc.lon, inc.lat), reason)

    async def again(self, unit_id: str, at: LonLat, reason: str) -> UnitRoute | None:
        """A new route to the same destination, from `at`."""
        route = self.current(unit_id)
        if route is None:
            return None
        return await self.give(unit_id, route.purpose, route.destination, reason, start=at,
                               hospital_id=route.hospital_id)

    async def check_fixes(self, fixes: list[Position]) -> None:
        """Re-route a unit that has strayed from its route."""
        routes = self.service.state.routes
        for p in fixes:
            route = routes.get(p.unit_id)
            if route is None:
                continue  # a fix is cheap to skip; measuring it against a route is not
            off = off_route_m(route.plan, (p.lon, p.lat))
            if off > OFF_ROUTE_M:
                await self.again(p.unit_id, (p.lon, p.lat), f"{off:.0f} m off its route")

    async def reroute_where(self, reason: str, affected: Callable[[RoutePlan], bool]) -> None:
        """A new route, from where it is now, for every unit whose route `affected` picks."""
        picked = [uid for uid, r in list(self.service.state.routes.items()) if affected(r.plan)]
        if picked:
            places = await self.whereabouts.places(picked)
            for uid in picked:
                if uid in places:
                    await self.again(uid, places[uid], reason)
