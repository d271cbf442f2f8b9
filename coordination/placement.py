"""Where to stand units: maximum expected coverage (MEXCLP, Daskin 1983) and double coverage
(DSM, Gendreau, Laporte and Semet 1997) over a drive-time matrix, solved exactly by a MILP solver,
and the rule that says how many units to post.

The input is a cost matrix (seconds, posts x cells) and a demand vector, nothing of the road
graph, so any other implementation can be checked against it. CBC (bundled with PuLP) is the
solver of record; HiGHS (through scipy.optimize.milp) answers the same model as a second opinion.

MEXCLP: a cell covered by n units, each busy with probability q independently, is served with
probability 1 - q^n. The model splits that into unit steps y_ik (the k-th covering unit adds
(1-q) q^(k-1)); the steps shrink with k, so y may be continuous and still take its first steps
first: the only integers are the units per post."""

import itertools
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pulp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix, hstack, vstack

SOLVERS = ("cbc", "highs")


class PlacementError(ValueError):
    """A placement that cannot be made as asked (the message names the input at fault)."""


@dataclass(frozen=True)
class Placement:
    units_at: dict[int, int]  # post index -> units posted there
    expected_coverage: float  # demand-weighted share of demand served in time, 0..1
    covered_once: float  # share of demand with at least one unit within target
    covered_twice: float
    objective: float
    gap: float  # relative gap to the solver's best bound (0: proved optimal)
    solver: str
    seconds: float
    status: str
    coverage_by_cell: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    @property
    def posts(self) -> list[int]:
        return sorted(self.units_at)


def coverage_counts(covers: np.ndarray, units_at: dict[int, int]) -> np.ndarray:
    """How many posted units reach each cell within target."""
    x = np.zeros(covers.shape[0])
    for j, n in units_at.items():
        x[j] = n
    return np.asarray(x @ covers, dtype=np.float64)


def expected_coverage(demand: np.ndarray, covers: np.ndarray, units_at: dict[int, int], busy: float) -> float:
    """MEXCLP's objective, demand-weighted: sum of d_i (1 - q^n_i) over sum of d_i."""
    total = float(demand.sum())
    if total <= 0:
        return 0.0
    n = coverage_counts(covers, units_at)
    return float((demand * (1 - busy ** n)).sum() / total)


def _shares(demand: np.ndarray, covers: np.ndarray, units_at: dict[int, int]) -> tuple[float, float]:
    total = float(demand.sum()) or 1.0
    n = coverage_counts(covers, units_at)
    return float(demand[n >= 1].sum() / total), float(demand[n >= 2].sum() / total)


def _check(demand: np.ndarray, covers: np.ndarray, units: int, capacity: Sequence[int] | None) -> np.ndarray:
    if covers.ndim != 2 or covers.shape[1] != len(demand):
        raise PlacementError(f"cost matrix is {covers.shape}, demand has {len(demand)} cells")
    if (demand < 0).any() or not np.isfinite(demand).all():
        raise PlacementError("demand: rates must be finite and not negative")
    if units < 1:
        raise PlacementError("units: at least one unit to place")
    cap = np.full(covers.shape[0], units) if capacity is None else np.asarray(capacity, dtype=np.int64)
    if len(cap) != covers.shape[0] or (cap < 0).any():
        raise PlacementError("capacity: one non-negative limit per candidate post")
    if int(cap.sum()) < units:
        raise PlacementError(f"units: {units} units but the posts hold only {int(cap.sum())}")
    limited: np.ndarray = np.minimum(cap, units)
    return limited


@dataclass(frozen=True)
class _Model:
    """max c.x s.t. A x <= b, lb <= x <= ub, x integer where integral: variables are the units
    per post (first n_posts) then the coverage steps of each cell."""

    c: np.ndarray
    a: csr_matrix
    b_upper: np.ndarray
    b_lower: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integral: np.ndarray
    n_posts: int


