"""Routing figures on the demo city and a ~100,000-node road-like graph, side by side with
networkx: ranking 500 units for one incident, one route, snap+rank+top-3, build, memory, and how
fast a road closure takes effect."""

import random
import time
import tracemalloc

import networkx as nx
import numpy as np

from routing.demo_city import build_demo_city
from routing.index import RoutingIndex
from routing.network import RoadNetwork
from routing.snap import OffRoad, Snap, Snapper

QUERIES = 200
NX_QUERIES = 5


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


def _random_snaps(net: RoadNetwork, snapper: Snapper, count: int, rng: random.Random) -> list[Snap]:
    w, s, e, n = net.bounds()
    out: list[Snap] = []
    while len(out) < count:
        try:
            out.append(snapper.snap(rng.uniform(w, e), rng.uniform(s, n)))
        except OffRoad:
            continue
    return out


def _suite(tag: str, net: RoadNetwork) -> dict[str, float]:
    rng = random.Random(42)
    t0 = time.perf_counter()
    index = RoutingIndex.build(net)
    snapper = Snapper(net)
    build_s = time.perf_counter() - t0
    tracemalloc.start()  # a second build, traced: tracing slows it, so it is not the one timed
    RoutingIndex.build(net)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    units = _random_snaps(net, snapper, 500, rng)
    targets = _random_snaps(net, snapper, QUERIES, rng)
    w, s, e, n = net.bounds()

    rank = []
    for tgt in targets:
        t = time.perf_counter()
        times = index.travel_times_to(tgt, units, "ambulance")
        np.argsort(times)
        rank.append((time.perf_counter() - t) * 1000)

    route = []
    pairs = list(zip(targets, reversed(targets), strict=True))
    for a, b in pairs:
        t = time.perf_counter()
        index.route(a, b, "ambulance")
        route.append((time.perf_counter() - t) * 1000)

    full = []
    for _ in range(QUERIES):
        lon, lat = rng.uniform(w, e), rng.uniform(s, n)
        t = time.perf_counter()
        try:
            tgt = snapper.snap(lon, lat)
        except OffRoad:
            continue
        tree = index.tree_to(tgt, "ambulance")
        times = tree.times(units)
        for i in np.argsort(times)[:3]:
            tree.route_from(units[int(i)])
        full.append((time.perf_counter() - t) * 1000)

    # networkx reference: one reverse Dijkstra from the incident's node per query
    rev = net.graph.reverse(copy=False)
    nxt = []
    for tgt in targets[:NX_QUERIES]:
        t = time.perf_counter()
        dist = nx.single_source_dijkstra_path_length(rev, tgt.edge[0], weight="travel_time_s")
        sorted(dist.get(u.edge[1], float("inf")) for u in units)
        nxt.append((time.perf_counter() - t) * 1000)

    # a road closed: from the call to the next answer reflecting it
    probe = index.route(targets[0], targets[1], "ambulance")
    u, v = probe.nodes[len(probe.nodes) // 2], probe.nodes[len(probe.nodes) // 2 + 1]
    t = time.perf_counter()
    index.close_edge(u, v)
    after = index.route(targets[0], targets[1], "ambulance")
    closure_ms = (time.perf_counter() - t) * 1000
    assert (u, v) not in set(zip(after.nodes, after.nodes[1:], strict=False))
    index.reopen_edge(u, v)

    rank_p50 = _pct(rank, 50)
    return {
        f"routing_{tag}_nodes": net.node_count,
        f"routing_{tag}_edges": net.graph.number_of_edges(),
        f"routing_{tag}_index_build_s": round(build_s, 2),
        f"routing_{tag}_index_peak_mb": round(peak / 2**20, 1),
        f"rank_500_units_{tag}_p50_ms": rank_p50,
        f"rank_500_units_{tag}_p99_ms": _pct(rank, 99),
        f"rank_500_units_{tag}_networkx_p50_ms": _pct(nxt, 50),
        f"rank_500_units_{tag}_speedup_vs_networkx": round(_pct(nxt, 50) / rank_p50, 1),
        f"route_{tag}_p50_ms": _pct(route, 50),
        f"route_{tag}_p99_ms": _pct(route, 99),
        f"snap_rank_500_top3_routes_{tag}_p99_ms": _pct(full, 99),
        f"road_closure_to_effect_{tag}_ms": round(closure_ms, 2),
    }


def run() -> dict[str, float]:
    out: dict[str, float] = {}
    t = time.perf_counter()
    city = build_demo_city()
    out["demo_city_build_s"] = round(time.perf_counter() - t, 2)
    out.update(_suite("demo", city))
    t = time.perf_counter()
    big = build_demo_city(seed=11, scale=4.2)
    out["graph_100k_build_s"] = round(time.perf_counter() - t, 2)
    out.update(_suite("100k", big))
    return out


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:48s} {value}")
