"""One SUMO run of a responding unit's trip in one mode, through libsumo.

Modes: `free_flow` (the unit alone, every signal green), `none` (background traffic only: the
pair every other run's delay to others is measured against), `no_priority` (the unit obeys the
signals), `blue_light` (siren and blue light, no signal priority) and `green_wave` (blue light,
and the coordinator's corridor requests go to the SUMO signal gateway while the unit is followed
along its route: windows re-sent on drift, each signal released as the unit passes it).

libsumo allows one simulation per process at a time; runs go one after another, each closed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import libsumo

from greenwave.corridor import CorridorSettings, passages_from_route, plan_corridor
from greenwave.corridor_tracker import CorridorTracker, carry_out
from greenwave.messages import VehicleRole, priority_from_severity
from greenwave.sumo_gateway import SumoSignalGateway
from routing.index import Route
from scenarios.sumo.network import SumoNetwork, route_edges
from scenarios.sumo.traffic import UNIT, UNIT_BLUE_LIGHT

STEP_S = 1.0
UNIT_VEHICLE = "unit"


class Mode(StrEnum):
    FREE_FLOW = "free_flow"
    NONE = "none"
    NO_PRIORITY = "no_priority"
    BLUE_LIGHT = "blue_light"
    GREEN_WAVE = "green_wave"


ROLE_OF_KIND = {"ambulance": VehicleRole.AMBULANCE, "fire_engine": VehicleRole.FIRE,
                "ladder": VehicleRole.FIRE, "rescue_truck": VehicleRole.FIRE}


@dataclass(frozen=True)
class UnitTrip:
    """A unit's trip as the coordinator planned it, laid onto the SUMO network."""

    unit_id: str
    kind: str
    severity: int
    route: Route  # the coordinator's route (routing.index)
    edges: list[str]  # SUMO edge ids, in order
    depart_pos_m: float
    arrival_pos_m: float
    # per route edge: (route time at its start, its route time, SUMO position range it covers)
    progress: list[tuple[float, float, float, float]]
    approach_index: dict[str, int]  # signal id -> index in `edges` of the edge arriving at it

    @property
    def role(self) -> VehicleRole:
        return ROLE_OF_KIND.get(self.kind, VehicleRole.POLICE)

    def route_time_at(self, edge_index: int, pos_m: float, on_junction: bool) -> float:
        """Seconds of priority driving from departure to this SUMO position (tracker's scale)."""
        start, tt, a, b = self.progress[min(edge_index, len(self.progress) - 1)]
        if on_junction:
            return start + tt
        share = 0.0 if b <= a else min(1.0, max(0.0, (pos_m - a) / (b - a)))
        return start + share * tt


def lay_trip(net: SumoNetwork, unit_id: str, kind: str, severity: int, route: Route) -> UnitTrip:
    """Map a coordinator route to SUMO edges, start and end positions and the progress table."""
    segs = route.segments
    edges = route_edges(net, [(s.u, s.v) for s in segs])
    if len(edges) != len(segs):
        raise ValueError("route repeats an edge; cannot lay it on SUMO")
    progress: list[tuple[float, float, float, float]] = []
    clock = 0.0
    idx = net.network.graph
    for i, s in enumerate(segs):
        full = idx.edges[s.u, s.v]["length_m"]
        sumo_len = net.edge_length_m[edges[i]]
        share = min(1.0, s.length_m / full) if full > 0 else 1.0
        # The first edge is driven from part-way along to its end, the last from its start to
        # part-way (a trip along one edge is laid from its start: the same length driven).
        if i == 0 and len(segs) > 1:
            a, b = sumo_len * (1 - share), sumo_len
        elif i == len(segs) - 1:
            a, b = 0.0, sumo_len * share
        else:
            a, b = 0.0, sumo_len
        progress.append((clock, s.travel_time_s, a, b))
        clock += s.travel_time_s
    approach_index = {}
    for sig in route.signals:
        u, v = sig.approach_edge
        approach_index[sig.signal_id] = next(i for i, s in enumerate(segs) if (s.u, s.v) == (u, v))
    depart = max(0.0, min(progress[0][2], net.edge_length_m[edges[0]] - 1.0))
    arrival = max(1.0, progress[-1][3])
    return UnitTrip(unit_id, kind, severity, route, edges, depart, arrival, progress, approach_index)


