"""An in-process fixed-time signal controller with priority preemption, one per junction.

It runs each junction's plan; a priority window is served by cutting the running phase no earlier
than its minimum green and pedestrian clearance, going through yellow and all-red, and holding the
requested approach green through the window (never longer than the safety maximum). A window for
the approach already green that this green cannot reach within that maximum is served by leaving
early, giving another phase its minimum and coming back with a fresh green. Afterwards it
goes straight to the phase the plan is running at that moment, so it is back in step with the plan
within one phase. Time comes from an injected clock, so replays are exact."""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace

from greenwave.arbitration import Decision, JunctionRules, WindowRequest, arbitrate
from greenwave.gateway import SecondsClock
from greenwave.messages import (
    AnswerStatus,
    ApproachState,
    PriorityAnswer,
    PriorityRequest,
    Reason,
    RequestType,
    SignalStatus,
    refused,
)
from greenwave.signal_plan import Interval, SignalPlan

EPS = 1e-6


@dataclass(frozen=True)
class IntervalRecord:
    start: float
    phase_index: int
    interval: Interval
    preempted: bool


def _answer(d: Decision, junction_id: str) -> PriorityAnswer:
    return PriorityAnswer(request_id=d.request_id, junction_id=junction_id, status=d.status, reason=d.reason,
                          window_start=d.window_start, window_end=d.window_end,
                          detail=f"after {d.blocked_by}" if d.blocked_by else "")


