"""Routing figures on the demo city and a ~100,000-node road-like graph, side by side with
networkx: ranking 500 units for one incident, one route, snap+rank+top-3, build, memory, and how
fast a road closure takes effect.

The road-like graphs ("100k", "500k") are drawn as an OpenStreetMap extract is (streets with shape
points and dead-end lanes: `street_detail`), since that is what an imported district gives the
router. The same questions are also asked on a plain grid of about 100,000 crossings ("grid100k"),
every node a junction: the worst case for a contraction hierarchy, kept as a stress figure."""

import os
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

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


def _suite(tag: str, net: RoadNetwork, trace_memory: bool = True) -> dict[str, float]:
    rng = random.Random(42)
    t0 = time.perf_counter()
    index = RoutingIndex.build(net)
    snapper = Snapper(net)
    build_s = time.perf_counter() - t0
    peak = float("nan")
    if trace_memory:  # a second build, traced: tracing slows it, so it is not the one timed
        tracemalloc.start()
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
        times = index.travel_times_to(tgt, units, "ambulance")  # as the server recommends
        for i in np.argsort(times)[:3]:
            index.route(units[int(i)], tgt, "ambulance")
        full.append((time.perf_counter() - t) * 1000)

    # networkx reference: one reverse Dijkstra from the incident's node per query
    rev = net.graph.reverse(copy=False)
    nxt = []
    for tgt in targets[:NX_QUERIES]:
        t = time.perf_counter()
        dist = nx.single_source_dijkstra_path_length(rev, tgt.edge[0], weight="travel_time_s")
        sorted(dist.get(u.edge[1], float("inf")) for u in units)
        nxt.append((time.perf_counter() - t) * 1000)

    # a road closed: from the call to the next answer reflecting it, on ten different routes
    closure = []
    for a, b in pairs[:10]:
        probe = index.route(a, b, "ambulance")
        if len(probe.nodes) < 2:
            continue
        u, v = probe.nodes[len(probe.nodes) // 2], probe.nodes[len(probe.nodes) // 2 + 1]
        t = time.perf_counter()
        index.close_edge(u, v)
        after = index.route(a, b, "ambulance")
        closure.append((time.perf_counter() - t) * 1000)
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
        f"road_closure_to_effect_{tag}_p50_ms": _pct(closure, 50),
        f"road_closure_to_effect_{tag}_max_ms": round(max(closure), 2),
    }


def restriction_breaking_share(net: RoadNetwork, pairs: int = 400, seed: int = 1) -> tuple[float, float]:
    """Share of car routes between random road places that break at least one of the network's
    turn restrictions: before (shortest paths on the node graph, as routing was) and after (the
    turn graph)."""
    from routing.turns import broken_restrictions

    rules = net.graph.graph.get("turn_restrictions", [])
    index = RoutingIndex.build(net, engine="scipy")
    g = net.graph
    edges = list(g.edges)
    rng = random.Random(seed)
    before = after = 0
    for _ in range(pairs):
        (a, b), (c, d) = rng.sample(edges, 2)
        node_path = [a, *nx.shortest_path(g, b, c, weight="travel_time_s"), d]
        before += broken_restrictions(node_path, rules) > 0
        route = index.route(Snap((a, b), 0.5, 0.0, 0.0, 0.0), Snap((c, d), 0.5, 0.0, 0.0, 0.0), "car")
        after += broken_restrictions([*route.legs[0].tolist(), int(route.legs[1][-1])], rules) > 0
    return before / pairs, after / pairs


def _restriction_suite() -> dict[str, float]:
    from routing.osm import read_osm

    net, _ = read_osm(Path(__file__).parent.parent / "tests" / "routing" / "data" / "restrictions.osm")
    before, after = restriction_breaking_share(net)
    return {"restriction_breaking_routes_before_pct": round(100 * before, 1),
            "restriction_breaking_routes_after_pct": round(100 * after, 1)}


def write_osm(net: RoadNetwork, path: Path) -> None:
    """The network as an OpenStreetMap XML extract, as a district would download it."""
    g = net.graph
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="bench">\n')
        for n, d in g.nodes(data=True):
            tag = '<tag k="highway" v="traffic_signals"/>' if d.get("signal_id") else ""
            f.write(f'<node id="{n + 1}" version="1" lat="{d["lat"]:.7f}" lon="{d["lon"]:.7f}">'
                    f"{tag}</node>\n")
        way = 1
        for u, v, d in g.edges(data=True):
            two_way = g.has_edge(v, u)
            if two_way and u > v:
                continue  # written once, from the lower id
            oneway = "" if two_way else '<tag k="oneway" v="yes"/>'
            f.write(f'<way id="{way}" version="1"><nd ref="{u + 1}"/><nd ref="{v + 1}"/>'
                    f'<tag k="highway" v="{d["road_class"]}"/><tag k="maxspeed" v="{d["speed_kmh"]:.0f}"/>'
                    f"{oneway}</way>\n")
            way += 1
        f.write("</osm>\n")


def _import_suite(net: RoadNetwork) -> dict[str, float]:
    from routing.cache import import_osm, load_cached

    with tempfile.TemporaryDirectory() as tmp:
        extract = Path(tmp) / "district.osm"
        write_osm(net, extract)
        t = time.perf_counter()
        cached = import_osm(extract, Path(tmp) / "cache")
        import_s = time.perf_counter() - t
        t = time.perf_counter()  # what the server's start-up does with an imported network
        loaded = load_cached(cached)
        RoutingIndex.build(loaded)
        Snapper(loaded)
        loaded.contains(0.0, 0.0)  # the served area
        start_s = time.perf_counter() - t
        return {"osm_import_100k_s": round(import_s, 2),
                "osm_extract_100k_mb": round(extract.stat().st_size / 2**20, 1),
                "osm_import_100k_nodes": loaded.node_count,
                "server_start_from_cache_100k_s": round(start_s, 2)}


def run() -> dict[str, float]:
    out: dict[str, float] = {}
    t = time.perf_counter()
    city = build_demo_city()
    out["demo_city_build_s"] = round(time.perf_counter() - t, 2)
    out.update(_suite("demo", city))
    t = time.perf_counter()
    big = build_demo_city(seed=11, scale=0.66, street_detail=True)
    out["graph_100k_build_s"] = round(time.perf_counter() - t, 2)
    out.update(_suite("100k", big))
    out.update(_import_suite(big))
    del big
    out.update(_suite("grid100k", build_demo_city(seed=11, scale=4.2), trace_memory=False))
    if os.environ.get("JD_BENCH_500K", "1") == "1":  # a whole prefecture: minutes and GBs to build
        t = time.perf_counter()
        huge = build_demo_city(seed=13, scale=3.3, street_detail=True)
        out["graph_500k_build_s"] = round(time.perf_counter() - t, 2)
        out.update(_suite("500k", huge, trace_memory=False))
    return out


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:48s} {value}")
