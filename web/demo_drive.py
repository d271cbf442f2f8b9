"""The demo city's traffic of our own fleet: every unit drives, once a second, through the same
position ingest real vehicles use, so the map, re-routing and the green wave all see it.

Units sent to an incident drive their assigned route (report en route as they set off and on scene
when they arrive, as a crew would press the buttons); a green-wave unit keeps the pace its corridor
was planned for, others meet the signals as they are. Returning units drive home and report
available there. Free units cruise between random places of the network at a patrol's pace.
On by default for the demo city (JD_DEMO_MOTION), never meant for a real fleet."""

import asyncio
import contextlib
import random
from dataclasses import dataclass

from dispatch.decide import ChangeUnitStatus
from dispatch.rejection import Rejected
from dispatch.router import RoutePlan
from dispatch.telemetry import Position
from dispatch.units import UnitStatus
from greenwave.corridor import Corridor
from greenwave.route_progress import RouteProgress
from routing.network import RoadNetwork
from web.bootstrap import Backend

LonLat = tuple[float, float]
CRUISE_PACE = 0.6  # free units drive slower than the emergency profile they are routed with
CREW = "demo crew"


@dataclass
class Trip:
    plan: RoutePlan
    progress: RouteProgress
    started: float  # loop time
    seconds: float  # how long the whole route takes at this trip's pace
    purpose: str  # "incident", "hospital", "home", "cruise"


class DemoDrive:
    def __init__(self, fleet: Backend, places: list[LonLat], tick_s: float = 1.0,
                 pace: float = 1.0, seed: int = 7) -> None:
        self.fleet, self.places, self.tick_s, self.pace = fleet, places, tick_s, pace
        self.rng = random.Random(seed)
        self.trips: dict[str, Trip] = {}
        self.here: dict[str, LonLat] = {}

    @classmethod
    def on(cls, fleet: Backend, network: RoadNetwork, pace: float = 1.0) -> "DemoDrive":
        """Cruise destinations: a sample of the network's junctions that a car can reach."""
        rng = random.Random(7)
        nodes = [(d["lon"], d["lat"]) for _, d in network.graph.nodes(data=True)]
        return cls(fleet, rng.sample(nodes, min(400, len(nodes))), pace=pace)

    async def run(self) -> None:
        latest = await self.fleet.positions.latest()
        self.here = {u: (p.lon, p.lat) for u, p in latest.items()}
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.tick(started)
            except Exception:  # a Redis hiccup or an unroutable place: drive on next second
                await asyncio.sleep(self.tick_s)
            await asyncio.sleep(max(0.0, self.tick_s - (loop.time() - started)))

    async def tick(self, now: float) -> None:
        fixes: list[Position] = []
        at = self.fleet.service.clock.now()
        for unit in list(self.fleet.service.state.units.values()):
            trip = await self._trip_for(unit.unit_id, unit.status, now)
            if trip is None:
                continue
            elapsed = (now - trip.started) * self.pace
            share = min(1.0, elapsed / trip.seconds) if trip.seconds > 0 else 1.0
            # Route time is counted in priority seconds (the corridor's clock); scale the trip's
            # own pace onto it.
            route_time = share * trip.plan.eta_green_s
            (lon, lat), heading = trip.progress.point_at(trip.progress.along_at_time(route_time))
            speed = trip.plan.length_m / trip.seconds * 3.6 if trip.seconds else 0.0
            self.here[unit.unit_id] = (lon, lat)
            fixes.append(Position(unit.unit_id, lon, lat, at, round(heading, 1),
                                  round(min(speed, 150.0), 1) if share < 1 else 0.0))
            if share >= 1:
                await self._arrived(unit.unit_id, trip)
        if fixes:
            await self.fleet.ingest(fixes)

    async def _trip_for(self, uid: str, status: UnitStatus, now: float) -> Trip | None:
        trip = self.trips.get(uid)
        route = self.fleet.service.state.routes.get(uid)
        if status in (UnitStatus.DISPATCHED, UnitStatus.EN_ROUTE, UnitStatus.TRANSPORTING):
            if route is None:
                return None
            assigned = route.plan
            if trip is None or trip.plan is not assigned:  # newly sent, or re-routed
                whistled = uid in self.fleet.service.state.corridors and \
                    self.fleet.service.state.corridors[uid].incident_id == route.incident_id
                seconds = assigned.eta_green_s if whistled else assigned.eta_s
                purpose = "hospital" if status is UnitStatus.TRANSPORTING else "incident"
                trip = self.trips[uid] = Trip(assigned, _progress(assigned), now, seconds, purpose)
                if status is UnitStatus.DISPATCHED:
                    await self._status(uid, UnitStatus.EN_ROUTE)
            return trip
        if status in (UnitStatus.RETURNING, UnitStatus.AVAILABLE):
            if trip is not None and trip.purpose in ("home", "cruise") and \
                    (status is UnitStatus.RETURNING) == (trip.purpose == "home"):
                return trip
            return self._start_leg(uid, status, now)
        self.trips.pop(uid, None)  # on scene, at hospital, out of service: stays where it is
        return None

    def _start_leg(self, uid: str, status: UnitStatus, now: float) -> Trip | None:
        unit = self.fleet.service.state.units[uid]
        station = self.fleet.fleet.stations.get(unit.station_id)
        origin = self.here.get(uid) or ((station.lon, station.lat) if station else None)
        if origin is None or not self.places:
            return None
        home = status is UnitStatus.RETURNING
        goal = (station.lon, station.lat) if home and station else self.rng.choice(self.places)
        try:
            plan = self.fleet.coordinator.router.route(origin, goal, "car")
        except ValueError:
            self.trips.pop(uid, None)
            return None
        seconds = plan.eta_s / (1.0 if home else CRUISE_PACE)
        trip = self.trips[uid] = Trip(plan, _progress(plan), now, seconds, "home" if home else "cruise")
        return trip

    async def _arrived(self, uid: str, trip: Trip) -> None:
        self.trips.pop(uid, None)
        if trip.purpose == "incident":
            await self._status(uid, UnitStatus.ON_SCENE)
        elif trip.purpose == "hospital":
            await self._status(uid, UnitStatus.AT_HOSPITAL)
        elif trip.purpose == "home":
            await self._status(uid, UnitStatus.AVAILABLE)

    async def _status(self, uid: str, status: UnitStatus) -> None:
        with contextlib.suppress(Rejected):
            await self.fleet.service.execute(ChangeUnitStatus(uid, status.value, CREW, "demo drive"))


def _progress(plan: RoutePlan) -> RouteProgress:
    return RouteProgress(plan.coords, Corridor("", 0.0, ()), plan.eta_green_s, {})