class JunctionController:
    """One junction: its plan, the interval it is in, and the priority windows it has placed."""

    def __init__(self, plan: SignalPlan, start: float, max_hold_s: float = 60.0, max_shift_s: float = 90.0,
                 history: int = 5000) -> None:
        self.plan = plan
        # Arbitration plans holds short enough that a green which came on early (when a window was
        # too close to serve another phase first) still ends within the hard cap applied below.
        early = plan.min_serve_s + plan.max_clearance_s
        self.rules = JunctionRules.from_plan(plan, max(max_hold_s - early, plan.min_serve_s), max_shift_s)
        self.max_hold_s = max_hold_s
        pos = plan.position_at(start)
        self.phase = pos.phase_index
        self.interval = pos.interval
        self.interval_start = pos.interval_start
        # Green entered at the plan's own start: a controller that starts in step with its plan.
        self.green_entered = pos.interval_start if pos.interval is Interval.GREEN else start
        self.next_phase: int | None = None
        self.priority_green = False
        self.t = start
        self.requests: dict[str, PriorityRequest] = {}
        self.decisions: dict[str, Decision] = {}
        self.arrivals: dict[str, float] = {}  # request id -> when its unit meets the junction
        self.history: deque[IntervalRecord] = deque(maxlen=history)
        self.history.append(IntervalRecord(self.interval_start, self.phase, self.interval, False))

    # --- the priority windows the controller must serve -------------------------------------------------

    def _calls(self, ending_after: float) -> list[Decision]:
        return sorted((d for d in self.decisions.values()
                       if d.status in (AnswerStatus.GRANTED, AnswerStatus.QUEUED)
                       and d.window_end is not None and d.window_end > ending_after),
                      key=lambda d: d.window_start or 0.0)

    def _phase_for(self, approach: str) -> int:
        serving = self.plan.phases_serving(approach)
        return serving[0]

    def _detour_for(self, approach: str) -> int | None:
        """The first phase after the running one, in plan order, that does not serve `approach`."""
        n = len(self.plan.phases)
        return next(((self.phase + k) % n for k in range(1, n)
                     if approach not in self.plan.phases[(self.phase + k) % n].approaches), None)

    # --- interval timing ---------------------------------------------------------------------------------

    def _green_end(self) -> tuple[float, int | None]:
        """When the running green ends and, if it is cut for a priority call, the phase to go to."""
        ph = self.plan.phases[self.phase]
        floor = self.green_entered + self.plan.min_serve_s
        # Windows that ended during this green still count: the green's end is decided by what it
        # was serving, and recomputing it later must not move it into the past.
        calls = self._calls(self.green_entered)
        base = self._plan_extension(floor)  # what the plan alone would give this green
        end = base
        first_start: float | None = None
        # A window for this phase starting sooner than another phase could be served its minimum
        # and cleared again is better served by staying green than by a short detour.
        detour = ph.clearance_s + self.plan.min_serve_s + self.plan.max_clearance_s
        # Only windows this green can serve to the end within the hard cap join it; any other is
        # served by a fresh green after a change, which the cap then measures from its own start.
        cap = self.green_entered + max(self.max_hold_s, ph.green_s)
        changed = True
        while changed:  # chain compatible windows and plan greens until nothing more joins
            changed = False
            for c in calls:
                if c.approach in ph.approaches and c.window_start is not None and c.window_end is not None \
                        and c.window_start <= end + detour and c.window_end > end \
                        and c.window_end <= cap:
                    end, changed = c.window_end, True
                    first_start = c.window_start if first_start is None else min(first_start, c.window_start)
            extended = self._plan_extension(end)
            if extended > end:
                end, changed = extended, True
        if first_start is not None:
            # Safety maximum, enforced here whatever arbitration decided: no green is held by
            # priority longer than max_hold_s (or the plan's own green, if that is longer).
            end = max(base, min(end, cap))
        for c in self._calls(self.t):
            if c.window_start is None or c.window_end is None:
                continue
            if c.approach in ph.approaches:
                away = self._detour_for(c.approach)
                if c.window_end <= end or c.window_start > end + detour or away is None:
                    continue  # served by this green, or by a fresh one after the plan's own change
                # This green cannot run on to the window's end within the cap, and the window
                # starts too soon after it for the plan to come back: leave early enough to serve
                # another phase its minimum and come back fresh (the cap counting from then),
                # rather than end on the plan's time and miss the unit in the clearance.
                around = ph.clearance_s + self.plan.min_serve_s + self.plan.phases[away].clearance_s
                leave = max(c.window_start - around, floor, self.t)
                back = leave + around
                arrival = self.arrivals.get(c.request_id, c.window_end)
                # Back in time for the whole window, or at least for the unit where this green
                # ends before it arrives (when neither holds, leaving early would only cost more).
                in_time = back <= c.window_start + EPS or (end < arrival and back <= arrival + EPS)
                if leave < end and in_time:
                    return leave, away
                continue
            cut = max(floor, c.window_start - ph.clearance_s, self.t)
            if cut < end:
                return cut, self._phase_for(c.approach)
            break
        # A cancelled hold ends now, not back when the minimum green ran out.
        return max(end, self.t), None

    def _plan_extension(self, end: float) -> float:
        """Stay green to the plan's own end of this phase when the plan has (or is about to give)
        it green anyway, rather than clearing only to come back: that is how a preempted
        controller falls back in step with its plan. Never beyond the longer of the plan's green
        and the safety maximum."""
        ph = self.plan.phases[self.phase]
        plan_start, plan_end = self.plan.green_starts(self.phase, end)
        if plan_start <= end + ph.clearance_s + EPS and \
                plan_end - self.green_entered <= max(self.max_hold_s, ph.green_s) + EPS:
            return max(end, plan_end)
        return end

    def _interval_end(self) -> float:
        ph = self.plan.phases[self.phase]
        if self.interval is Interval.YELLOW:
            return self.interval_start + ph.yellow_s
        if self.interval is Interval.ALL_RED:
            return self.interval_start + ph.all_red_s
        return self._green_end()[0]

    def interval_end(self) -> float:
        """When the interval running now ends, as things stand (a new request can move it)."""
        return self._interval_end()

    def live_calls(self, now: float) -> bool:
        """True while a granted or queued window has not ended: the junction may leave its plan."""
        return bool(self._calls(now))

    def _choose_next(self, t: float) -> int:
        if self.next_phase is not None:
            return self.next_phase
        calls = self._calls(t)
        pos = self.plan.position_at(t + EPS)
        if pos.interval is Interval.GREEN and pos.phase_index != self.phase:
            planned = pos.phase_index
        elif pos.interval is Interval.GREEN:
            planned = (self.phase + 1) % len(self.plan.phases)
        else:
            planned = (pos.phase_index + 1) % len(self.plan.phases)
        if calls:
            c = calls[0]
            assert c.window_start is not None
            # Too close to serve the planned phase its minimum and still clear in time: go now.
            lead = self.plan.min_serve_s + self.plan.phases[planned].clearance_s
            if c.window_start < t + lead and c.approach not in self.plan.phases[planned].approaches:
                return self._phase_for(c.approach)
        return planned

    def _enter(self, t: float, phase: int, interval: Interval) -> None:
        self.phase, self.interval, self.interval_start = phase, interval, t
        preempted = False
        if interval is Interval.GREEN:
            self.green_entered = t
            pos = self.plan.position_at(t + EPS)
            preempted = not (pos.phase_index == phase and pos.interval is Interval.GREEN) and \
                self.plan.green_starts(phase, t)[0] - t > self.plan.max_clearance_s + EPS
            self.priority_green = preempted
        self.history.append(IntervalRecord(t, phase, interval, preempted))

    def _in_step(self) -> bool:
        pos = self.plan.position_at(self.interval_start + EPS)
        return (pos.phase_index == self.phase and pos.interval is self.interval
                and abs(pos.interval_start - self.interval_start) < 1e-3 and self.next_phase is None)

    def advance(self, now: float) -> None:
        if not self.requests and not self.decisions and now - self.t > 2 * self.plan.cycle_s \
                and self._in_step():
            # Idle and in step with its plan: the plan alone says where it is now, so the hours of
            # fixed-time cycles in between need not be stepped through one interval at a time.
            pos = self.plan.position_at(now - self.plan.cycle_s)
            self.phase, self.interval, self.interval_start = pos.phase_index, pos.interval, pos.interval_start
            self.green_entered = pos.interval_start
            self.priority_green = False
            self.t = pos.interval_start
            self.history.append(IntervalRecord(pos.interval_start, pos.phase_index, pos.interval, False))
        guard = 0
        while True:
            if self.interval is Interval.GREEN:
                end, cut_to = self._green_end()
            else:
                end, cut_to = self._interval_end(), None
            if end > now:
                break
            self.t = end
            if self.interval is Interval.GREEN:
                self.next_phase = cut_to
                self._enter(end, self.phase, Interval.YELLOW)
            elif self.interval is Interval.YELLOW:
                self._enter(end, self.phase, Interval.ALL_RED)
            else:
                nxt = self._choose_next(end)
                self.next_phase = None
                self._enter(end, nxt, Interval.GREEN)
            guard += 1
            if guard > 100_000:
                raise RuntimeError("controller failed to advance: interval lengths must be positive")
        self.t = max(self.t, now)
        # Forget requests a cycle after their window ended: the served (possibly queued, later)
        # window counts, not the one asked for.
        for rid in [rid for rid in self.requests if self._last_end(rid) < now - self.plan.cycle_s]:
            self.requests.pop(rid)
            self.decisions.pop(rid, None)
            self.arrivals.pop(rid, None)

    def _last_end(self, request_id: str) -> float:
        d = self.decisions.get(request_id)
        asked = self.requests[request_id].window_end
        return max(asked, d.window_end) if d is not None and d.window_end is not None else asked

    def fork(self) -> JunctionController:
        """A copy to run forward on trial: what advancing changes is copied, the plan and the
        (immutable) requests and decisions are shared, and the history starts at the running
        interval. A full deep copy of a busy junction's history cost a replay tens of seconds."""
        trial = copy.copy(self)
        trial.requests = dict(self.requests)
        trial.decisions = dict(self.decisions)
        trial.arrivals = dict(self.arrivals)
        trial.history = deque([IntervalRecord(self.interval_start, self.phase, self.interval,
                                              self.priority_green)], maxlen=self.history.maxlen)
        return trial

    # --- signal states -----------------------------------------------------------------------------------

    def approach_state(self, approach: str) -> str:
        if approach not in self.plan.phases[self.phase].approaches:
            return "red"
        return {Interval.GREEN: "green", Interval.YELLOW: "yellow", Interval.ALL_RED: "red"}[self.interval]

    def status(self, junction_id: str) -> SignalStatus:
        return SignalStatus(
            junction_id=junction_id, at=self.t, phase_index=self.phase, interval=self.interval.value,
            preempted=self.priority_green,
            approaches=[ApproachState(approach=a, state=self.approach_state(a))
                        for a in sorted(self.plan.approaches)],
            requests=[_answer(d, junction_id) for d in self.decisions.values()])

    # --- priority requests -------------------------------------------------------------------------------

    def _rearbitrate(self, junction_id: str, now: float) -> list[PriorityAnswer]:
        """Decide every live request again; answers for the ones whose decision changed."""
        before = dict(self.decisions)
        window_requests = []
        for rid, r in self.requests.items():
            d = before.get(rid)
            locked = d is not None and d.window_start is not None and d.window_end is not None \
                and d.window_start <= now < d.window_end
            if locked and d is not None and d.window_start is not None and d.window_end is not None:
                window_requests.append(WindowRequest(rid, r.inbound_approach, r.priority_level, r.eta,
                                                     d.window_start, d.window_end, locked=True))
            elif r.window_end > now:
                window_requests.append(WindowRequest(rid, r.inbound_approach, r.priority_level, r.eta,
                                                     r.window_start, r.window_end))
        self.decisions = {d.request_id: d for d in arbitrate(window_requests, self.rules)}
        # Where each unit now meets the junction: a queued window moves its arrival with it.
        self.arrivals = {d.request_id: self.requests[d.request_id].eta
                         + (d.window_start - self.requests[d.request_id].window_start)
                         for d in self.decisions.values() if d.window_start is not None}
        # Trimming or refusing one window changes the timing the others were checked against, so
        # check again until nothing changes (each pass only shrinks what is promised).
        for _ in range(5):
            if not self._check_against_timing(now):
                break
        return [_answer(d, junction_id) for rid, d in self.decisions.items()
                if rid in before and before[rid] != d]

    def _check_against_timing(self, now: float) -> bool:
        """Run a copy of this controller forward and trim each window to the green it really gets.

        Arbitration does not see the running phase (a green that began before the window counts
        against the hard cap too), so an answer is only given for green that will be shown."""
        placed = [d for d in self.decisions.values()
                  if d.window_end is not None and d.window_start is not None
                  and d.status in (AnswerStatus.GRANTED, AnswerStatus.QUEUED)]
        if not placed:
            return False
        changed = False
        trial = self.fork()
        trial.advance(max(d.window_end or now for d in placed) + self.plan.cycle_s)
        h = list(trial.history)
        greens = [(a.start, b.start, self.plan.phases[a.phase_index].approaches)
                  for a, b in zip(h, h[1:], strict=False) if a.interval is Interval.GREEN]
        for d in placed:
            assert d.window_start is not None and d.window_end is not None
            eta = self.arrivals[d.request_id]
            cover = next(((gs, ge) for gs, ge, apps in greens
                          if d.approach in apps and gs <= eta <= ge), None)
            if cover is None:
                late = next((gs for gs, _, apps in greens
                             if d.approach in apps and gs > d.window_start), None)
                reason = Reason.TOO_LATE if late is not None and late > eta else Reason.HOLD_LIMIT
                self.decisions[d.request_id] = replace(
                    d, status=AnswerStatus.REFUSED, reason=reason, window_start=None, window_end=None)
                changed = True
                continue
            start, end = max(d.window_start, cover[0]), min(d.window_end, cover[1])
            if (start, end) != (d.window_start, d.window_end):
                self.decisions[d.request_id] = replace(d, window_start=start, window_end=end)
                changed = True
        return changed

    def request(self, junction_id: str, req: PriorityRequest, now: float) -> PriorityAnswer:
        self.advance(now)
        if req.inbound_approach not in self.plan.approaches:
            return refused(req.request_id, junction_id, Reason.UNKNOWN_APPROACH,
                           f"approaches: {sorted(self.plan.approaches)}")
        if req.window_end <= now:
            return refused(req.request_id, junction_id, Reason.WINDOW_PASSED)
        old = self.requests.get(req.request_id)
        if old is not None and req.sequence < old.sequence:
            # An update overtaken by a newer one (J2735 msgCount): answer with what stands.
            return _answer(self.decisions[req.request_id], junction_id)
        self.requests[req.request_id] = req
        revised = [a for a in self._rearbitrate(junction_id, now) if a.request_id != req.request_id]
        answer = _answer(self.decisions[req.request_id], junction_id)
        return answer.model_copy(update={"revised": revised})

    def cancel(self, junction_id: str, request_id: str, now: float) -> PriorityAnswer:
        self.advance(now)
        if self.requests.pop(request_id, None) is None:
            return refused(request_id, junction_id, Reason.UNKNOWN_REQUEST)
        self.decisions.pop(request_id, None)
        revised = self._rearbitrate(junction_id, now)
        return PriorityAnswer(request_id=request_id, junction_id=junction_id, status=AnswerStatus.CANCELLED,
                              reason=Reason.RELEASED, revised=revised)