@dataclass
class RunResult:
    mode: Mode
    seed: int
    depart_s: float  # simulation time the unit left
    end_s: float
    unit_time_s: float | None = None  # None when the unit had not arrived by end_s
    arrivals: dict[str, float] = field(default_factory=dict)  # background vehicle -> arrival time
    # signal -> halted vehicle-seconds on its approaches, cumulative at each second of the run
    halting: dict[str, list[float]] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)  # green wave: answer status counts
    refusals: list[str] = field(default_factory=list)
    teleports: int = 0
    peak_vehicles: int = 0  # most vehicles on the district's roads at once
    begin_s: float = 0.0  # simulation time the run started (the warm-up's end when loaded from it)
    conflicting_greens: int = 0  # steps where a corridor junction showed two conflicting greens

    def halting_until(self, t: float) -> dict[str, float]:
        """Halted vehicle-seconds per signal from the start to simulation time `t`."""
        k = int(round((t - self.begin_s) / STEP_S)) - 1
        return {sid: (h[min(k, len(h) - 1)] if h and k >= 0 else 0.0) for sid, h in self.halting.items()}


def _sumo_command(net: SumoNetwork, seed: int) -> list[str]:
    return ["sumo", "-n", str(net.net_file), "--seed", str(seed), "--step-length", str(STEP_S),
            "--no-step-log", "true", "--no-warnings", "true", "--time-to-teleport", "300",
            "--collision.action", "warn"]


def run(net: SumoNetwork, trip: UnitTrip, mode: Mode, vtypes: Path, trips: Path | None, seed: int,
        epoch: float, depart_s: float, end_s: float, settings: CorridorSettings | None = None,
        settle_s: float | None = None, warm: Path | None = None) -> RunResult:
    """One simulation from 0 to `end_s`; the unit leaves at `depart_s` (except in mode `none`).

    With `settle_s`, the run stops that long after the unit arrived (the queues it left behind have
    cleared by then); `end_s` records where it stopped, for pairing with the run without it. With
    `warm`, the run starts from that saved warm-up state instead of an empty district."""
    # One simulation loop with its set-up and tear-down around it (libsumo is process-global).
    settings = settings or CorridorSettings()
    cmd = _sumo_command(net, seed) + ["-a", str(vtypes), "--end", str(end_s)]
    if trips is not None and mode is not Mode.FREE_FLOW:
        cmd += ["-r", str(trips)]
        if warm is not None:
            cmd += ["--load-state", str(warm)]
    libsumo.start(cmd)
    result = RunResult(mode, seed, depart_s, end_s, begin_s=libsumo.simulation.getTime())
    gateway: SumoSignalGateway | None = None
    try:
        if mode is Mode.FREE_FLOW:
            for tls in libsumo.trafficlight.getIDList():  # every signal green for the unit
                n = len(libsumo.trafficlight.getRedYellowGreenState(tls))
                libsumo.trafficlight.setRedYellowGreenState(tls, "G" * n)
        else:
            gateway = SumoSignalGateway(libsumo, net.plans, net.approach_of_edge, epoch,
                                        max_hold_s=settings.max_hold_s)
        corridor_signals = [s.signal_id for s in trip.route.signals if s.signal_id in net.plans]
        lanes = {sid: sorted(set(libsumo.trafficlight.getControlledLanes(sid))) for sid in corridor_signals}
        result.halting = {sid: [] for sid in corridor_signals}
        if mode is not Mode.NONE:
            libsumo.route.add("unit-route", trip.edges)
            obeys_signals = mode in (Mode.FREE_FLOW, Mode.NO_PRIORITY)
            libsumo.vehicle.add(UNIT_VEHICLE, "unit-route", typeID=UNIT if obeys_signals else UNIT_BLUE_LIGHT,
                                depart=str(depart_s), departPos=f"{trip.depart_pos_m:.2f}",
                                arrivalPos=f"{trip.arrival_pos_m:.2f}", departLane="best", departSpeed="0")
        tracker: CorridorTracker | None = None
        left_at: float | None = None
        while libsumo.simulation.getTime() < end_s:
            libsumo.simulationStep()
            t = libsumo.simulation.getTime()
            result.teleports += libsumo.simulation.getStartingTeleportNumber()
            result.peak_vehicles = max(result.peak_vehicles, libsumo.vehicle.getIDCount())
            for vid in libsumo.simulation.getArrivedIDList():
                if vid == UNIT_VEHICLE:
                    result.unit_time_s = t - depart_s
                else:
                    result.arrivals[vid] = t
            if mode is Mode.NONE or mode is Mode.FREE_FLOW:
                pass
            elif UNIT_VEHICLE in libsumo.simulation.getDepartedIDList():
                left_at = t
            unit_on = left_at is not None and result.unit_time_s is None
            for sid, ls in lanes.items():
                halted = sum(libsumo.lane.getLastStepHaltingNumber(lane) for lane in ls)
                if unit_on and libsumo.vehicle.getLaneID(UNIT_VEHICLE) in ls and \
                        libsumo.vehicle.getSpeed(UNIT_VEHICLE) < 0.1:
                    halted -= 1  # the unit's own waiting is its trip time, not others' delay
                series = result.halting[sid]
                series.append((series[-1] if series else 0.0) + halted * STEP_S)
            if gateway is not None and mode is Mode.GREEN_WAVE:
                tracker = _follow_unit(trip, tracker, gateway, settings, epoch, depart_s, t, unit_on, result)
            if gateway is not None:
                result.conflicting_greens += _conflicts(gateway, corridor_signals)
            if settle_s is not None and result.unit_time_s is not None and \
                    t >= depart_s + result.unit_time_s + settle_s:
                break
        result.end_s = libsumo.simulation.getTime()
        if tracker is not None and not tracker.done():
            carry_out(tracker, tracker.release_all(), gateway)  # type: ignore[arg-type]
    finally:
        if gateway is not None:
            gateway.close()
        libsumo.close()
    return result


