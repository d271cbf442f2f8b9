"""The simulated world a replay runs in: calls arriving on the timeline, dispatchers acting on
the service's recommendations, units driving their routes at the road network's speeds, waiting
at red signals unless a green wave holds them green, working on scene, carrying patients to
hospital and driving home; roads closing and units going out of service.

Every decision goes through the same `DispatchService` as a live run (intake and merging,
recommendation, assignment, the whistle, green-wave requests to the signal controller); this
module only plays the people and the vehicles. Chance (scene times, who is taken to hospital) is
drawn per real-world event from the seed, so every strategy meets the same day."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from coordination.coordinator import Coordinator
from coordination.road_router import RoadRouter
from coordination.signal_priority import SignalPriority, signal_places
from dispatch.decide import (
    ChangeIncidentStatus,
    ChangeUnitStatus,
    ReceiveCall,
    RegisterUnit,
)
from dispatch.events import CallMerged, IncidentOpened, IncidentReclassified, TaskCreated
from dispatch.recommend import assignments_from, needs
from dispatch.rejection import Rejected
from dispatch.router import LonLat, profile_for
from dispatch.service import DispatchService
from dispatch.state import Incident
from dispatch.telemetry import Position
from dispatch.units import UnitStatus
from dispatch.whistle import (
    ALL_AGENCIES,
    AcknowledgeSummons,
    BlowWhistle,
    CheckDeadlines,
    next_deadline,
    roster_for,
)
from greenwave.corridor import CorridorSettings, approach_name
from greenwave.network_plans import plan_book_for
from greenwave.signal_plan import SignalPlan
from greenwave.simulated_controller import SimulatedController
from routing.index import Route, SignalOnRoute
from routing.network import RoadNetwork
from scenarios.engine import ReplayEngine
from scenarios.model import LoadedScenario, TimelineEntry
from scenarios.traffic import expected_wait_s, link_factor, plan_wait_s, wait_at_red_s

ON_THE_WAY = (UnitStatus.DISPATCHED, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE)
RED_SEARCH_S = 300  # a red that lasts longer than this at a preempted junction is a fault


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


@dataclass
class Trip:
    """One drive of a responding unit: what a traffic simulator needs to drive it again."""

    unit_id: str
    agency: str
    vehicle_kind: str
    profile: str
    incident_id: str | None
    purpose: str  # to_scene, to_hospital, to_station
    depart_s: float  # seconds after the scenario's start
    origin: LonLat
    destination: LonLat
    nodes: list[int]  # road-graph nodes in order (the network is the scenario's city)
    length_m: float
    free_flow_s: float  # at the profile's speeds, every signal green, no traffic
    router_eta_s: float  # the router's ETA with its default expected red waiting
    navigator_s: float  # expected at this traffic with each junction's plan: what a navigator says
    green_wave: bool = False
    arrive_s: float | None = None
    signal_wait_s: float = 0.0
    signals: int = 0
    signals_stopped: int = 0
    without_priority_s: float | None = None  # same route and departure, plans only (green-wave trips)

    @property
    def duration_s(self) -> float | None:
        return None if self.arrive_s is None else self.arrive_s - self.depart_s

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


class City:
    """What all replays of a scenario share: the road network, its router and signal plans."""

    def __init__(self, network: RoadNetwork) -> None:
        self.network = network
        self.road = RoadRouter(network)
        self.plans: dict[str, SignalPlan] = plan_book_for(network.graph).all()

    @classmethod
    def of(cls, scenario: LoadedScenario) -> City:
        c = scenario.spec.city
        if c.demo is not None:
            from routing.demo_city import build_demo_city

            return cls(build_demo_city(seed=c.demo.seed, scale=c.demo.scale))
        from routing.cache import import_osm, load_cached

        if c.osm_cache is not None:
            return cls(load_cached(scenario.path(c.osm_cache)))
        assert c.osm is not None
        return cls(load_cached(import_osm(scenario.path(c.osm), scenario.source.parent / "networks")))


@dataclass
class UnitSim:
    unit_id: str
    agency: str
    kind: str
    home: LonLat
    token: int = 0  # bumped when the unit is given something new: stale actions see it and stop
    track: list[tuple[float, LonLat]] = field(default_factory=list)  # (time, place) breakpoints
    incident_id: str | None = None
    out_of_service: bool = False  # asked to go out of service once free

    def place(self, t: float) -> LonLat:
        """Where the unit is at `t`, between the breakpoints of its drive."""
        track = self.track
        if not track or t <= track[0][0]:
            return track[0][1] if track else self.home
        for (t0, p0), (t1, p1) in zip(track, track[1:], strict=False):
            if t <= t1:
                f = 0.0 if t1 <= t0 else (t - t0) / (t1 - t0)
                return (p0[0] + (p1[0] - p0[0]) * f, p0[1] + (p1[1] - p0[1]) * f)
        return track[-1][1]

    def stop(self, t: float) -> None:
        here = self.place(t)
        self.track = [(t, here)]
        self.token += 1


class World:
    def __init__(self, scenario: LoadedScenario, strategy: Strategy, city: City, service: DispatchService,
                 engine: ReplayEngine, seed: int) -> None:
        self.s, self.strategy, self.city = scenario, strategy, city
        self.service, self.engine, self.seed = service, engine, seed
        spec = scenario.spec
        self.level = spec.traffic.level
        self.factor = link_factor(self.level)
        self.settings = CorridorSettings(lead_s=spec.signals.lead_s, clearance_s=spec.signals.clearance_s,
                                         max_hold_s=spec.signals.max_hold_s)
        self.controller = SimulatedController(city.plans, lambda: service.clock.now().timestamp(),
                                              max_hold_s=spec.signals.max_hold_s)
        self.priority = SignalPriority(service, self.controller, signal_places(city.network), self.settings)
        # The same application layer as a live server: the workflows route, hospital and give
        # green waves; this world only plays the people and vehicles it asks.
        self.coordinator = Coordinator.assemble(service, city.road, SimulatedWhereabouts(self),
                                                scenario.fleet, self.priority, green_wave=strategy.green_wave)
        self.touched: set[str] = set()  # junctions that have had a priority request
        self.units: dict[str, UnitSim] = {}
        for u in scenario.fleet.units:
            st = scenario.fleet.stations[u.station_id]
            self.units[u.unit_id] = UnitSim(u.unit_id, str(u.agency), u.kind, (st.lon, st.lat))
        self.trips: list[Trip] = []
        self.waiting: set[str] = set()  # incidents with a need no free unit could meet yet
        self.planned: set[tuple[str, str]] = set()  # (incident, action) already scheduled
        self.deadline_checks: set[datetime] = set()
        self.closed_roads: list[tuple[int, int]] = []
        self.closures: dict[tuple[LonLat, LonLat], list[tuple[int, int]]] = {}
        self.event_of_call: dict[str, str] = {}

    # --- setting up ----------------------------------------------------------------------------

    async def register_fleet(self) -> None:
        for spec in self.s.fleet.units:
            if spec.unit_id not in self.service.state.units:
                await self.service.execute(RegisterUnit(
                    spec.unit_id, spec.agency, spec.kind, spec.call_sign, spec.station_id, spec.crew,
                    spec.capabilities))

    def schedule_timeline(self) -> None:
        for n, entry in enumerate(self.s.timeline):
            self.engine.at(entry.at, self._timeline_action(n, entry))

    def _timeline_action(self, n: int, entry: TimelineEntry) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if entry.call is not None:
                self.engine.after(self.s.spec.dispatcher.intake_s, lambda: self._intake(n, entry))
            elif entry.road_closed is not None:
                self._roads(entry.road_closed.from_, entry.road_closed.to, close=True)
            elif entry.road_reopened is not None:
                self._roads(entry.road_reopened.from_, entry.road_reopened.to, close=False)
            elif entry.unit_out_of_service is not None:
                out = entry.unit_out_of_service
                await self._out_of_service(out.unit)
                if out.minutes is not None:
                    self.engine.after(out.minutes * 60, lambda: self._back_in_service(out.unit))
            elif entry.unit_back_in_service is not None:
                await self._back_in_service(entry.unit_back_in_service.unit)
        return run

    def finish(self) -> None:
        """Give the shared road index back as the city had it."""
        for u, v in self.closed_roads:
            self.city.road.index.reopen_edge(u, v)
        self.closed_roads.clear()

    # --- chance, the same for every strategy ---------------------------------------------------

    def draw(self, *key: object) -> float:
        return random.Random(":".join(map(str, (self.seed, *key)))).random()

    def event_of(self, inc: Incident) -> str:
        return self.event_of_call.get(inc.call_ids[0], inc.call_ids[0]) if inc.call_ids else inc.incident_id

    # --- calls and dispatchers -----------------------------------------------------------------

    async def _intake(self, n: int, entry: TimelineEntry) -> None:
        call = entry.call
        assert call is not None
        lon, lat = self.s.place(call.place)
        events = await self.service.execute(ReceiveCall(
            hotline=call.hotline, received_at=self.s.at(entry.at), kind=call.kind, text=call.text,
            caller_number=call.caller, lon=lon, lat=lat, address=call.address,
            idempotency_key=f"{self.s.name}-{n}", details={"event": call.event or f"T{n:05d}"}))
        call_id = events[0].call_id  # type: ignore[attr-defined]
        self.event_of_call[call_id] = call.event or f"T{n:05d}"
        incident_id = next((e.incident_id for e in events  # type: ignore[attr-defined]
                            if isinstance(e, IncidentOpened | CallMerged)), None)
        changed = any(isinstance(e, IncidentOpened | TaskCreated | IncidentReclassified) for e in events)
        if incident_id is not None and changed:
            self._plan_response(incident_id)

    def _plan_response(self, incident_id: str) -> None:
        inc = self.service.state.incidents[incident_id]
        d = self.s.spec.dispatcher
        whistled = any(w.incident_id == incident_id for w in self.service.state.whistles.values())
        if self.strategy.whistle and inc.whistle_qualifies and not whistled:
            if (incident_id, "whistle") not in self.planned:
                self.planned.add((incident_id, "whistle"))
                self.engine.after(d.whistle_s, lambda: self._blow(incident_id))
            return
        self.engine.after(d.dispatch_s, lambda: self._dispatch(incident_id))

    async def _blow(self, incident_id: str) -> None:
        state = self.service.state
        inc = state.incidents[incident_id]
        if not inc.active:
            return
        rules = self.service.rules
        by_agency = next((a for a in ("120", "119") if a in inc.tasks),
                         str(roster_for(state.roster_plans, rules.roster,
                                        rules.roster.duty_day(self.service.clock.now())).lead))
        try:
            events = await self.service.execute(
                BlowWhistle(incident_id, f"dispatcher {by_agency}", by_agency))
        except Rejected:
            await self._dispatch(incident_id)
            return
        whistle_id = events[0].whistle_id  # type: ignore[attr-defined]
        for agency in ALL_AGENCIES:
            delay = self.s.spec.roster.ack_s.get(agency, 30.0)
            if delay != "never":
                self.engine.after(float(delay), self._acknowledge(whistle_id, str(agency)))
        self._watch_deadlines()
        await self._dispatch(incident_id)

    def _acknowledge(self, whistle_id: str, agency: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            s = self.service.state.whistles[whistle_id].summons.get(agency)
            if s is None or s.acknowledged_at is not None:
                return
            with contextlib.suppress(Rejected):
                await self.service.execute(AcknowledgeSummons(whistle_id, agency, s.name))
        return run

    def _watch_deadlines(self) -> None:
        due = next_deadline(self.service.state)
        if due is None or due in self.deadline_checks:
            return
        self.deadline_checks.add(due)

        async def check() -> None:
            await self.service.execute(CheckDeadlines())
            self._watch_deadlines()
        self.engine.at((due - self.s.spec.start).total_seconds(), check)

    def _active_whistle(self, incident_id: str) -> str | None:
        return next((w.whistle_id for w in self.service.state.whistles.values()
                     if w.active and w.incident_id == incident_id), None)

    async def _dispatch(self, incident_id: str) -> None:
        """The dispatcher confirms the recommendation, as the one-click assign does live."""
        state = self.service.state
        inc = state.incidents.get(incident_id)
        if inc is None or not inc.active or inc.lon is None or inc.lat is None:
            self.waiting.discard(incident_id)
            return
        out = frozenset(uid for uid, u in self.units.items() if u.out_of_service)
        needs = await self.coordinator.recommendation(incident_id, exclude=out)
        assignments = assignments_from(needs, None)
        if any(n.pick is None for n in needs):
            self.waiting.add(incident_id)
        else:
            self.waiting.discard(incident_id)
        if not assignments:
            return
        diverted = {a.unit_id: state.units[a.unit_id].incident_id for a in assignments if a.divert}
        whistle_id = self._active_whistle(incident_id)
        by = f"whistle {whistle_id}" if whistle_id else "dispatcher"
        try:
            await self.coordinator.send(incident_id, None, by, None, needs=needs)
        except Rejected:
            self.waiting.add(incident_id)
            return
        olds = [old for old in diverted.values() if old is not None]
        self.waiting.update(olds)  # a diverted unit's old incident needs someone else
        for a in assignments:
            await self._respond(a.unit_id, incident_id)
        for old in olds:
            await self._dispatch(old)

    async def _unit_free(self, unit_id: str) -> None:
        """A unit can be sent again: the longest-waiting, most severe incident it fits gets it."""
        u = self.units[unit_id]
        if u.out_of_service:
            await self._out_of_service(unit_id)
            return
        state = self.service.state
        plans = self.service.rules.plans
        unit = state.units[unit_id]
        for incident_id in sorted(self.waiting, key=lambda i: (-state.incidents[i].severity,
                                                               state.incidents[i].reported_at, i)):
            inc = state.incidents[incident_id]
            if any(a == unit.agency and (not k or k == unit.kind) for a, k in needs(state, inc, plans)):
                await self._dispatch(incident_id)
                if state.units[unit_id].status not in (UnitStatus.AVAILABLE, UnitStatus.RETURNING):
                    return

    # --- units ---------------------------------------------------------------------------------

    async def _status(self, unit_id: str, status: UnitStatus, reason: str = "") -> bool:
        try:
            await self.service.execute(ChangeUnitStatus(unit_id, status, "crew", reason))
            return True
        except Rejected:
            return False

    async def _respond(self, unit_id: str, incident_id: str) -> None:
        u = self.units[unit_id]
        was = u.incident_id
        u.stop(self.engine.now_s)
        u.incident_id = incident_id
        if was is not None and was != incident_id:
            await self._maybe_close(was)
        # A crew already in its vehicle (driving home) turns round at once.
        history = self.service.state.units[unit_id].history
        moving = len(history) >= 2 and history[-2][1] == UnitStatus.RETURNING
        turnout = 0.0 if moving else self.s.spec.dispatcher.turnout_s.get(u.agency, 60.0)  # type: ignore[call-overload]
        token = u.token
        self.engine.after(turnout, lambda: self._depart(unit_id, incident_id, token))

    async def _depart(self, unit_id: str, incident_id: str, token: int) -> None:
        u = self.units[unit_id]
        if u.token != token:
            return
        inc = self.service.state.incidents[incident_id]
        await self._status(unit_id, UnitStatus.EN_ROUTE)
        assert inc.lon is not None and inc.lat is not None
        await self._drive(u, (inc.lon, inc.lat), "to_scene", incident_id,
                          lambda: self._on_scene(unit_id, incident_id, token))

    async def _on_scene(self, unit_id: str, incident_id: str, token: int) -> None:
        u = self.units[unit_id]
        if u.token != token:
            return
        await self._status(unit_id, UnitStatus.ON_SCENE)  # its task follows, in the domain
        inc = self.service.state.incidents[incident_id]
        spec = self.s.spec.scene
        event = self.event_of(inc)
        minutes = spec.minutes.get(inc.kind, spec.default_min)
        minutes *= 1 + spec.variation * (2 * self.draw(event, u.agency, "scene") - 1)
        self.engine.after(minutes * 60, lambda: self._leave_scene(unit_id, incident_id, token))

    async def _leave_scene(self, unit_id: str, incident_id: str, token: int) -> None:
        u = self.units[unit_id]
        if u.token != token:
            return
        inc = self.service.state.incidents[incident_id]
        spec = self.s.spec.scene
        share = spec.transport_share.get(inc.kind, spec.default_transport_share)
        if u.kind == "ambulance" and u.agency == "120" and self.draw(self.event_of(inc), "transport") < share:
            # The crew presses transporting; the workflow names the hospital and routes it there.
            await self._status(unit_id, UnitStatus.TRANSPORTING, "patient on board")
            route = self.service.state.routes.get(unit_id)
            if route is not None and route.hospital_id is not None:
                await self._maybe_close(incident_id)
                await self._drive(u, route.destination, "to_hospital", incident_id,
                                  lambda: self._at_hospital(unit_id, token))
                return
            await self._status(unit_id, UnitStatus.AT_HOSPITAL, "no hospital reachable")
        await self._go_home(unit_id, token, "done on scene")
        await self._maybe_close(incident_id)

    async def _at_hospital(self, unit_id: str, token: int) -> None:
        if self.units[unit_id].token != token:
            return
        await self._status(unit_id, UnitStatus.AT_HOSPITAL)
        self.engine.after(self.s.spec.scene.handover_min * 60,
                          lambda: self._go_home(unit_id, token, "patient handed over"))

    async def _go_home(self, unit_id: str, token: int, reason: str) -> None:
        u = self.units[unit_id]
        if u.token != token:
            return
        u.incident_id = None
        await self._status(unit_id, UnitStatus.RETURNING, reason)
        await self._drive(u, u.home, "to_station", None, lambda: self._home(unit_id, token))
        await self._unit_free(unit_id)

    async def _home(self, unit_id: str, token: int) -> None:
        if self.units[unit_id].token != token:
            return
        await self._status(unit_id, UnitStatus.AVAILABLE, "back at station")
        await self._unit_free(unit_id)

    async def _maybe_close(self, incident_id: str) -> None:
        """Close an incident once every unit sent has left it and no need is left unmet."""
        state = self.service.state
        inc = state.incidents[incident_id]
        if not inc.active or incident_id in self.waiting:
            return
        if any(state.units[uid].incident_id == incident_id and state.units[uid].status in ON_THE_WAY
               for uid in inc.unit_ids):
            return
        # Closing closes the tasks and gives back the green waves (domain and workflows).
        await self.service.execute(
            ChangeIncidentStatus(incident_id, "closed", "dispatcher", "all units left"))

    async def _out_of_service(self, unit_id: str) -> None:
        u = self.units[unit_id]
        u.out_of_service = True
        if self.service.state.units[unit_id].status in (UnitStatus.AVAILABLE, UnitStatus.RETURNING):
            u.stop(self.engine.now_s)
            await self._status(unit_id, UnitStatus.OUT_OF_SERVICE, "scenario: out of service")

    async def _back_in_service(self, unit_id: str) -> None:
        u = self.units[unit_id]
        u.out_of_service = False
        if self.service.state.units[unit_id].status == UnitStatus.OUT_OF_SERVICE:
            await self._status(unit_id, UnitStatus.AVAILABLE, "scenario: back in service")
            await self._unit_free(unit_id)

    def _roads(self, a: Any, b: Any, close: bool) -> None:
        """Close both directions of the roads along the way from one place to another; reopening
        gives back exactly what that closure took (a route asked for now would go round it)."""
        key = (self.s.place(a), self.s.place(b))
        index = self.city.road.index
        if not close:
            for edge in self.closures.pop(key, []):
                index.reopen_edge(*edge)
                self.closed_roads.remove(edge)
            return
        route = self.city.road.route_detail(*key, "car")
        taken = []
        for u, v in zip(route.nodes, route.nodes[1:], strict=False):
            for edge in ((u, v), (v, u)):
                if edge in index.edge_id:
                    index.close_edge(*edge)
                    taken.append(edge)
        self.closures.setdefault(key, []).extend(taken)
        self.closed_roads.extend(taken)

    # --- driving -------------------------------------------------------------------------------

    async def _drive(self, u: UnitSim, to: LonLat, purpose: str, incident_id: str | None,
                     arrive: Callable[[], Awaitable[None]]) -> None:
        """Drive from where the unit is to `to`, signal by signal, then call `arrive`."""
        now = self.engine.now_s
        here = u.place(now)
        profile = profile_for(u.kind)
        try:
            route = self.city.road.route_detail(here, to, profile)
        except ValueError:  # cut off by closures: it gets there the slow way, not at all here
            u.track = [(now, here)]
            self.engine.after(0, arrive)
            return
        token = u.token
        trip = Trip(u.unit_id, u.agency, u.kind, profile, incident_id, purpose, now, here, to,
                    [int(n) for n in route.nodes], route.length_m, route.eta_green_s, route.eta_s,
                    self.navigator_s(route))
        self.trips.append(trip)
        follow = None
        if incident_id is not None and self._has_green_wave(u.unit_id):
            follow = self._following(u, route)
            trip.green_wave = True
            trip.without_priority_s = self._without_priority(route, now)
        index = self.city.road.index
        segs = route.segments
        stops = signal_ends(route)
        ends = [(float(index.lonlat[seg.v][0]), float(index.lonlat[seg.v][1])) for seg in segs[:-1]] + [to]
        u.track = [(now, here)]
        i = 0

        async def leg() -> None:
            nonlocal i
            if u.token != token:
                return
            t = self.engine.now_s
            while i < len(segs):
                t += segs[i].travel_time_s * self.factor
                u.track.append((t, ends[i]))
                i += 1
                if i - 1 in stops:
                    k, sig = stops[i - 1]
                    self.engine.at(t, lambda k=k, sig=sig: signal(sig, k))  # type: ignore[misc]
                    return
            self.engine.at(t, done)

        async def signal(sig: Any, k: int) -> None:
            if u.token != token:
                return
            approach = approach_name(sig.approach_edge)
            wait = self._wait(sig.signal_id, approach)
            trip.signals += 1
            if wait > 0:
                trip.signals_stopped += 1
                trip.signal_wait_s += wait
                u.track.append((self.engine.now_s + wait, u.track[-1][1]))
            if follow is not None:
                await follow(k, u.track[-1][1])  # a fix at the stop line as it crosses
            self.engine.after(wait, leg)

        async def done() -> None:
            if u.token != token:
                return
            trip.arrive_s = self.engine.now_s
            await arrive()  # arriving gives the corridor back (the workflows)

        await leg()

    def _wait(self, signal_id: str, approach: str) -> float:
        plan = self.city.plans.get(signal_id)
        if plan is None or approach not in plan.approaches:
            return 0.0
        t = self.service.clock.now().timestamp()
        j = self.controller.junctions.get(signal_id)
        if signal_id not in self.touched or j is None:
            return plan_wait_s(plan, approach, t, self.level)
        j.advance(t)
        if j.approach_state(approach) != "red":
            return 0.0
        if not j.requests:
            pos = plan.position_at(t)
            if pos.phase_index == j.phase and pos.interval == j.interval:
                return plan_wait_s(plan, approach, t, self.level)  # back in step with its plan
        trial = j.fork()
        for s in range(1, RED_SEARCH_S):
            trial.advance(t + s)
            if trial.approach_state(approach) != "red":
                return wait_at_red_s(plan, approach, float(s), self.level)
        return wait_at_red_s(plan, approach, float(RED_SEARCH_S), self.level)

    def navigator_s(self, route: Route) -> float:
        """The trip's expected time without priority at this traffic, from the junctions' plans."""
        waits = 0.0
        for sig in route.signals:
            plan = self.city.plans.get(sig.signal_id)
            approach = approach_name(sig.approach_edge)
            if plan is not None and approach in plan.approaches:
                waits += expected_wait_s(plan, approach, self.level)
        return route.eta_green_s * self.factor + waits

    def _without_priority(self, route: Route, depart_s: float) -> float:
        """The same drive on the same roads at the same moment with every junction on its plan."""
        t = self.s.spec.start.timestamp() + depart_s
        start = t
        stops = signal_ends(route)
        for i, seg in enumerate(route.segments):
            t += seg.travel_time_s * self.factor
            if i in stops:
                sig = stops[i][1]
                plan = self.city.plans.get(sig.signal_id)
                approach = approach_name(sig.approach_edge)
                if plan is not None and approach in plan.approaches:
                    t += plan_wait_s(plan, approach, t, self.level)
        return t - start

    def _has_green_wave(self, unit_id: str) -> bool:
        follow = self.priority.following.get(unit_id)
        return follow is not None and not follow.tracker.done()

    def _following(self, u: UnitSim, route: Route) -> Callable[[int, LonLat], Awaitable[None]]:
        """The corridor the workflows asked for follows the unit from its position fixes, as it
        does live: a fix at each stop line as the unit crosses it."""
        self.touched.update(s.signal_id for s in route.signals)

        async def passed(_k: int, at: LonLat) -> None:
            self.priority.on_fix(u.unit_id, *at)
            await self.priority.settle()
        return passed

    # --- the map -------------------------------------------------------------------------------

    def positions(self, at: datetime) -> list[Position]:
        t = (at - self.s.spec.start).total_seconds()
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


def signal_ends(route: Route) -> dict[int, tuple[int, SignalOnRoute]]:
    """Which segments of a route end at a signal's stop line: segment index -> (signal index,
    the signal). Routing lists the signals in the order the segments meet them."""
    out: dict[int, tuple[int, SignalOnRoute]] = {}
    j = 0
    for i, seg in enumerate(route.segments):
        if j < len(route.signals) and (seg.u, seg.v) == route.signals[j].approach_edge:
            out[i] = (j, route.signals[j])
            j += 1
    return out