def _mexclp_model(demand: np.ndarray, covers: np.ndarray, units: int, busy: float,
                  cap: np.ndarray, away: np.ndarray | None = None, away_max: int | None = None) -> _Model:
    n_posts = covers.shape[0]
    a_cov = csr_matrix(covers.astype(np.float64))
    reach = np.asarray((cap[:, None] * covers).sum(axis=0)).ravel()
    # a cell needs no more steps than units could ever cover it; cells nobody covers drop out
    steps = np.minimum(reach, units).astype(np.int64)
    cells = np.flatnonzero((steps > 0) & (demand > 0))
    k_of = [np.arange(1, steps[i] + 1) for i in cells]
    n_y = int(sum(len(k) for k in k_of))
    weights = (np.concatenate([demand[i] * (1 - busy) * busy ** (k - 1)
                               for i, k in zip(cells, k_of, strict=True)]) if n_y else np.zeros(0))
    row = np.repeat(np.arange(len(cells)), [len(k) for k in k_of])
    # per covered cell: sum_k y_ik - sum_j a_ij x_j <= 0
    y_part = coo_matrix((np.ones(n_y), (row, np.arange(n_y))), shape=(len(cells), n_y))
    x_part = -a_cov[:, cells].T
    cover_rows = hstack([x_part, y_part]).tocsr()
    count_row = csr_matrix(np.concatenate([np.ones(n_posts), np.zeros(n_y)]))
    rows = [cover_rows, count_row]
    upper: list[Any] = [np.zeros(len(cells)), [units]]
    lower: list[Any] = [np.full(len(cells), -np.inf), [units]]
    if away is not None and away_max is not None:
        # at most away_max units on the candidates marked `away` (posts, as against stations)
        rows.append(csr_matrix(np.concatenate([away.astype(np.float64), np.zeros(n_y)])))
        upper.append([away_max])
        lower.append([-np.inf])
    a = vstack(rows).tocsr()
    b_upper = np.concatenate(upper).astype(np.float64)
    b_lower = np.concatenate(lower).astype(np.float64)
    lb = np.zeros(n_posts + n_y)
    ub = np.concatenate([cap.astype(np.float64), np.ones(n_y)])
    integral = np.concatenate([np.ones(n_posts), np.zeros(n_y)])
    c = np.concatenate([np.zeros(n_posts), weights])
    return _Model(c, a, b_upper, b_lower, lb, ub, integral, n_posts)


def _solve(model: _Model, solver: str, time_limit_s: float) -> tuple[np.ndarray, float, float, str]:
    """(x, objective, gap, status) of the model, maximised."""
    if solver == "highs":
        res = milp(-model.c, constraints=LinearConstraint(model.a, model.b_lower, model.b_upper),
                   integrality=model.integral, bounds=Bounds(model.lb, model.ub),
                   options={"time_limit": time_limit_s, "mip_rel_gap": 1e-9})
        if res.x is None:
            raise PlacementError(f"HiGHS found no placement: {res.message}")
        gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
        return np.asarray(res.x), -float(res.fun), gap, "optimal" if res.status == 0 else str(res.message)
    if solver != "cbc":
        raise PlacementError(f"solver: one of {', '.join(SOLVERS)}")
    return _solve_cbc(model, time_limit_s)


def _solve_cbc(model: _Model, time_limit_s: float) -> tuple[np.ndarray, float, float, str]:
    prob = pulp.LpProblem("placement", pulp.LpMaximize)
    n = len(model.c)
    xs = [prob.add_variable(f"v{k}", lowBound=float(model.lb[k]), upBound=float(model.ub[k]),
                            cat=pulp.LpInteger if model.integral[k] else pulp.LpContinuous) for k in range(n)]
    prob += pulp.LpAffineExpression([(xs[k], float(model.c[k])) for k in np.flatnonzero(model.c)])
    a = model.a
    for r in range(a.shape[0]):
        lo, hi = a.indptr[r], a.indptr[r + 1]
        expr = pulp.LpAffineExpression([(xs[int(j)], float(v)) for j, v in
                                        zip(a.indices[lo:hi], a.data[lo:hi], strict=True)])
        if model.b_lower[r] == model.b_upper[r]:
            prob += expr == float(model.b_upper[r])
        else:
            if np.isfinite(model.b_upper[r]):
                prob += expr <= float(model.b_upper[r])
            if np.isfinite(model.b_lower[r]):
                prob += expr >= float(model.b_lower[r])
    with warnings.catch_warnings():
        # PuLP 3.3 marks its bundled CBC deprecated for 4.0; it is the CBC this install has
        warnings.simplefilter("ignore", DeprecationWarning)
        cbc = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s, gapRel=1e-9)
    status = prob.solve(cbc)
    x = np.array([v.varValue or 0.0 for v in xs])
    objective = float(pulp.value(prob.objective) or 0.0)
    if pulp.LpStatus[status] != "Optimal":
        raise PlacementError(f"CBC found no placement: {pulp.LpStatus[status]}")
    if prob.sol_status == pulp.LpSolutionIntegerFeasible:
        # stopped by the time limit: PuLP does not pass on CBC's bound, so the gap is measured
        # against the LP relaxation (an upper bound on the optimum, so the gap is not understated)
        return x, objective, _gap_to(lp_bound(model), objective), "stopped at time limit"
    return x, objective, 0.0, "optimal"


def _gap_to(bound: float, objective: float) -> float:
    return max(bound - objective, 0.0) / max(abs(objective), 1e-12)


def lp_bound(model: "_Model") -> float:
    """The LP relaxation's optimum: no placement can do better."""
    res = milp(-model.c, constraints=LinearConstraint(model.a, model.b_lower, model.b_upper),
               bounds=Bounds(model.lb, model.ub))
    return -float(res.fun) if res.fun is not None else math.inf


