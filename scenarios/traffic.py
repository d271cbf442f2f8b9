"""Background traffic as the responding units meet it: slower links and queues at red signals.

Links slow by the BPR curve of the Bureau of Public Roads, t = t0 (1 + 0.15 x^4), with x the
degree of saturation. At a red signal a unit waits for the green and then for the queue that
built up in front of it since the red began, which drains at saturation flow: the cars that
arrived in `e` seconds of red leave in y*e seconds, y = x * g/C being the approach's flow ratio.
A unit held green by a green wave meets neither: the lead time before its arrival clears the
queue. With x = 0 the expected wait over a cycle is r^2 / 2C, as in `routing.signal_delay`."""

from greenwave.signal_plan import SignalPlan


def link_factor(level: float) -> float:
    return 1.0 + 0.15 * level**4


def green_share(plan: SignalPlan, approach: str) -> float:
    return sum(e - s for s, e in plan.green_intervals(approach)) / plan.cycle_s


def red_length_s(plan: SignalPlan, approach: str, red_left_s: float) -> float:
    """The length of the red a vehicle meeting `red_left_s` of it is in (the longest that fits)."""
    greens = plan.green_intervals(approach)
    cycle = plan.cycle_s
    reds = [nxt - end for (_, end), (nxt, _) in
            zip(greens, greens[1:] + [(greens[0][0] + cycle, 0.0)], strict=True)]
    return max([r for r in reds if r >= red_left_s - 1e-6] or [red_left_s])


def wait_at_red_s(plan: SignalPlan, approach: str, red_left_s: float, level: float) -> float:
    """Seconds a unit waits when it meets the approach red with `red_left_s` to go."""
    if red_left_s <= 0:
        return 0.0
    elapsed = max(0.0, red_length_s(plan, approach, red_left_s) - red_left_s)
    return red_left_s + level * green_share(plan, approach) * elapsed


def plan_wait_s(plan: SignalPlan, approach: str, t: float, level: float) -> float:
    """Waiting at a junction running its fixed-time plan, arriving at absolute time `t`."""
    return wait_at_red_s(plan, approach, plan.red_wait_at_s(approach, t), level)


def expected_wait_s(plan: SignalPlan, approach: str, level: float) -> float:
    """Mean over a cycle of `plan_wait_s`: sum over reds of r^2 (1 + y) / 2C."""
    greens = plan.green_intervals(approach)
    cycle = plan.cycle_s
    reds = [nxt - end for (_, end), (nxt, _) in
            zip(greens, greens[1:] + [(greens[0][0] + cycle, 0.0)], strict=True)]
    y = level * green_share(plan, approach)
    return sum(r * r for r in reds) * (1 + y) / (2 * cycle)
