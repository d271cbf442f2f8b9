"""Evaluating responding units' trips in SUMO: the coordinator routes each trip on the project's
network, the district around the routes becomes a SUMO network, and every trip is driven in
paired runs (same seed, same background demand, same departure) with no unit, no priority, blue
light and green wave, over several seeds and departure times, plus one free-flow run.

Paired figures: the unit's trip time per mode, and the delay the unit imposes on other traffic
(each background vehicle's arrival compared with the run without the unit; halted
vehicle-seconds on each corridor junction's approaches compared the same way)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.router import LonLat, profile_for
from greenwave.corridor import CorridorSettings
from greenwave.network_plans import plan_book_for
from routing.index import Route, RoutingIndex
from routing.network import RoadNetwork
from routing.snap import Snapper
from scenarios.sumo.network import ConversionReport, SumoNetwork, convert, district_around
from scenarios.sumo.runs import Mode, RunResult, UnitTrip, lay_trip, run, warm_up
from scenarios.sumo.traffic import background_trips, background_type_file, vehicle_types_file


@dataclass(frozen=True)
class TripSpec:
    """One unit's trip to evaluate: who, from where to where, for how severe an incident."""

    unit_id: str
    kind: str
    origin: LonLat
    destination: LonLat
    severity: int = 4
    label: str = ""
    depart_at: float | None = None  # absolute time the unit leaves; None: the settings' epoch

    def epoch(self, settings: EvaluationSettings) -> float:
        """Absolute time of simulation time 0, so that the first departure is the trip's own."""
        return settings.epoch if self.depart_at is None else self.depart_at - settings.warmup_s


@dataclass(frozen=True)
class EvaluationSettings:
    level: str = "medium"
    seeds: tuple[int, ...] = (1, 2, 3)
    # Seconds after the warm-up the unit leaves: different moments of the signal cycles.
    depart_offsets_s: tuple[float, ...] = (0.0, 37.0, 74.0)
    warmup_s: float = 600.0
    margin_m: float = 400.0
    settle_s: float = 180.0  # runs go on this long after the unit arrived: its wake clears
    epoch: float = 1_795_600_800.0  # absolute time of simulation time 0 (scenario start)
    corridor: CorridorSettings = field(default_factory=CorridorSettings)


@dataclass
class OthersDelay:
    net_s: float = 0.0  # extra vehicle-seconds in the district, all vehicles (gains count negative)
    delayed: int = 0  # vehicles that arrived a second or more later
    delayed_s: float = 0.0  # and how much later, together
    gained: int = 0  # vehicles that arrived a second or more earlier


@dataclass
class PairedRun:
    """One seed and departure time: the run without the unit and the unit's three modes."""

    seed: int
    offset_s: float
    runs: dict[Mode, RunResult]

    def unit_time(self, mode: Mode) -> float | None:
        return self.runs[mode].unit_time_s

    def others_delay(self, mode: Mode) -> OthersDelay:
        """What the unit did to other traffic, against the run without the unit: each background
        vehicle's arrival (or the end of the run) compared."""
        base, with_unit = self.runs[Mode.NONE], self.runs[mode]
        end = with_unit.end_s  # the run without the unit went on at least as long
        out = OthersDelay()
        for vid in set(base.arrivals) | set(with_unit.arrivals):
            d = min(with_unit.arrivals.get(vid, end), end) - min(base.arrivals.get(vid, end), end)
            out.net_s += d
            if d >= 1.0:
                out.delayed += 1
                out.delayed_s += d
            elif d <= -1.0:
                out.gained += 1
        return out

    def junction_delay(self, mode: Mode) -> dict[str, float]:
        with_unit = self.runs[mode]
        base = self.runs[Mode.NONE].halting_until(with_unit.end_s)
        return {sid: h - base.get(sid, 0.0) for sid, h in with_unit.halting_until(with_unit.end_s).items()}


@dataclass
class TripEvaluation:
    spec: TripSpec
    trip: UnitTrip
    free_flow_s: float | None
    pairs: list[PairedRun]
    district_junctions: int
    conversion: ConversionReport
    background_vehicles: dict[int, int]  # seed -> vehicles inserted over the longest run

    def times(self, mode: Mode) -> list[float]:
        return [t for p in self.pairs if (t := p.unit_time(mode)) is not None]

    def mean(self, mode: Mode) -> float | None:
        ts = self.times(mode)
        return statistics.fmean(ts) if ts else None

    def not_arrived(self, mode: Mode) -> int:
        return sum(p.unit_time(mode) is None for p in self.pairs)

    def paired_saving(self, better: Mode, than: Mode) -> float | None:
        """Mean over pairs of the share of trip time `better` saves against `than`."""
        shares = [1 - b / t for p in self.pairs
                  if (b := p.unit_time(better)) is not None and (t := p.unit_time(than))]
        return statistics.fmean(shares) if shares else None

    def junction_delays(self, mode: Mode) -> dict[str, float]:
        """Mean extra halted vehicle-seconds per corridor junction over the pairs."""
        sums: dict[str, list[float]] = {}
        for p in self.pairs:
            for sid, d in p.junction_delay(mode).items():
                sums.setdefault(sid, []).append(d)
        return {sid: statistics.fmean(v) for sid, v in sums.items()}


