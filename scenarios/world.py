"""The simulated world a replay runs in: the scenario's city, fleet and timeline, and the people
and vehicles it plays (scenarios.dispatcher, scenarios.crew, scenarios.driver).

Every decision goes through the same application layer and `DispatchService` as a live run
(intake and merging, recommendation, assignment, the whistle, routes, green-wave requests to the
signal controller); this package only plays the people and the vehicles. Chance (scene times, who
is taken to hospital) is drawn per real-world event from the seed, so every strategy meets the
same day."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from coordination.coordinator import Coordinator
from coordination.road_router import RoadRouter
from coordination.signal_priority import SignalPriority, signal_places
from dispatch.decide import RegisterUnit
from dispatch.router import LonLat
from dispatch.service import DispatchService
from dispatch.state import Incident
from dispatch.telemetry import Position
from greenwave.corridor import CorridorSettings
from greenwave.network_plans import plan_book_for
from greenwave.signal_plan import SignalPlan
from greenwave.simulated_controller import SimulatedController
from routing.network import RoadNetwork
from routing.snap import OffRoad
from scenarios.closures import RoadClosures
from scenarios.crew import Crew
from scenarios.dispatcher import Dispatcher
from scenarios.driver import Driver, Trip, UnitSim
from scenarios.engine import ReplayEngine
from scenarios.homes import Homes
from scenarios.model import LoadedScenario, PlaceRef, TimelineEntry
from scenarios.source import read
from scenarios.traffic import link_factor

__all__ = ["STRATEGIES", "City", "Strategy", "Trip", "UnitSim", "World"]


@dataclass(frozen=True)
class Strategy:
    """How the agencies work, as settings of the one service: no fork of dispatch."""

    name: str
    label: str
    joint: bool  # joint intake: calls merge across hotlines and every agency gets its task
    whistle: bool  # qualifying incidents are whistled
    green_wave: bool  # whistled units' routes get signal priority


STRATEGIES: dict[str, Strategy] = {s.name: s for s in (
    Strategy("alone", "each agency alone", joint=False, whistle=False, green_wave=False),
    Strategy("joint", "joint, no green wave", joint=True, whistle=True, green_wave=False),
    Strategy("joint_green_wave", "joint with green wave", joint=True, whistle=True, green_wave=True),
)}


class City:
    """What all replays of a scenario share: the road network, its router and signal plans."""

    def __init__(self, network: RoadNetwork) -> None:
        self.network = network
        self.road = RoadRouter(network)
        self.plans: dict[str, SignalPlan] = plan_book_for(network.graph).all()

    @classmethod
    def of(cls, scenario: LoadedScenario) -> City:
        city = cls._built(scenario)
        city.check_places(scenario)
        return city

    @classmethod
    def _built(cls, scenario: LoadedScenario) -> City:
        c = scenario.spec.city
        if c.demo is not None:
            from routing.demo_city import build_demo_city

            return cls(build_demo_city(seed=c.demo.seed, scale=c.demo.scale))
        from routing.cache import import_osm, load_cached

        if c.osm_cache is not None:
            return cls(load_cached(scenario.path(c.osm_cache)))
        assert c.osm is not None
        return cls(load_cached(import_osm(scenario.path(c.osm), scenario.source.parent / "networks")))

    def check_places(self, scenario: LoadedScenario) -> None:
        """Every place the file names is on this city's roads, or the run is refused before it
        starts, with the line and the distance (not a traceback 36 simulated minutes in)."""
        spec = scenario.spec
        where: list[tuple[tuple[str | int, ...], float, float]] = [
            (("places", name), p.lon, p.lat) for name, p in spec.places.items()]
        for i, e in enumerate(spec.timeline):
            if e.call is not None and not isinstance(e.call.place, str):
                where.append((("timeline", i, "call", "place"), e.call.place.lon, e.call.place.lat))
        for i, st in enumerate(spec.fleet.stations):
            where.append((("fleet", "stations", i), st.lon, st.lat))
        for i, h in enumerate(spec.fleet.hospitals):
            where.append((("fleet", "hospitals", i), h.lon, h.lat))
        snaps = self.road.snapper.snap_many([(lon, lat) for _, lon, lat in where], self.road.snap_max_m)
        for (loc, lon, lat), snap in zip(where, snaps, strict=True):
            if snap is None:
                try:
                    self.road.snapper.snap(lon, lat, self.road.snap_max_m)
                except OffRoad as e:
                    raise read(scenario.source).error(loc, f"not on this city's roads: {e}") from None


class World:
    """What the players share: the scenario, the strategy, the service and its application layer,
    the simulated signals, and each vehicle's motion."""

    @property
    def level(self) -> float:
        """The roads' degree of saturation now (the scenario's traffic by hour)."""
        return self.scenario.spec.traffic.level_at(self.scenario.at(self.engine.now_s))

    @property
    def factor(self) -> float:
        return link_factor(self.level)

    def __init__(self, scenario: LoadedScenario, strategy: Strategy, city: City, service: DispatchService,
                 engine: ReplayEngine, seed: int) -> None:
        self.scenario, self.strategy, self.city = scenario, strategy, city
        self.service, self.engine, self.seed = service, engine, seed
        spec = scenario.spec
        settings = CorridorSettings(lead_s=spec.signals.lead_s, clearance_s=spec.signals.clearance_s,
                                    max_hold_s=spec.signals.max_hold_s)
        self.controller = SimulatedController(city.plans, lambda: service.clock.now().timestamp(),
                                              max_hold_s=spec.signals.max_hold_s)
        self.priority = SignalPriority(service, self.controller, signal_places(city.network), settings)
        # The same application layer as a live server: the workflows route, hospital and give
        # green waves; this world only plays the people and vehicles it asks.
        self.coordinator = Coordinator.assemble(service, city.road, SimulatedWhereabouts(self),
                                                scenario.fleet, self.priority, green_wave=strategy.green_wave)
        self.units: dict[str, UnitSim] = {}
        for u in scenario.fleet.units:
            st = scenario.fleet.stations[u.station_id]
            self.units[u.unit_id] = UnitSim(u.unit_id, str(u.agency), u.kind, (st.lon, st.lat))
        self.trips: list[Trip] = []
        self.dispatcher = Dispatcher(self)
        self.crew = Crew(self)
        self.driver = Driver(self)
        self.closures = RoadClosures(self)
        self.homes = Homes(self)

    # --- setting up ----------------------------------------------------------------------------

    async def register_fleet(self) -> None:
        for spec in self.scenario.fleet.units:
            if spec.unit_id not in self.service.state.units:
                await self.service.execute(RegisterUnit(
                    spec.unit_id, spec.agency, spec.kind, spec.call_sign, spec.station_id, spec.crew,
                    spec.capabilities))
        await self.homes.import_register()

    def schedule_timeline(self) -> None:
        for n, entry in enumerate(self.scenario.timeline):
            self.engine.at(entry.at, self._timeline_action(n, entry))

    def _timeline_action(self, n: int, entry: TimelineEntry) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if entry.call is not None:
                self.engine.after(self.scenario.spec.dispatcher.intake_s,
                                  lambda: self.dispatcher.take_call(n, entry))
            elif entry.alarm is not None:  # no intake: the device's message is the call
                await self.homes.alarm(n, entry)
            elif entry.road_closed is not None:
                self.closures.close(self._stretch(entry.road_closed.from_, entry.road_closed.to))
            elif entry.road_reopened is not None:
                self.closures.reopen(self._stretch(entry.road_reopened.from_, entry.road_reopened.to))
            elif entry.unit_out_of_service is not None:
                out = entry.unit_out_of_service
                await self.crew.out_of_service(out.unit)
                if out.minutes is not None:
                    self.engine.after(out.minutes * 60, lambda: self.crew.back_in_service(out.unit))
            elif entry.unit_back_in_service is not None:
                await self.crew.back_in_service(entry.unit_back_in_service.unit)
        return run

    def _stretch(self, a: PlaceRef, b: PlaceRef) -> tuple[LonLat, LonLat]:
        return (self.scenario.place(a), self.scenario.place(b))

    def finish(self) -> None:
        """Give the shared road index back as the city had it."""
        self.closures.reopen_all()

    # --- chance, the same for every strategy ---------------------------------------------------

    def draw(self, *key: object) -> float:
        return random.Random(":".join(map(str, (self.seed, *key)))).random()

    def event_of(self, inc: Incident) -> str:
        calls = self.dispatcher.event_of_call
        return calls.get(inc.call_ids[0], inc.call_ids[0]) if inc.call_ids else inc.incident_id

    # --- the map -------------------------------------------------------------------------------

    def positions(self, at: datetime) -> list[Position]:
        t = (at - self.scenario.spec.start).total_seconds()
        return [Position(uid, float(lon), float(lat), at)
                for uid, u in self.units.items() for lon, lat in (u.place(t),)]


class SimulatedWhereabouts:
    """Where the simulated vehicles are: the replay's filling of the workflows' port."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def places(self, unit_ids: list[str]) -> dict[str, LonLat]:
        now = self.world.engine.now_s
        return {uid: self.world.units[uid].place(now) for uid in unit_ids if uid in self.world.units}

    async def fixes(self, unit_ids: list[str]) -> dict[str, Position]:
        at = self.world.service.clock.now()
        return {uid: Position(uid, p[0], p[1], at) for uid, p in (await self.places(unit_ids)).items()}
