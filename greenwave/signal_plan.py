"""Signal plans: the fixed-time cycle of each signalised junction (phases, which approaches each
phase serves, green / yellow / all-red, minimum green, pedestrian clearance), defaults by road
class, district files that override them, and the expected red waiting an approach sees."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml


class Interval(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    ALL_RED = "all_red"


@dataclass(frozen=True)
class Phase:
    """One phase of the cycle: the approaches it serves and how long each interval lasts."""

    approaches: frozenset[str]
    green_s: float
    yellow_s: float = 3.0
    all_red_s: float = 2.0

    @property
    def clearance_s(self) -> float:
        return self.yellow_s + self.all_red_s

    @property
    def length_s(self) -> float:
        return self.green_s + self.yellow_s + self.all_red_s


@dataclass(frozen=True)
class PlanPosition:
    """Where the plan stands at one moment: phase index, interval, and when that interval ends."""

    phase_index: int
    interval: Interval
    interval_start: float
    interval_end: float


class PlanError(ValueError):
    pass


@dataclass(frozen=True)
class SignalPlan:
    """A fixed-time plan. `offset_s` places the start of phase 0 in absolute time (coordination)."""

    signal_id: str
    phases: tuple[Phase, ...]
    min_green_s: float = 7.0
    ped_clearance_s: float = 12.0
    offset_s: float = 0.0

    def __post_init__(self) -> None:
        if len(self.phases) < 2:
            raise PlanError(f"{self.signal_id}: a plan needs at least two phases")
        for i, ph in enumerate(self.phases):
            if ph.green_s < self.min_green_s:
                raise PlanError(f"{self.signal_id}.phases[{i}].green_s: below the minimum green")
            if not ph.approaches:
                raise PlanError(f"{self.signal_id}.phases[{i}].approaches: serves no approach")

    @functools.cached_property
    def cycle_s(self) -> float:  # asked on every controller step: worked out once
        return sum(p.length_s for p in self.phases)

    @property
    def approaches(self) -> frozenset[str]:
        return frozenset().union(*(p.approaches for p in self.phases))

    @property
    def min_serve_s(self) -> float:
        # Pedestrians who started crossing on this phase's walk must be able to finish, so a phase
        # once started may not be cut before both the minimum green and the ped clearance.
        return max(self.min_green_s, self.ped_clearance_s)

    @property
    def max_clearance_s(self) -> float:
        return max(p.clearance_s for p in self.phases)

    def phases_serving(self, approach: str) -> list[int]:
        return [i for i, p in enumerate(self.phases) if approach in p.approaches]

    def conflicts(self, a: str, b: str) -> bool:
        """Two approaches conflict when no phase gives both of them green together."""
        return not any(a in p.approaches and b in p.approaches for p in self.phases)

    def position_at(self, t: float) -> PlanPosition:
        cycle = self.cycle_s
        cycle_start = self.offset_s + math.floor((t - self.offset_s) / cycle) * cycle
        start = cycle_start
        for i, ph in enumerate(self.phases):
            for interval, length in ((Interval.GREEN, ph.green_s), (Interval.YELLOW, ph.yellow_s),
                                     (Interval.ALL_RED, ph.all_red_s)):
                if length > 0 and t < start + length:
                    return PlanPosition(i, interval, start, start + length)
                start += length
        # Floating-point rounding can leave t a hair past the last interval: it is the next cycle.
        return PlanPosition(0, Interval.GREEN, start, start + self.phases[0].green_s)

    def green_starts(self, phase_index: int, after: float) -> tuple[float, float]:
        """The first plan green of `phase_index` that ends after `after`: (start, end)."""
        cycle = self.cycle_s
        into = sum(p.length_s for p in self.phases[:phase_index])
        k = math.floor((after - self.offset_s - into) / cycle)
        while True:
            start = self.offset_s + into + k * cycle
            end = start + self.phases[phase_index].green_s
            if end > after:
                return start, end
            k += 1

    def green_intervals(self, approach: str) -> list[tuple[float, float]]:
        """Green intervals for an approach within one cycle, relative to the cycle start, merged."""
        out: list[tuple[float, float]] = []
        start = 0.0
        for ph in self.phases:
            if approach in ph.approaches:
                if out and abs(out[-1][1] - start) < 1e-9:
                    out[-1] = (out[-1][0], start + ph.green_s)
                else:
                    out.append((start, start + ph.green_s))
            start += ph.length_s
        # A green running at the end of the cycle and one at its start are one green.
        if len(out) > 1 and out[0][0] == 0.0 and abs(out[-1][1] - self.cycle_s) < 1e-9:
            first = out.pop(0)
            out[-1] = (out[-1][0], self.cycle_s + first[1])
        return out

    def expected_red_wait_s(self, approach: str) -> float:
        """Mean wait of a vehicle arriving at a uniformly random moment of the cycle.

        For each red of length r the arrival falls in it with probability r/C and waits r/2 on
        average, so the expectation is sum(r^2) / (2C)."""
        greens = self.green_intervals(approach)
        if not greens:
            raise PlanError(f"{self.signal_id}: approach {approach!r} is never served")
        cycle = self.cycle_s
        reds = []
        for (_, end), (nxt, _) in zip(greens, greens[1:] + [(greens[0][0] + cycle, 0.0)], strict=True):
            reds.append(nxt - end)
        return sum(r * r for r in reds) / (2 * cycle)

    def red_wait_at_s(self, approach: str, t: float) -> float:
        """How long a vehicle arriving at `t` would wait for green on the plan (0 if green)."""
        best = math.inf
        for i in self.phases_serving(approach):
            start, _ = self.green_starts(i, t)
            best = min(best, max(0.0, start - t))
        return best


@dataclass(frozen=True)
class RoadClassDefaults:
    cycle_s: float
    main_share: float  # share of the green time that goes to the main road's phase
    min_green_s: float
    ped_clearance_s: float
    yellow_s: float = 3.0
    all_red_s: float = 2.0


# Typical urban fixed-time values: bigger roads run longer cycles and wider crossings need more
# pedestrian clearance. These are the fallback when the district file has nothing for a junction.
ROAD_CLASS_DEFAULTS: dict[str, RoadClassDefaults] = {
    "primary": RoadClassDefaults(cycle_s=120, main_share=0.6, min_green_s=10, ped_clearance_s=18),
    "secondary": RoadClassDefaults(cycle_s=90, main_share=0.55, min_green_s=8, ped_clearance_s=14),
    "tertiary": RoadClassDefaults(cycle_s=70, main_share=0.5, min_green_s=7, ped_clearance_s=12),
    "residential": RoadClassDefaults(cycle_s=60, main_share=0.5, min_green_s=6, ped_clearance_s=10),
}


def default_plan(signal_id: str, phase_groups: Sequence[Iterable[str]], road_class: str = "secondary",
                 offset_s: float = 0.0) -> SignalPlan:
    """A plan from road-class defaults; the first group is the main road and gets the larger share."""
    d = ROAD_CLASS_DEFAULTS.get(road_class, ROAD_CLASS_DEFAULTS["secondary"])
    groups = [frozenset(g) for g in phase_groups if g]
    if len(groups) < 2:
        raise PlanError(f"{signal_id}: need at least two approach groups to make phases")
    lost = len(groups) * (d.yellow_s + d.all_red_s)
    green_total = d.cycle_s - lost
    shares = [d.main_share] + [(1 - d.main_share) / (len(groups) - 1)] * (len(groups) - 1)
    phases = tuple(Phase(g, max(d.min_green_s, round(green_total * s, 1)), d.yellow_s, d.all_red_s)
                   for g, s in zip(groups, shares, strict=True))
    return SignalPlan(signal_id, phases, d.min_green_s, d.ped_clearance_s,
                      offset_s % sum(p.length_s for p in phases))


def group_by_bearing(bearings: Mapping[str, float]) -> list[list[str]]:
    """Split approaches into two phase groups by axis: opposite approaches share a phase.

    Bearings in degrees; approaches within 45 degrees of the first approach's axis go together."""
    names = list(bearings)
    if not names:
        return []
    axis = bearings[names[0]] % 180
    main: list[str] = []
    cross: list[str] = []
    for n in names:
        diff = abs((bearings[n] % 180) - axis)
        (main if min(diff, 180 - diff) < 45 else cross).append(n)
    return [main, cross] if cross else [main[:1], main[1:]] if len(main) > 1 else [main]