def _placement(x: np.ndarray, n_posts: int, demand: np.ndarray, covers: np.ndarray, busy: float,
               objective: float, gap: float, solver: str, seconds: float, status: str) -> Placement:
    units_at = {int(j): int(round(x[j])) for j in range(n_posts) if round(x[j]) > 0}
    once, twice = _shares(demand, covers, units_at)
    n = coverage_counts(covers, units_at)
    return Placement(units_at, expected_coverage(demand, covers, units_at, busy), once, twice, objective,
                     gap, solver, seconds, status, coverage_by_cell=1 - busy ** n)


def covers_of(cost_s: np.ndarray, target_s: float) -> np.ndarray:
    """Which post reaches which cell within the target time."""
    if target_s <= 0:
        raise PlacementError("target_s: a target time is positive")
    return np.asarray(np.isfinite(cost_s) & (cost_s <= target_s))


def mexclp(demand: Sequence[float] | np.ndarray, cost_s: np.ndarray, target_s: float, units: int,
           busy: float, capacity: Sequence[int] | None = None, solver: str = "cbc",
           time_limit_s: float = 60.0, away: Sequence[bool] | None = None,
           away_max: int | None = None) -> Placement:
    """Place `units` units on the candidate posts (rows of cost_s) to maximise expected coverage
    of the cells (columns) within target_s, each unit busy with probability `busy`; with `away`,
    at most `away_max` of them on the candidates it marks (posts away from the stations)."""
    d = np.asarray(demand, dtype=np.float64)
    if not 0 <= busy < 1:
        raise PlacementError("busy: the busy fraction q is in [0, 1)")
    covers = covers_of(cost_s, target_s)
    cap = _check(d, covers, units, capacity)
    marks = None if away is None else np.asarray(away, dtype=bool)
    if marks is not None and len(marks) != covers.shape[0]:
        raise PlacementError("away: one mark per candidate post")
    if away_max is not None and away_max < 0:
        raise PlacementError("away_max: not negative")
    t = time.perf_counter()
    model = _mexclp_model(d, covers, units, busy, cap, marks, away_max)
    x, objective, gap, status = _solve(model, solver, time_limit_s)
    seconds = time.perf_counter() - t
    return _placement(x, model.n_posts, d, covers, busy, objective, gap, solver, seconds, status)


def dsm(demand: Sequence[float] | np.ndarray, cost_s: np.ndarray, near_s: float, far_s: float, units: int,
        alpha: float, capacity: Sequence[int] | None = None, solver: str = "cbc",
        time_limit_s: float = 60.0) -> Placement:
    """Double Standard Model: every cell that can be reached within far_s is; a share alpha of
    demand within near_s; and as much demand as possible is covered twice within near_s."""
    d = np.asarray(demand, dtype=np.float64)
    if not near_s <= far_s:
        raise PlacementError("far_s: the far standard is at least the near one")
    if not 0 <= alpha <= 1:
        raise PlacementError("alpha: a share in [0, 1]")
    near, far = covers_of(cost_s, near_s), covers_of(cost_s, far_s)
    cap = _check(d, near, units, capacity)
    t = time.perf_counter()
    n_posts, n_cells = near.shape
    cells = np.flatnonzero(d > 0)
    m = len(cells)
    # variables: y_j units per post, u1_i covered once, u2_i covered twice (binary)
    n = n_posts + 2 * m
    a_near = csr_matrix(near[:, cells].T.astype(np.float64))
    eye = csr_matrix(np.eye(m)) if m else csr_matrix((0, 0))
    zeros = csr_matrix((m, m))
    rows = [hstack([-a_near, eye, eye])]  # u1 + u2 <= sum_j a_ij y_j
    lo, hi = [np.full(m, -np.inf)], [np.zeros(m)]
    rows.append(hstack([csr_matrix((m, n_posts)), -eye, eye]))  # u2 <= u1
    lo.append(np.full(m, -np.inf))
    hi.append(np.zeros(m))
    reachable = [i for i in range(n_cells) if far[:, i].any() and d[i] > 0]
    if reachable:
        far_rows = csr_matrix(far[:, reachable].T.astype(np.float64))
        rows.append(hstack([far_rows, csr_matrix((len(reachable), 2 * m))]))
        lo.append(np.ones(len(reachable)))
        hi.append(np.full(len(reachable), np.inf))
    rows.append(csr_matrix(np.concatenate([np.zeros(n_posts), d[cells], np.zeros(m)])))
    lo.append(np.array([alpha * d.sum()]))
    hi.append(np.array([np.inf]))
    rows.append(csr_matrix(np.concatenate([np.ones(n_posts), np.zeros(2 * m)])))
    lo.append(np.array([float(units)]))
    hi.append(np.array([float(units)]))
    del zeros
    model = _Model(np.concatenate([np.zeros(n_posts + m), d[cells]]), vstack(rows).tocsr(),
                   np.concatenate(hi), np.concatenate(lo), np.zeros(n),
                   np.concatenate([cap.astype(np.float64), np.ones(2 * m)]), np.ones(n), n_posts)
    try:
        x, objective, gap, status = _solve(model, solver, time_limit_s)
    except PlacementError as e:
        raise PlacementError(f"units: {units} units cannot meet the double standard ({e})") from None
    return _placement(x, n_posts, d, near, 0.0, objective, gap, solver, time.perf_counter() - t, status)


