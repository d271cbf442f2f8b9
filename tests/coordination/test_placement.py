"""Placement answers checked against brute force and a second solver on small cases, and stable."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordination.placement import (
    PlacementError,
    PostingRule,
    brute_force_mexclp,
    covers_of,
    dsm,
    expected_coverage,
    mexclp,
    posts_by_goal,
    units_by_rule,
)


def _case(seed: int, posts: int = 6, cells: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cost = rng.uniform(60, 900, size=(posts, cells))
    cost[rng.random((posts, cells)) < 0.1] = np.inf  # some cells out of reach of some posts
    demand = rng.gamma(1.0, 1.0, size=cells)
    return demand, cost


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("units", [1, 2, 3])
def test_mexclp_matches_brute_force_on_small_cases(seed: int, units: int) -> None:
    demand, cost = _case(seed)
    covers = covers_of(cost, 480.0)
    best, _ = brute_force_mexclp(demand, covers, units, busy=0.3)
    for solver in ("cbc", "highs"):
        p = mexclp(demand, cost, 480.0, units, busy=0.3, solver=solver)
        assert sum(p.units_at.values()) == units
        assert p.expected_coverage == pytest.approx(best, abs=1e-7)
        # the objective the solver reports is the coverage its placement really gives
        assert p.objective == pytest.approx(best * demand.sum(), rel=1e-6)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), units=st.integers(1, 4), busy=st.floats(0.0, 0.8),
       cap=st.integers(1, 3))
def test_cbc_and_highs_agree(seed: int, units: int, busy: float, cap: int) -> None:
    demand, cost = _case(seed, posts=8, cells=20)
    capacity = [cap] * 8
    a = mexclp(demand, cost, 500.0, units, busy, capacity, solver="cbc")
    b = mexclp(demand, cost, 500.0, units, busy, capacity, solver="highs")
    assert a.expected_coverage == pytest.approx(b.expected_coverage, abs=1e-7)
    assert all(n <= cap for n in a.units_at.values())


def test_busy_units_are_stacked_where_demand_is_heavy() -> None:
    """With busy units a second unit at the hot spot is worth more than a first at a cold one."""
    demand = np.array([10.0, 0.1])
    cost = np.array([[100.0, np.inf], [np.inf, 100.0]])
    p = mexclp(demand, cost, 300.0, 2, busy=0.5)
    assert p.units_at == {0: 2}
    q = mexclp(demand, cost, 300.0, 2, busy=0.0)  # never busy: one each covers everything
    assert q.units_at == {0: 1, 1: 1}


def test_same_data_gives_the_same_placement() -> None:
    demand, cost = _case(5, posts=15, cells=60)
    first = mexclp(demand, cost, 420.0, 4, busy=0.25)
    for _ in range(3):
        again = mexclp(demand, cost, 420.0, 4, busy=0.25)
        assert again.units_at == first.units_at
        assert again.expected_coverage == first.expected_coverage


def _dsm_brute(demand: np.ndarray, near: np.ndarray, far: np.ndarray, units: int,
               alpha: float) -> float | None:
    best = None
    for combo in itertools.combinations_with_replacement(range(near.shape[0]), units):
        at: dict[int, int] = {}
        for j in combo:
            at[j] = at.get(j, 0) + 1
        x = np.zeros(near.shape[0])
        for j, n in at.items():
            x[j] = n
        n_near, n_far = x @ near, x @ far
        reachable = far.any(axis=0) & (demand > 0)
        if (n_far[reachable] < 1).any() or demand[n_near >= 1].sum() < alpha * demand.sum() - 1e-9:
            continue
        value = float(demand[n_near >= 2].sum())
        best = value if best is None else max(best, value)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_dsm_matches_brute_force(seed: int) -> None:
    demand, cost = _case(seed, posts=5, cells=10)
    near, far = covers_of(cost, 400.0), covers_of(cost, 800.0)
    expected = _dsm_brute(demand, near, far, 3, 0.5)
    if expected is None:
        with pytest.raises(PlacementError, match="units"):
            dsm(demand, cost, 400.0, 800.0, 3, 0.5)
        return
    for solver in ("cbc", "highs"):
        p = dsm(demand, cost, 400.0, 800.0, 3, 0.5, solver=solver)
        assert p.covered_twice * demand.sum() == pytest.approx(expected, abs=1e-6)


def test_rule_posts_more_units_at_the_peak_than_off_peak() -> None:
    _, cost = _case(2, posts=10, cells=30)
    rng = np.random.default_rng(0)
    quiet = rng.gamma(1.0, 0.2, size=30) * (rng.random(30) < 0.3)
    peak = rng.gamma(1.0, 1.0, size=30) + 0.1
    rule = PostingRule(coverage_goal=0.85)
    k_quiet, p_quiet, _ = units_by_rule(rule, quiet, cost, 450.0, busy=0.3, max_units=10)
    k_peak, p_peak, why = units_by_rule(rule, peak, cost, 450.0, busy=0.3, max_units=10)
    assert k_peak > k_quiet
    assert p_peak.expected_coverage >= 0.85 or "not reached" in why
    assert p_quiet.expected_coverage == pytest.approx(expected_coverage(quiet, covers_of(cost, 450.0),
                                                                        p_quiet.units_at, 0.3))


def test_staff_budget_caps_the_units() -> None:
    demand, cost = _case(1)
    k, p, why = units_by_rule(PostingRule(coverage_goal=None, staff_budget=7, crew_per_unit=2),
                              demand, cost, 480.0, busy=0.2, max_units=10)
    assert k == 3 and sum(p.units_at.values()) == 3 and "staff" in why


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"units": 0}, "units"), ({"busy": 1.0}, "busy"), ({"target_s": 0.0}, "target_s"),
    ({"capacity": [0] * 6}, "units"), ({"solver": "gurobi"}, "solver")])
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    demand, cost = _case(0)
    args: dict[str, object] = {"demand": demand, "cost_s": cost, "target_s": 480.0, "units": 2, "busy": 0.2}
    args.update(kwargs)
    with pytest.raises(PlacementError, match=field):
        mexclp(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("away_max", [0, 1, 2])
def test_units_away_from_stations_are_capped_as_brute_force_says(seed: int, away_max: int) -> None:
    demand, cost = _case(seed, posts=5, cells=10)
    covers = cost <= 480.0
    away = [False, False, True, True, True]  # two stations, three posts
    capacity = [2, 1, 2, 2, 2]
    best = -1.0
    for combo in itertools.combinations_with_replacement(range(5), 3):
        at = {j: combo.count(j) for j in set(combo)}
        if any(n > capacity[j] for j, n in at.items()) or sum(n for j, n in at.items() if away[j]) > away_max:
            continue
        best = max(best, expected_coverage(demand, covers, at, 0.3))
    for solver in ("cbc", "highs"):
        p = mexclp(demand, cost, 480.0, 3, 0.3, capacity, solver, away=away, away_max=away_max)
        assert sum(n for j, n in p.units_at.items() if away[j]) <= away_max
        assert abs(p.expected_coverage - best) < 1e-9


def test_posts_open_as_demand_peaks_and_close_as_it_falls() -> None:
    demand, cost = _case(3, posts=6, cells=12)
    away = [False, False, True, True, True, True]
    capacity = [2, 2, 2, 2, 2, 2]
    quiet = demand.copy()
    far = np.flatnonzero((cost[2:] <= 480.0).any(axis=0) & ~(cost[:2] <= 480.0).any(axis=0))
    assert len(far)  # cells only a post reaches
    peak = demand.copy()
    peak[far] *= 50
    m_quiet, _, home, _ = posts_by_goal(0.5, quiet, cost, 480.0, 0.3, 4, capacity, away)
    m_peak, p_peak, _, why = posts_by_goal(0.9, peak, cost, 480.0, 0.3, 4, capacity, away)
    assert m_peak > m_quiet and p_peak.expected_coverage > home.expected_coverage
    assert "at posts" in why
