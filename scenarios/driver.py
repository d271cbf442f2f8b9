"""The drivers a replay plays: each drive follows its route segment by segment at the network's
speeds and this hour's traffic, stops at red signals unless a green wave holds them, and sends a
position fix at each stop line, as a vehicle's terminal would live."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dispatch.router import LonLat, profile_for
from greenwave.corridor import approach_name
from routing.index import Route, SignalOnRoute
from scenarios.traffic import expected_wait_s, plan_wait_s, wait_at_red_s

if TYPE_CHECKING:
    from scenarios.world import World

RED_SEARCH_S = 300  # a red that lasts longer than this at a preempted junction is a fault


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



class Driver:
    """Drives every unit; knows what the signals show (plans, or the controller's preemption)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.touched: set[str] = set()  # junctions that have had a priority request

    async def drive(self, u: UnitSim, to: LonLat, purpose: str, incident_id: str | None,
                    arrive: Callable[[], Awaitable[None]]) -> None:
        """Drive from where the unit is to `to`, signal by signal, then call `arrive`."""
        world = self.world
        now = world.engine.now_s
        here = u.place(now)
        profile = profile_for(u.kind)
        try:
            route = world.city.road.route_detail(here, to, profile)
        except ValueError:  # cut off by closures: it gets there the slow way, not at all here
            u.track = [(now, here)]
            world.engine.after(0, arrive)
            return
        trip = Trip(u.unit_id, u.agency, u.kind, profile, incident_id, purpose, now, here, to,
                    [int(n) for n in route.nodes], route.length_m, route.eta_green_s, route.eta_s,
                    self.navigator_s(route))
        world.trips.append(trip)
        followed = incident_id is not None and self._has_green_wave(u.unit_id)
        if followed:
            self.touched.update(s.signal_id for s in route.signals)
            trip.green_wave = True
            trip.without_priority_s = self._without_priority(route, now)
        await Drive(self, u, route, to, trip, followed, arrive).leg()

    def wait_s(self, signal_id: str, approach: str) -> float:
        """How long a unit reaching this stop line now waits: the plan's red, or, where a
        corridor has touched the junction, the controller's state as preemption left it."""
        world = self.world
        plan = world.city.plans.get(signal_id)
        if plan is None or approach not in plan.approaches:
            return 0.0
        t = world.service.clock.now().timestamp()
        j = world.controller.junctions.get(signal_id)
        if signal_id not in self.touched or j is None:
            return plan_wait_s(plan, approach, t, world.level)
        j.advance(t)
        if j.approach_state(approach) != "red":
            return 0.0
        if not j.requests:
            pos = plan.position_at(t)
            if pos.phase_index == j.phase and pos.interval == j.interval:
                return plan_wait_s(plan, approach, t, world.level)  # back in step with its plan
        trial = j.fork()
        for s in range(1, RED_SEARCH_S):
            trial.advance(t + s)
            if trial.approach_state(approach) != "red":
                return wait_at_red_s(plan, approach, float(s), world.level)
        return wait_at_red_s(plan, approach, float(RED_SEARCH_S), world.level)

    def navigator_s(self, route: Route) -> float:
        """The trip's expected time without priority at this traffic, from the junctions' plans."""
        waits = 0.0
        for sig in route.signals:
            plan = self.world.city.plans.get(sig.signal_id)
            approach = approach_name(sig.approach_edge)
            if plan is not None and approach in plan.approaches:
                waits += expected_wait_s(plan, approach, self.world.level)
        return route.eta_green_s * self.world.factor + waits

    def _without_priority(self, route: Route, depart_s: float) -> float:
        """The same drive on the same roads at the same moment with every junction on its plan."""
        world = self.world
        t = world.scenario.spec.start.timestamp() + depart_s
        start = t
        stops = signal_ends(route)
        for i, seg in enumerate(route.segments):
            t += seg.travel_time_s * world.factor
            if i in stops:
                sig = stops[i][1]
                plan = world.city.plans.get(sig.signal_id)
                approach = approach_name(sig.approach_edge)
                if plan is not None and approach in plan.approaches:
                    t += plan_wait_s(plan, approach, t, world.level)
        return t - start

    def _has_green_wave(self, unit_id: str) -> bool:
        follow = self.world.priority.following.get(unit_id)
        return follow is not None and not follow.tracker.done()


class Drive:
    """One drive in progress: it advances to the next stop line, waits there as the signal says,
    and goes on, until it arrives or its unit is given something else (its token moves on)."""

    def __init__(self, driver: Driver, u: UnitSim, route: Route, to: LonLat, trip: Trip, followed: bool,
                 arrive: Callable[[], Awaitable[None]]) -> None:
        self.driver, self.world, self.u, self.trip = driver, driver.world, u, trip
        self.followed, self.arrive = followed, arrive
        self.token = u.token
        self.segs = route.segments
        self.stops = signal_ends(route)
        lonlat = self.world.city.road.index.lonlat
        self.ends = [(float(lonlat[seg.v][0]), float(lonlat[seg.v][1])) for seg in self.segs[:-1]] + [to]
        self.i = 0
        u.track = [(self.world.engine.now_s, u.place(self.world.engine.now_s))]

    def _stale(self) -> bool:
        return self.u.token != self.token

    async def leg(self) -> None:
        """Drive on to the next signal's stop line (or the end), booking the track as it goes."""
        if self._stale():
            return
        t = self.world.engine.now_s
        while self.i < len(self.segs):
            t += self.segs[self.i].travel_time_s * self.world.factor
            self.u.track.append((t, self.ends[self.i]))
            self.i += 1
            if self.i - 1 in self.stops:
                sig = self.stops[self.i - 1][1]
                self.world.engine.at(t, lambda sig=sig: self._at_signal(sig))  # type: ignore[misc]
                return
        self.world.engine.at(t, self._done)

    async def _at_signal(self, sig: SignalOnRoute) -> None:
        if self._stale():
            return
        wait = self.driver.wait_s(sig.signal_id, approach_name(sig.approach_edge))
        self.trip.signals += 1
        if wait > 0:
            self.trip.signals_stopped += 1
            self.trip.signal_wait_s += wait
            self.u.track.append((self.world.engine.now_s + wait, self.u.track[-1][1]))
        if self.followed:
            # The corridor the workflows asked for follows the unit from its fixes, as it does
            # live: a fix at each stop line as the unit crosses it.
            self.world.priority.on_fix(self.u.unit_id, *self.u.track[-1][1])
            await self.world.priority.settle()
        self.world.engine.after(wait, self.leg)

    async def _done(self) -> None:
        if self._stale():
            return
        self.trip.arrive_s = self.world.engine.now_s
        await self.arrive()  # arriving gives the corridor back (the workflows)


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