def plan_from_dict(signal_id: str, body: Mapping[str, Any]) -> SignalPlan:
    where = f"signals.{signal_id}"
    try:
        phases = tuple(
            Phase(frozenset(str(a) for a in ph["approaches"]), float(ph["green_s"]),
                  float(ph.get("yellow_s", 3.0)), float(ph.get("all_red_s", 2.0)))
            for ph in body["phases"])
    except (KeyError, TypeError, ValueError) as e:
        raise PlanError(f"{where}.phases: each phase needs approaches and green_s ({e})") from e
    return SignalPlan(signal_id, phases, float(body.get("min_green_s", 7.0)),
                      float(body.get("ped_clearance_s", 12.0)), float(body.get("offset_s", 0.0)))


def load_district_plans(path: Path) -> dict[str, SignalPlan]:
    """Read a district file (YAML or JSON): `signals: {<id>: {phases: [...], min_green_s, ...}}`."""
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("signals"), dict):
        raise PlanError(f"{path}: expected a mapping with a 'signals' mapping")
    return {str(sid): plan_from_dict(str(sid), body) for sid, body in data["signals"].items()}


class SignalPlanBook:
    """The plans of a district: from its file where given, otherwise from road-class defaults."""

    def __init__(self, district: Mapping[str, SignalPlan] | None = None) -> None:
        self._plans: dict[str, SignalPlan] = dict(district or {})

    @classmethod
    def from_file(cls, path: Path | None) -> SignalPlanBook:
        return cls(load_district_plans(path) if path else None)

    def plan_for(self, signal_id: str, phase_groups: Sequence[Iterable[str]] = (),
                 road_class: str = "secondary", offset_s: float = 0.0) -> SignalPlan:
        """The district's plan, or a default one (starting its cycle at `offset_s` modulo it)."""
        plan = self._plans.get(signal_id)
        if plan is None:
            plan = default_plan(signal_id, phase_groups, road_class, offset_s)
            self._plans[signal_id] = plan
        return plan

    def add(self, plan: SignalPlan) -> None:
        self._plans[plan.signal_id] = plan

    def __contains__(self, signal_id: object) -> bool:
        return signal_id in self._plans

    def __getitem__(self, signal_id: str) -> SignalPlan:
        return self._plans[signal_id]

    def all(self) -> dict[str, SignalPlan]:
        return dict(self._plans)
