"""Move-up's choice against brute force: every move of every free unit to every post tried, the
coverage it gives computed directly. The recommended move never leaves a cell without cover when
a move that does not exists, and among those it gains the most."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from coordination.move_up import FreeUnit, best_moves
from coordination.placement import expected_coverage


def brute(demand, covers, units, targets, busy):
    """(unit, target) -> (coverage after, cells left uncovered) for every move that gains."""
    at = {}
    for u in units:
        at[u.at] = at.get(u.at, 0) + 1
    before = expected_coverage(demand, covers, at, busy)
    n = np.array([sum(at.get(j, 0) * covers[j, i] for j in at) for i in range(covers.shape[1])])
    out = {}
    for u in units:
        for k, p in enumerate(targets):
            if p == u.at:
                continue
            moved = dict(at)
            moved[u.at] -= 1
            moved[p] = moved.get(p, 0) + 1
            after = expected_coverage(demand, covers, {j: c for j, c in moved.items() if c}, busy)
            n2 = np.array([sum(moved.get(j, 0) * covers[j, i] for j in moved)
                           for i in range(covers.shape[1])])
            left = tuple(i for i in range(len(demand)) if demand[i] > 0 and n[i] >= 1 and n2[i] == 0)
            if after - before > 1e-12:
                out[(u.unit_id, p, k)] = (after, left)
    return before, out


@st.composite
def cases(draw):
    n_places = draw(st.integers(2, 5))
    n_cells = draw(st.integers(1, 7))
    covers = np.array(draw(st.lists(st.lists(st.booleans(), min_size=n_cells, max_size=n_cells),
                                    min_size=n_places, max_size=n_places)))
    demand = np.array(draw(st.lists(st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.0]), min_size=n_cells,
                                    max_size=n_cells)))
    targets = sorted(draw(st.sets(st.integers(0, n_places - 1), min_size=1)))
    n_units = draw(st.integers(1, 4))
    units = [FreeUnit(f"U{i}", draw(st.integers(0, n_places - 1)),
                      np.array([float(draw(st.integers(30, 900))) for _ in targets])) for i in range(n_units)]
    busy = draw(st.sampled_from([0.0, 0.2, 0.5]))
    return demand, covers, units, targets, busy


@settings(max_examples=300, deadline=None)
@given(cases())
def test_the_move_never_leaves_a_cell_uncovered_when_a_move_that_does_not_exists(case) -> None:
    demand, covers, units, targets, busy = case
    before, every = brute(demand, covers, units, targets, busy)
    moves = best_moves(demand, covers, units, targets, busy)
    if not every:
        assert moves == []
        return
    best = moves[0]
    assert abs(best.coverage_before - before) < 1e-9
    for m in moves:  # each figure is the brute force's, cell for cell
        k = targets.index(m.target)
        after, left = every[(m.unit_id, m.target, k)]
        assert abs(m.coverage_after - after) < 1e-9 and m.leaves == left
    harmless = {key: v for key, v in every.items() if not v[1]}
    if harmless:
        assert best.leaves == ()
        assert abs(best.coverage_after - max(a for a, _ in harmless.values())) < 1e-9
    else:
        assert abs(best.coverage_after - max(a for a, _ in every.values())) < 1e-9


def test_a_unit_moves_to_the_post_over_the_uncovered_hot_cell_and_says_what_it_leaves() -> None:
    # place 0 (a station) holds two units and covers cells 0 and 1; place 1, a post, covers 2
    covers = np.array([[1, 1, 0], [0, 0, 1]], dtype=bool)
    demand = np.array([1.0, 0.2, 3.0])
    units = [FreeUnit("A1", 0, np.array([240.0])), FreeUnit("A2", 0, np.array([240.0]))]
    [best, *_] = best_moves(demand, covers, units, [1], busy=0.0)
    assert best.target == 1 and best.leaves == () and best.coverage_after == 1.0
    alone = best_moves(demand, covers, units[:1], [1], busy=0.0)
    assert alone[0].leaves == (0, 1) and abs(alone[0].leaves_demand - 1.2) < 1e-12
