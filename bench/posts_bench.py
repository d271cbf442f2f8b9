"""Staging-post figures (issue 19): the drive-time matrix of 300 candidate posts to 3,000 demand
cells on a ~100,000-node road-like graph, against scipy's Dijkstra from each post in the same run;
MEXCLP placement of 40 units over that matrix (time and gap to the optimum; CBC, the solver of
record, and HiGHS, its second opinion, on the same model); and the move-up
recommendation's p99 with 200 units and 300 posts.

`POSTS_BENCH_SMALL=1` runs the same questions on the demo city with a tenth of the sizes, for
development; the keys then end in `_small` so they never pass for the real figures."""

import os
import random
import time

import numpy as np

from coordination.move_up import FreeUnit, best_moves
from coordination.placement import covers_of, mexclp
from routing.demo_city import build_demo_city
from routing.index import RoutingIndex
from routing.matrix import drive_time_matrix
from routing.network import RoadNetwork
from routing.snap import OffRoad, Snap, Snapper

TARGET_S = 480.0  # an ALS ambulance's NFPA 1710 travel time
BUSY = 0.3
MOVEUP_QUERIES = 200


def _random_snaps(net: RoadNetwork, snapper: Snapper, count: int, rng: random.Random) -> list[Snap]:
    w, s, e, n = net.bounds()
    out: list[Snap] = []
    while len(out) < count:
        try:
            out.append(snapper.snap(rng.uniform(w, e), rng.uniform(s, n)))
        except OffRoad:
            continue
    return out


def _figures(net: RoadNetwork, n_posts: int, n_cells: int, n_units: int, n_moveup_units: int,
             suffix: str) -> dict[str, float]:
    rng = random.Random(19)
    index = RoutingIndex.build(net)
    snapper = Snapper(net)
    posts = _random_snaps(net, snapper, n_posts, rng)
    cells = _random_snaps(net, snapper, n_cells, rng)
    profile = "ambulance"
    drive_time_matrix(index, posts[:2], cells[:10], profile)  # warm: the metric, the arrays

    t = time.perf_counter()
    cost = drive_time_matrix(index, posts, cells, profile)
    matrix_ms = (time.perf_counter() - t) * 1000
    engine = "routingkit" if index.cch is not None else "scipy"
    # the reference: scipy's Dijkstra from each post over the same index's arrays (the path the
    # matrix takes without RoutingKit), in the same run on the same posts and cells
    cch, index.cch = index.cch, None
    try:
        t = time.perf_counter()
        reference = drive_time_matrix(index, posts, cells, profile)
        scipy_ms = (time.perf_counter() - t) * 1000
    finally:
        index.cch = cch
    agree = np.isfinite(cost) == np.isfinite(reference)
    both = np.isfinite(cost) & np.isfinite(reference)
    max_diff_s = float(np.abs(cost[both] - reference[both]).max()) if both.any() else 0.0

    # demand skewed as incidents are: a few hot cells, a long tail
    demand = rng_gamma(n_cells)
    t = time.perf_counter()
    placed = mexclp(demand, cost, TARGET_S, n_units, BUSY, solver="cbc", time_limit_s=120.0)
    placement_s = time.perf_counter() - t
    # the second opinion the tests check CBC against, on the same model: its time and answer
    t = time.perf_counter()
    second = mexclp(demand, cost, TARGET_S, n_units, BUSY, solver="highs", time_limit_s=120.0)
    highs_s = time.perf_counter() - t

    covers = covers_of(cost, TARGET_S)
    travel = drive_time_matrix(index, posts, posts, profile)
    pick = random.Random(5)
    timings = []
    for _ in range(MOVEUP_QUERIES):
        units = [FreeUnit(f"U{i}", j, travel[j]) for i, j in
                 enumerate(pick.choices(range(n_posts), k=n_moveup_units))]
        t = time.perf_counter()
        best_moves(demand, covers, units, list(range(n_posts)), BUSY)
        timings.append((time.perf_counter() - t) * 1000)
    return {
        f"drive_time_matrix_{n_posts}x{n_cells}_100k_ms{suffix}": round(matrix_ms, 1),
        f"drive_time_matrix_vs_scipy_x{suffix}": round(scipy_ms / matrix_ms, 2),
        f"drive_time_matrix_scipy_ms{suffix}": round(scipy_ms, 1),
        f"drive_time_matrix_engine_is_routingkit{suffix}": float(engine == "routingkit"),
        f"drive_time_matrix_max_diff_to_scipy_s{suffix}": round(max_diff_s, 3),
        f"drive_time_matrix_reach_agrees{suffix}": float(agree.all()),
        f"graph_turn_vertices{suffix}": float(index.forward.n),
        f"placement_mexclp_{n_posts}x{n_cells}_s{suffix}": round(placement_s, 2),
        f"placement_gap_pct{suffix}": round(placed.gap * 100, 4),
        f"placement_expected_coverage{suffix}": round(placed.expected_coverage, 6),
        f"placement_mexclp_{n_posts}x{n_cells}_highs_s{suffix}": round(highs_s, 2),
        f"placement_highs_gap_pct{suffix}": round(second.gap * 100, 4),
        f"placement_highs_expected_coverage{suffix}": round(second.expected_coverage, 6),
        f"moveup_recommendation_p99_ms{suffix}": round(float(np.percentile(timings, 99)), 2),
        f"moveup_recommendation_p50_ms{suffix}": round(float(np.percentile(timings, 50)), 2),
    }


def rng_gamma(n: int) -> np.ndarray:
    return np.random.default_rng(19).gamma(0.5, 0.02, size=n)


def run() -> dict[str, float]:
    if os.environ.get("POSTS_BENCH_SMALL"):
        return _figures(build_demo_city(seed=7, scale=0.15), 30, 300, 8, 20, "_small")
    # the ~100k-node road-like graph the routing bench uses (streets with shape points)
    net = build_demo_city(seed=11, scale=0.66, street_detail=True)
    return _figures(net, 300, 3000, 40, 200, "")


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
