"""Arbitration at one junction: rank order, revised windows, and the safety properties."""

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from greenwave.arbitration import JunctionRules, WindowRequest, arbitrate, occupancy
from greenwave.messages import AnswerStatus, Reason
from greenwave.signal_plan import default_plan

PLAN = default_plan("J", [["N", "S"], ["E", "W"]])
RULES = JunctionRules.from_plan(PLAN, max_hold_s=60.0, max_shift_s=90.0)


def req(rid: str, approach: str, level: int, eta: float, lead: float = 15, after: float = 5) -> WindowRequest:
    return WindowRequest(rid, approach, level, eta, eta - lead, eta + after)


def test_higher_priority_wins_and_the_other_is_queued_after_it() -> None:
    low, high = req("low", "N", 2, 100), req("high", "E", 5, 105)
    by_id = {d.request_id: d for d in arbitrate([low, high], RULES)}
    assert by_id["high"].status is AnswerStatus.GRANTED
    assert by_id["low"].status is AnswerStatus.QUEUED
    assert by_id["low"].reason is Reason.LOST_TO_HIGHER_PRIORITY
    assert by_id["low"].blocked_by == "high"
    assert by_id["low"].window_start >= by_id["high"].window_end + RULES.clearance_s


def test_equal_priority_goes_to_the_earlier_eta() -> None:
    by_id = {d.request_id: d for d in arbitrate([req("b", "E", 3, 110), req("a", "N", 3, 100)], RULES)}
    assert by_id["a"].status is AnswerStatus.GRANTED
    assert by_id["b"].reason is Reason.LOST_TO_EARLIER_ETA


def test_compatible_approaches_share_the_green() -> None:
    ds = arbitrate([req("a", "N", 3, 100), req("b", "S", 2, 102)], RULES)
    assert all(d.status is AnswerStatus.GRANTED for d in ds)


def test_a_window_longer_than_the_maximum_is_refused() -> None:
    [d] = arbitrate([WindowRequest("a", "N", 5, 100, 30, 100)], RULES)
    assert (d.status, d.reason) == (AnswerStatus.REFUSED, Reason.HOLD_LIMIT)


def test_compatible_windows_cannot_chain_past_the_maximum() -> None:
    ds = arbitrate([req("a", "N", 5, 100, 15, 25), req("b", "S", 3, 130, 15, 25)], RULES)
    by_id = {d.request_id: d for d in ds}
    assert by_id["a"].status is AnswerStatus.GRANTED
    assert by_id["b"].reason is Reason.HOLD_LIMIT


def test_a_window_being_served_is_not_moved_by_a_later_higher_request() -> None:
    served = WindowRequest("served", "N", 1, 100, 85, 105, locked=True)
    ds = {d.request_id: d for d in arbitrate([served, req("urgent", "E", 7, 100)], RULES)}
    assert (ds["served"].window_start, ds["served"].window_end) == (85, 105)
    assert ds["urgent"].status is AnswerStatus.QUEUED


requests = st.lists(
    st.builds(
        lambda i, a, lvl, eta, lead, after: WindowRequest(f"r{i}", a, lvl, eta, eta - lead, eta + after),
        st.integers(0, 10_000), st.sampled_from(["N", "S", "E", "W"]), st.integers(1, 7),
        st.floats(0, 300), st.floats(0, 40), st.floats(0, 30)),
    max_size=12, unique_by=lambda r: r.request_id)


@settings(max_examples=300, deadline=None)
@given(requests)
def test_never_two_conflicting_greens_and_never_beyond_the_maximum(reqs: list[WindowRequest]) -> None:
    decisions = arbitrate(reqs, RULES)
    assert [d.request_id for d in decisions] == [r.request_id for r in reqs]
    placed = [d for d in decisions if d.status in (AnswerStatus.GRANTED, AnswerStatus.QUEUED)]
    for d in placed:
        assert d.window_start is not None and d.window_end is not None
        assert d.window_end - d.window_start <= RULES.max_hold_s + 1e-9
    for a, b in combinations(placed, 2):
        assert a.window_start is not None and a.window_end is not None
        assert b.window_start is not None and b.window_end is not None
        if PLAN.conflicts(a.approach, b.approach):
            alo, ahi = occupancy(a.window_start, a.window_end, RULES)
            blo, bhi = occupancy(b.window_start, b.window_end, RULES)
            # Separated by at least the clearance, with every green running its minimum.
            assert ahi + RULES.clearance_s <= blo + 1e-6 or bhi + RULES.clearance_s <= alo + 1e-6
    # Any continuous hold of compatible windows stays within the maximum.
    for approach_group in (("N", "S"), ("E", "W")):
        spans = sorted((d.window_start, d.window_end) for d in placed if d.approach in approach_group
                       and d.window_start is not None and d.window_end is not None)
        lo = hi = None
        for s, e in spans:
            if hi is None or s > hi:
                lo, hi = s, e
            else:
                hi = max(hi, e)
            assert lo is not None
            assert hi - lo <= RULES.max_hold_s + 1e-6


@settings(max_examples=200, deadline=None)
@given(requests)
def test_the_top_ranked_request_is_always_granted_as_asked(reqs: list[WindowRequest]) -> None:
    fitting = [r for r in reqs if r.window_end - r.window_start <= RULES.max_hold_s]
    if not fitting:
        return
    top = min(fitting, key=lambda r: (-r.priority_level, r.eta, r.request_id))
    d = next(d for d in arbitrate(reqs, RULES) if d.request_id == top.request_id)
    assert d.status is AnswerStatus.GRANTED
    assert (d.window_start, d.window_end) == (top.window_start, top.window_end)


@settings(max_examples=200, deadline=None)
@given(requests)
def test_a_queued_request_only_ever_moves_later(reqs: list[WindowRequest]) -> None:
    asked = {r.request_id: r for r in reqs}
    for d in arbitrate(reqs, RULES):
        if d.status is AnswerStatus.QUEUED:
            assert d.window_start is not None
            assert d.window_start > asked[d.request_id].window_start
            assert d.window_start - asked[d.request_id].window_start <= RULES.max_shift_s