def _follow_unit(trip: UnitTrip, tracker: CorridorTracker | None, gateway: SumoSignalGateway,
                 settings: CorridorSettings, epoch: float, depart_s: float, t: float, unit_on: bool,
                 result: RunResult) -> CorridorTracker | None:
    """The coordinator's side of the green wave: request the corridor when the unit leaves, then
    follow its position, re-send drifted windows, release each signal as the unit passes it."""
    now = epoch + t
    if tracker is None:
        if not unit_on:
            return None
        corridor = plan_corridor(trip.unit_id, passages_from_route(trip.route.signals), epoch + depart_s,
                                 settings)
        tracker = CorridorTracker(corridor, trip.unit_id, trip.role,
                                  priority_from_severity(trip.severity, trip.role), settings)
        for a in carry_out(tracker, tracker.start(), gateway):
            result.answers[a.status.value] = result.answers.get(a.status.value, 0) + 1
            if a.status.value == "refused":
                result.refusals.append(f"{a.junction_id}: {a.reason.value}")
        return tracker
    if not unit_on:
        if not tracker.done():
            carry_out(tracker, tracker.release_all(), gateway)
        return tracker
    index = libsumo.vehicle.getRouteIndex(UNIT_VEHICLE)
    on_junction = libsumo.vehicle.getRoadID(UNIT_VEHICLE).startswith(":")
    for sid, i in trip.approach_index.items():
        if index > i or (index == i and on_junction):
            carry_out(tracker, tracker.on_passed(sid), gateway)
    route_time = trip.route_time_at(index, libsumo.vehicle.getLanePosition(UNIT_VEHICLE), on_junction)
    for a in carry_out(tracker, tracker.on_progress(now, route_time), gateway):
        if a.status.value == "refused" and f"{a.junction_id}: {a.reason.value}" not in result.refusals:
            result.refusals.append(f"{a.junction_id}: {a.reason.value}")
    return tracker


def _conflicts(gateway: SumoSignalGateway, signals: list[str]) -> int:
    """1 when any corridor junction shows green on two approaches its plan keeps apart."""
    for sid in signals:
        j = gateway.junctions.get(sid)
        if j is None:
            continue
        greens = [a for a, s in gateway.approach_states(sid).items() if s == "green"]
        if any(j.plan.conflicts(a, b) for i, a in enumerate(greens) for b in greens[i + 1:]):
            return 1
    return 0


def warm_up(net: SumoNetwork, trips: Path, seed: int, until_s: float, out: Path) -> Path:
    """Fill the district with background traffic once and save the state: every run of this seed
    starts from it, so paired runs share their warm-up exactly and skip simulating it again. The
    signals run netconvert's default programmes meanwhile; each run's gateway puts the plans in."""
    path = out / f"warm-seed{seed}-{until_s:.0f}s.xml"
    libsumo.start(_sumo_command(net, seed) + ["-r", str(trips)])
    try:
        while libsumo.simulation.getTime() < until_s:
            libsumo.simulationStep()
        libsumo.simulation.saveState(str(path))
    finally:
        libsumo.close()
    return path
