"""Arbitration at one junction: which priority windows are served as asked, which are moved later
(queued, with a revised window) and which are refused. Higher priority first, then earlier ETA;
conflicting approaches never get overlapping green (with the clearance between them); no approach
is held for priority beyond the safety maximum. Pure: windows in, decisions out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from greenwave.messages import AnswerStatus, Reason
from greenwave.signal_plan import SignalPlan


@dataclass(frozen=True)
class WindowRequest:
    request_id: str
    approach: str
    priority_level: int
    eta: float
    window_start: float
    window_end: float
    locked: bool = False  # already being served: it keeps its window whatever arrives later


@dataclass(frozen=True)
class JunctionRules:
    conflicts: Callable[[str, str], bool]
    min_serve_s: float  # a green, once on, runs at least this long (min green, ped clearance)
    clearance_s: float  # yellow + all-red between two conflicting greens
    max_hold_s: float = 60.0
    max_shift_s: float = 90.0  # a window moved further than this no longer helps the unit

    @classmethod
    def from_plan(cls, plan: SignalPlan, max_hold_s: float = 60.0,
                  max_shift_s: float = 90.0) -> JunctionRules:
        return cls(plan.conflicts, plan.min_serve_s, plan.max_clearance_s, max_hold_s, max_shift_s)


@dataclass(frozen=True)
class Decision:
    request_id: str
    approach: str
    status: AnswerStatus
    reason: Reason
    window_start: float | None
    window_end: float | None
    blocked_by: str | None = None


def _rank(r: WindowRequest) -> tuple[bool, int, float, str]:
    return (not r.locked, -r.priority_level, r.eta, r.request_id)


def occupancy(start: float, end: float, rules: JunctionRules) -> tuple[float, float]:
    """The span a window keeps its approach green: a green once on runs at least min_serve_s."""
    return start, max(end, start + rules.min_serve_s)


def _compatible_hold(start: float, end: float, approach: str, placed: list[Decision],
                     rules: JunctionRules) -> float:
    """Length of the continuous priority hold the window joins, with every compatible window it touches."""
    spans = sorted([(start, end)] + [(d.window_start, d.window_end) for d in placed
                                     if d.window_start is not None and d.window_end is not None
                                     and not rules.conflicts(approach, d.approach)])
    lo, hi = start, end
    changed = True
    while changed:
        changed = False
        for s, e in spans:
            if s <= hi and e >= lo and (s < lo or e > hi):
                lo, hi = min(lo, s), max(hi, e)
                changed = True
    return hi - lo


def arbitrate(requests: Iterable[WindowRequest], rules: JunctionRules) -> list[Decision]:
    """Decide every request at one junction, in rank order; returns decisions in the same order."""
    reqs = list(requests)
    placed: list[Decision] = []
    decided: dict[str, Decision] = {}
    for r in sorted(reqs, key=_rank):
        duration = r.window_end - r.window_start
        if duration > rules.max_hold_s:
            decided[r.request_id] = Decision(r.request_id, r.approach, AnswerStatus.REFUSED,
                                             Reason.HOLD_LIMIT, None, None)
            continue
        start, blocker = r.window_start, None
        moved = True
        while moved and not r.locked:
            moved = False
            lo, hi = occupancy(start, start + duration, rules)
            for d in placed:
                if d.window_start is None or d.window_end is None:
                    continue
                if not rules.conflicts(r.approach, d.approach):
                    continue
                plo, phi = occupancy(d.window_start, d.window_end, rules)
                if lo < phi + rules.clearance_s and plo < hi + rules.clearance_s:
                    start, blocker, moved = phi + rules.clearance_s, d, True
                    break
        if start - r.window_start > rules.max_shift_s:
            decided[r.request_id] = Decision(r.request_id, r.approach, AnswerStatus.REFUSED, Reason.TOO_LATE,
                                             None, None, blocker.request_id if blocker else None)
            continue
        # Keep the asked end exactly when not moved: start + duration can differ by rounding.
        end = r.window_end if start == r.window_start else start + duration
        if _compatible_hold(start, end, r.approach, placed, rules) > rules.max_hold_s:
            decided[r.request_id] = Decision(r.request_id, r.approach, AnswerStatus.REFUSED,
                                             Reason.HOLD_LIMIT, None, None)
            continue
        if blocker is None:
            d = Decision(r.request_id, r.approach, AnswerStatus.GRANTED, Reason.SERVED, start, end)
        else:
            by = next(x for x in reqs if x.request_id == blocker.request_id)
            reason = Reason.LOST_TO_HIGHER_PRIORITY if by.priority_level > r.priority_level \
                else Reason.LOST_TO_EARLIER_ETA
            d = Decision(r.request_id, r.approach, AnswerStatus.QUEUED, reason, start, end,
                         blocker.request_id)
        placed.append(d)
        decided[r.request_id] = d
    return [decided[r.request_id] for r in reqs]
