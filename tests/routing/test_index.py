"""The compiled index agrees with a networkx reference on the turn graph, and its routes are real paths."""

import random

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString

from routing.demo_city import build_demo_city
from routing.index import RoutingIndex
from routing.network import RoadNetwork
from routing.snap import OffRoad, Snap, Snapper
from tests.routing.reference import reference_time


@pytest.fixture(scope="module")
def city() -> RoadNetwork:
    return build_demo_city(seed=3, scale=0.1)


def random_snaps(net: RoadNetwork, count: int, seed: int) -> list[Snap]:
    rng = random.Random(seed)
    edges = list(net.graph.edges)
    out = []
    for _ in range(count):
        u, v = rng.choice(edges)
        a, b = net.graph.nodes[u], net.graph.nodes[v]
        f = rng.random()
        out.append(Snap((u, v), f, 0.0, a["lon"] + f * (b["lon"] - a["lon"]),
                        a["lat"] + f * (b["lat"] - a["lat"])))
    return out


@pytest.mark.parametrize("profile", ["car", "ambulance", "fire_engine"])
def test_times_to_one_target_equal_networkx_on_the_demo_city(city, profile) -> None:
    index = RoutingIndex.build(city, engine="scipy")
    target, *sources = random_snaps(city, 41, seed=hash(profile) % 1000)
    times = index.travel_times_to(target, sources, profile)
    for s, t in zip(sources, times, strict=True):
        assert t == pytest.approx(reference_time(index, s, target, profile), rel=1e-9, abs=1e-6)


def random_graph(seed: int, n: int) -> RoadNetwork:
    rng = random.Random(seed)
    g = nx.DiGraph()
    for i in range(n):
        g.add_node(i, lon=119.9 + rng.random() * 0.05, lat=30.0 + rng.random() * 0.05)
    for _ in range(n * 3):
        u, v = rng.randrange(n), rng.randrange(n)
        if u == v:
            continue
        a, b = g.nodes[u], g.nodes[v]
        length = rng.uniform(20, 900)
        cls = rng.choice(["primary", "residential", "tertiary"])
        g.add_edge(u, v, length_m=length, road_class=cls, speed_kmh=rng.choice([30.0, 50.0, 60.0]),
                   travel_time_s=0.0, oneway=True,
                   geometry=LineString([(a["lon"], a["lat"]), (b["lon"], b["lat"])]))
    return RoadNetwork(g)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(8, 60))
def test_times_equal_networkx_on_random_graphs_including_unreachable(seed, n) -> None:
    net = random_graph(seed, n)
    if net.graph.number_of_edges() == 0:
        return
    index = RoutingIndex.build(net, engine="scipy")
    target, *sources = random_snaps(net, 12, seed)
    times = index.travel_times_to(target, sources, "car")
    for s, t in zip(sources, times, strict=True):
        ref = reference_time(index, s, target, "car")
        if np.isinf(ref):
            assert np.isinf(t)
        else:
            assert t == pytest.approx(ref, rel=1e-9, abs=1e-6)


def test_route_is_a_valid_path_with_its_time_and_signals(city) -> None:
    index = RoutingIndex.build(city, engine="scipy")
    target, *sources = random_snaps(city, 11, seed=5)
    tree = index.tree_to(target, "ambulance")
    for s in sources:
        r = tree.route_from(s)
        for u, v in zip(r.nodes, r.nodes[1:], strict=False):
            assert city.graph.has_edge(u, v)
        assert r.eta_green_s == pytest.approx(tree.time_from(s), rel=1e-9)
        assert r.eta_s == pytest.approx(r.eta_green_s + sum(x.expected_delay_s for x in r.signals))
        assert [x.eta_s for x in r.signals] == sorted(x.eta_s for x in r.signals)
        assert r.geometry.coords[0] == pytest.approx((s.lon, s.lat))
        assert r.segments[-1].eta_s == pytest.approx(r.eta_s)


def test_closing_a_road_changes_the_next_answer_and_reopening_restores_it(city) -> None:
    index = RoutingIndex.build(city, engine="scipy")
    target, source = random_snaps(city, 2, seed=11)
    before = index.route(source, target)
    u, v = before.nodes[len(before.nodes) // 2], before.nodes[len(before.nodes) // 2 + 1]
    index.close_edge(u, v)
    after = index.route(source, target)
    assert (u, v) not in set(zip(after.nodes, after.nodes[1:], strict=False))
    assert after.eta_green_s >= before.eta_green_s
    index.reopen_edge(u, v)
    assert index.route(source, target).eta_green_s == pytest.approx(before.eta_green_s)
    index.set_edge_speed(u, v, 5.0)
    assert index.route(source, target).eta_green_s >= before.eta_green_s


def test_snapping_gives_the_distance_and_refuses_points_off_the_map(city) -> None:
    snapper = Snapper(city)
    node = city.graph.nodes[0]
    s = snapper.snap(node["lon"], node["lat"] + 0.0002)  # ~22 m north of a node
    assert s.distance_m < 30
    with pytest.raises(OffRoad, match="from the nearest road"):
        snapper.snap(121.0, 31.0)


def test_demo_city_is_deterministic_and_has_a_river_bridges_and_signals() -> None:
    a, b = build_demo_city(seed=9, scale=0.1), build_demo_city(seed=9, scale=0.1)
    assert sorted(a.graph.edges(data="length_m")) == sorted(b.graph.edges(data="length_m"))
    assert a.signals() and nx.is_strongly_connected(a.graph)
    classes = {d["road_class"] for *_, d in a.graph.edges(data=True)}
    assert {"trunk", "primary", "residential"} <= classes
    assert any(d["oneway"] for *_, d in a.graph.edges(data=True))


def test_times_from_one_place_equal_the_many_to_one_answers(city) -> None:
    index = RoutingIndex.build(city, engine="scipy")
    source, *targets = random_snaps(city, 15, seed=21)
    tree = index.tree_from(source, "ambulance")
    for t in targets:
        assert tree.time_to(t) == pytest.approx(index.travel_times_to(t, [source], "ambulance")[0])


@pytest.mark.parametrize("profile", ["ambulance", "patrol"])
def test_contraction_hierarchy_engine_agrees_with_the_exact_one(city, profile) -> None:
    pytest.importorskip("routingkit_cch")
    exact, fast = RoutingIndex.build(city, engine="scipy"), RoutingIndex.build(city, engine="cch")
    target, *sources = random_snaps(city, 60, seed=31)
    a, b = exact.travel_times_to(target, sources, profile), fast.travel_times_to(target, sources, profile)
    # CCH weighs in whole milliseconds: half a millisecond per road segment at most
    assert np.allclose(a, b, atol=0.05)
    for s in sources[:10]:
        r1, r2 = exact.route(s, target, profile), fast.route(s, target, profile)
        assert r2.eta_green_s == pytest.approx(r1.eta_green_s, abs=0.05)
        for u, v in zip(r2.nodes, r2.nodes[1:], strict=False):
            assert city.graph.has_edge(u, v)
    u, v = exact.route(sources[0], target, profile).nodes[1:3]
    for index in (exact, fast):
        index.close_edge(u, v)
    assert fast.travel_times_to(target, sources[:1], profile)[0] == pytest.approx(
        exact.travel_times_to(target, sources[:1], profile)[0], abs=0.05)
    hospitals = sources[20:25]
    assert np.allclose(fast.times_from(target, hospitals, profile),
                       exact.times_from(target, hospitals, profile), atol=0.05)
