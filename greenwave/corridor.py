"""Corridor planning: from the signals a unit's route crosses to the ordered corridor of priority
windows, each with its approach, the unit's ETA with priority and the window around it, plus the
ETA saved by the green wave (the red waiting it removes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from greenwave.signal_plan import SignalPlan


class PassageLike(Protocol):
    """What a route tells us about one signal it crosses (dispatch's SignalPassage fits)."""

    @property
    def signal_id(self) -> str: ...
    @property
    def approach(self) -> str: ...
    @property
    def eta_s(self) -> float: ...  # seconds from departure to the stop line, with red waiting
    @property
    def expected_delay_s(self) -> float: ...


@dataclass(frozen=True)
class SignalPassage:
    signal_id: str
    approach: str
    eta_s: float
    expected_delay_s: float


class RouteSignalLike(Protocol):
    """The routing package's SignalOnRoute, which names the approach by its incoming edge."""

    @property
    def signal_id(self) -> str: ...
    @property
    def approach_edge(self) -> tuple[int, int]: ...
    @property
    def eta_s(self) -> float: ...
    @property
    def expected_delay_s(self) -> float: ...


def approach_name(edge: tuple[int, int]) -> str:
    """The approach id used on the wire and in plans for an incoming road-graph edge u->v."""
    return f"{edge[0]}->{edge[1]}"


def passages_from_route(signals: Iterable[RouteSignalLike]) -> list[SignalPassage]:
    return [SignalPassage(s.signal_id, approach_name(s.approach_edge), s.eta_s, s.expected_delay_s)
            for s in signals]


def passages_with_plan_delays(passages: Iterable[PassageLike],
                              plans: Mapping[str, SignalPlan]) -> list[SignalPassage]:
    """Replace each passage's delay with the expected red waiting from its junction's plan."""
    out = []
    for p in passages:
        plan = plans.get(p.signal_id)
        delay = plan.expected_red_wait_s(p.approach) if plan and p.approach in plan.approaches else \
            p.expected_delay_s
        out.append(SignalPassage(p.signal_id, p.approach, p.eta_s, delay))
    return out


@dataclass(frozen=True)
class CorridorSettings:
    lead_s: float = 15.0  # green must be on this long before the unit's ETA (ETA uncertainty)
    clearance_s: float = 5.0  # and stay on this long after it
    max_hold_s: float = 60.0  # safety maximum: no signal is held for priority longer than this
    drift_threshold_s: float = 5.0  # re-send a window when the ETA moved more than this

    def __post_init__(self) -> None:
        if self.lead_s < 0 or self.clearance_s < 0:
            raise ValueError("lead_s and clearance_s must not be negative")
        if self.lead_s + self.clearance_s > self.max_hold_s:
            raise ValueError("lead_s + clearance_s exceeds max_hold_s: every window would be refused")


@dataclass(frozen=True)
class CorridorSignal:
    order: int
    signal_id: str
    approach: str
    eta_without_s: float  # absolute time the unit would reach the stop line without priority
    eta_s: float  # absolute time it reaches the stop line with priority
    window_start: float
    window_end: float
    expected_delay_s: float  # red waiting the green wave removes here

    @property
    def duration_s(self) -> float:
        return self.window_end - self.window_start


@dataclass(frozen=True)
class Corridor:
    unit_id: str
    departure: float
    signals: tuple[CorridorSignal, ...]

    @property
    def eta_saved_s(self) -> float:
        return sum(s.expected_delay_s for s in self.signals)

    def signal(self, signal_id: str) -> CorridorSignal:
        for s in self.signals:
            if s.signal_id == signal_id:
                return s
        raise KeyError(signal_id)


def plan_corridor(unit_id: str, passages: Iterable[PassageLike], departure: float,
                  settings: CorridorSettings | None = None) -> Corridor:
    """The ordered corridor for a unit leaving at `departure` (absolute seconds).

    A passage's eta_s includes the red waiting at every signal before it; with priority that
    waiting is gone, so the ETA with priority is eta_s minus the delays of the earlier signals."""
    settings = settings or CorridorSettings()
    ordered = sorted(passages, key=lambda p: p.eta_s)
    out: list[CorridorSignal] = []
    saved_before = 0.0
    for i, p in enumerate(ordered):
        eta = departure + p.eta_s - saved_before
        out.append(CorridorSignal(i, p.signal_id, p.approach, departure + p.eta_s, eta,
                                  eta - settings.lead_s, eta + settings.clearance_s,
                                  max(0.0, p.expected_delay_s)))
        saved_before += max(0.0, p.expected_delay_s)
    return Corridor(unit_id, departure, tuple(out))