@dataclass(frozen=True)
class PostingRule:
    """How many units to post in a period: the fewest that reach the coverage goal, within the
    staff on duty; or, with no goal, every unit the staff budget allows."""

    coverage_goal: float | None = 0.9  # expected coverage (MEXCLP) to reach
    staff_budget: int | None = None  # crew members available to stand at posts
    crew_per_unit: int = 2


def units_by_rule(rule: PostingRule, demand: Sequence[float] | np.ndarray, cost_s: np.ndarray,
                  target_s: float, busy: float, max_units: int, capacity: Sequence[int] | None = None,
                  solver: str = "cbc") -> tuple[int, Placement, str]:
    """(units, placement, why): opens units at peaks and fewer when demand falls, because the
    goal is reached sooner where demand is tight. Searches the count upwards: each solve is
    quick and the count is small."""
    limit = max_units
    if rule.staff_budget is not None:
        limit = min(limit, rule.staff_budget // max(rule.crew_per_unit, 1))
    if limit < 1:
        raise PlacementError("staff_budget: not enough staff for one unit")
    if rule.coverage_goal is None:
        p = mexclp(demand, cost_s, target_s, limit, busy, capacity, solver)
        return limit, p, f"staff budget allows {limit} units"
    best: Placement | None = None
    for k in range(1, limit + 1):
        best = mexclp(demand, cost_s, target_s, k, busy, capacity, solver)
        if best.expected_coverage >= rule.coverage_goal:
            return k, best, (f"{k} units reach the goal {rule.coverage_goal:.0%} "
                             f"(expected coverage {best.expected_coverage:.1%})")
    assert best is not None
    return limit, best, (f"goal {rule.coverage_goal:.0%} not reached with the {limit} units available "
                         f"(expected coverage {best.expected_coverage:.1%})")


def posts_by_goal(goal: float, demand: Sequence[float] | np.ndarray, cost_s: np.ndarray, target_s: float,
                  busy: float, units: int, capacity: Sequence[int], away: Sequence[bool],
                  solver: str = "cbc") -> tuple[int, Placement, Placement, str]:
    """Every unit stands somewhere, at its station or a post: the fewest units moved to posts
    (`away`) that reach the coverage goal, counted upwards from none. (moved, placement, stations
    only, why): at peaks more units go out to posts, and as demand falls they come home."""
    home = mexclp(demand, cost_s, target_s, units, busy, capacity, solver, away=away, away_max=0)
    if home.expected_coverage >= goal:
        return 0, home, home, (f"the stations reach the goal {goal:.0%} (expected coverage "
                               f"{home.expected_coverage:.1%}): no post needed")
    best = home
    room = min(units, sum(c for c, a in zip(capacity, away, strict=True) if a))
    for m in range(1, room + 1):
        best = mexclp(demand, cost_s, target_s, units, busy, capacity, solver, away=away, away_max=m)
        if best.expected_coverage >= goal:
            return m, best, home, (f"{m} of {units} units at posts reach the goal {goal:.0%} (expected "
                                   f"coverage {best.expected_coverage:.1%}, {home.expected_coverage:.1%} "
                                   f"from the stations alone)")
    return room, best, home, (f"goal {goal:.0%} not reached with {room} of {units} units at posts "
                              f"(expected coverage {best.expected_coverage:.1%}, "
                              f"{home.expected_coverage:.1%} from the stations alone)")


def brute_force_mexclp(demand: np.ndarray, covers: np.ndarray, units: int, busy: float,
                       capacity: Sequence[int] | None = None) -> tuple[float, dict[int, int]]:
    """Every way to put `units` units on the posts, for small cases: the reference answer."""
    cap = _check(demand, covers, units, capacity)
    best, best_at = -1.0, {}
    for combo in itertools.combinations_with_replacement(range(covers.shape[0]), units):
        at: dict[int, int] = {}
        for j in combo:
            at[j] = at.get(j, 0) + 1
        if any(n > cap[j] for j, n in at.items()):
            continue
        value = expected_coverage(demand, covers, at, busy)
        if value > best + 1e-12:
            best, best_at = value, at
    return best, best_at