@dataclass
class Evaluation:
    settings: EvaluationSettings
    network_name: str
    trips: list[TripEvaluation]


Progress = Callable[[str], None]


def plan_trips(network: RoadNetwork, specs: Sequence[TripSpec],
               index: RoutingIndex | None = None) -> list[tuple[TripSpec, Route]]:
    """The coordinator's routes for the trips, on the full network (as dispatch plans them)."""
    index = index or RoutingIndex.build(network)
    snapper = Snapper(network)
    out = []
    for spec in specs:
        a, b = snapper.snap(*spec.origin), snapper.snap(*spec.destination)
        out.append((spec, index.route(a, b, profile_for(spec.kind))))
    return out


def evaluate(network: RoadNetwork, specs: Sequence[TripSpec], out: Path,
             settings: EvaluationSettings | None = None, index: RoutingIndex | None = None,
             progress: Progress | None = None) -> Evaluation:
    """Every trip in its own corridor district (SUMO's cost grows with the district's roads, and
    a unit's effect reaches only so far), each with its own seeded background demand."""
    settings = settings or EvaluationSettings()
    say = progress or (lambda _: None)
    out.mkdir(parents=True, exist_ok=True)
    routed = plan_trips(network, specs, index)
    plans = plan_book_for(network.graph).all()
    evaluations = []
    for n, (spec, route) in enumerate(routed):
        folder = out / f"trip-{n + 1}-{spec.unit_id}"
        district = district_around(network, [route.geometry], settings.margin_m)
        net: SumoNetwork = convert(district, plans, folder)
        say(f"{spec.unit_id}: SUMO district of {district.node_count} junctions; {net.report.lines()[0]}")
        trip = lay_trip(net, spec.unit_id, spec.kind, spec.severity, route)
        horizon = max(3 * route.eta_s, route.eta_s + 300.0)
        end_all = settings.warmup_s + max(settings.depart_offsets_s) + horizon
        types = background_type_file(folder)
        demand = {seed: background_trips(net.net_file, types, folder, settings.level, seed, end_all)
                  for seed in settings.seeds}
        vtypes = vehicle_types_file(folder, spec.kind)
        depart = settings.warmup_s
        epoch = spec.epoch(settings)
        free = run(net, trip, Mode.FREE_FLOW, vtypes, None, settings.seeds[0], epoch, depart,
                   depart + horizon, settings.corridor, settle_s=0.0)
        pairs = []
        for seed in settings.seeds:
            warm = warm_up(net, demand[seed], seed, settings.warmup_s, folder)
            for offset in settings.depart_offsets_s:
                depart = settings.warmup_s + offset
                end = depart + horizon
                runs = {mode: run(net, trip, mode, vtypes, demand[seed], seed, epoch, depart, end,
                                  settings.corridor, settings.settle_s, warm)
                        for mode in (Mode.NO_PRIORITY, Mode.BLUE_LIGHT, Mode.GREEN_WAVE)}
                # Without the unit, as long as the longest of its runs: every pairing finds its end.
                longest = max(r.end_s for r in runs.values())
                runs[Mode.NONE] = run(net, trip, Mode.NONE, vtypes, demand[seed], seed, epoch,
                                      depart, longest, settings.corridor, warm=warm)
                pairs.append(PairedRun(seed, offset, runs))
                say(f"{spec.unit_id} seed {seed} +{offset:.0f}s: " + ", ".join(
                    f"{m.value} {runs[m].unit_time_s}" for m in (Mode.NO_PRIORITY, Mode.BLUE_LIGHT,
                                                                 Mode.GREEN_WAVE)))
        vehicles = {seed: _count_trips(path) for seed, path in demand.items()}
        evaluations.append(TripEvaluation(spec, trip, free.unit_time_s, pairs, district.node_count,
                                          net.report, vehicles))
    return Evaluation(settings, network.name, evaluations)


def _count_trips(path: Path) -> int:
    return path.read_text().count("<vehicle ")