class SimulatedController:
    """A SignalGateway over in-process junction controllers, one per signal plan."""

    def __init__(self, plans: Mapping[str, SignalPlan], clock: SecondsClock, max_hold_s: float = 60.0,
                 max_shift_s: float = 90.0) -> None:
        self.clock = clock
        start = clock()
        self.junctions = {sid: JunctionController(p, start, max_hold_s, max_shift_s)
                          for sid, p in plans.items()}

    def _junction(self, junction_id: str) -> JunctionController | None:
        return self.junctions.get(junction_id)

    def request(self, req: PriorityRequest) -> PriorityAnswer:
        j = self._junction(req.junction_id)
        if j is None:
            return refused(req.request_id, req.junction_id, Reason.UNKNOWN_JUNCTION)
        if req.request_type is RequestType.CANCEL:
            return j.cancel(req.junction_id, req.request_id, self.clock())
        return j.request(req.junction_id, req, self.clock())

    def update(self, req: PriorityRequest) -> PriorityAnswer:
        return self.request(req)

    def cancel(self, request_id: str, junction_id: str) -> PriorityAnswer:
        j = self._junction(junction_id)
        if j is None:
            return refused(request_id, junction_id, Reason.UNKNOWN_JUNCTION)
        return j.cancel(junction_id, request_id, self.clock())

    def status(self, junction_id: str) -> SignalStatus | None:
        j = self._junction(junction_id)
        if j is None:
            return None
        j.advance(self.clock())
        return j.status(junction_id)

    def approach_state(self, junction_id: str, approach: str) -> str:
        j = self.junctions[junction_id]
        j.advance(self.clock())
        return j.approach_state(approach)

