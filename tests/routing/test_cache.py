"""The imported-network cache: a network started from it routes, snaps and draws exactly as the
network it was written from, and a cache it cannot read is refused with how to rebuild it."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from routing import cch
from routing.cache import CacheFormatError, load_cached, save_cached
from routing.demo_city import build_demo_city
from routing.index import RoutingIndex
from routing.network import RoadNetwork
from routing.snap import Snapper

PROFILES = ["car", "ambulance"]


@pytest.fixture(scope="module")
def fresh() -> RoadNetwork:
    return build_demo_city(seed=5, scale=0.1)


@pytest.fixture(scope="module")
def cached(fresh: RoadNetwork, tmp_path_factory: pytest.TempPathFactory) -> RoadNetwork:
    path = tmp_path_factory.mktemp("cache") / "city.network.pickle"
    save_cached(fresh, path)
    return load_cached(path)


def places(net: RoadNetwork, count: int) -> list[tuple[float, float]]:
    rng = np.random.default_rng(7)
    w, s, e, n = net.bounds()
    return list(zip(rng.uniform(w, e, count).tolist(), rng.uniform(s, n, count).tolist(), strict=True))


@pytest.mark.parametrize("engine", ["scipy", "cch"] if cch.available() else ["scipy"])
def test_a_cached_network_answers_as_a_fresh_build(fresh, cached, engine) -> None:
    before, after = RoutingIndex.build(fresh, engine), RoutingIndex.build(cached, engine)
    snaps_before = Snapper(fresh).snap_many(places(fresh, 60))
    snaps_after = Snapper(cached).snap_many(places(cached, 60))
    assert snaps_after == snaps_before
    on_road = [s for s in snaps_after if s is not None]
    assert len(on_road) > 40
    target, units = on_road[0], on_road[1:]
    for profile in PROFILES:
        np.testing.assert_array_equal(after.travel_times_to(target, units, profile),
                                      before.travel_times_to(target, units, profile))
        a, b = before.route(units[0], target, profile), after.route(units[0], target, profile)
        assert (b.nodes, b.eta_s, b.length_m) == (a.nodes, a.eta_s, a.length_m)
        assert [s.signal_id for s in b.signals] == [s.signal_id for s in a.signals]


def test_a_cached_network_draws_and_serves_the_same_area(fresh, cached) -> None:
    assert cached.bounds() == fresh.bounds()
    assert cached.signals() == fresh.signals()  # listed from the arrays, before the graph is loaded
    assert cached.area().equals(fresh.area())
    for lon, lat in places(fresh, 30):
        assert cached.contains(lon, lat) == fresh.contains(lon, lat)
    assert cached.node_count == fresh.node_count


def test_the_graph_loaded_on_demand_is_the_graph_written(fresh, cached) -> None:
    g, h = fresh.graph, cached.graph
    assert list(h.nodes(data=True)) == list(g.nodes(data=True))
    assert [(u, v) for u, v in h.edges] == [(u, v) for u, v in g.edges]
    for (_, _, d), (_, _, e) in zip(g.edges(data=True), h.edges(data=True), strict=True):
        assert e.keys() == d.keys()
        assert all(e[k] == d[k] for k in d if k != "geometry")
        assert e["geometry"].equals_exact(d["geometry"], 0)
    assert cached.road_lines() == fresh.road_lines()


def test_a_cache_of_the_older_format_is_refused_with_how_to_rebuild_it(tmp_path: Path) -> None:
    old = tmp_path / "district.network.pickle"
    # format 1: the whole graph pickled with its geometry as one coordinate array, no version
    old.write_bytes(pickle.dumps({"graph": build_demo_city(seed=5, scale=0.05).graph,
                                  "coords": np.zeros((0, 2)), "line_of_coord": np.zeros(0)}))
    with pytest.raises(CacheFormatError, match=r"format 1, this version reads format 3.*import-osm"):
        load_cached(old)


def test_a_file_that_is_no_cache_is_refused_with_how_to_rebuild_it(tmp_path: Path) -> None:
    junk = tmp_path / "district.network.pickle"
    junk.write_text("<osm version='0.6'></osm>")  # the extract given where the cache belongs
    with pytest.raises(CacheFormatError, match="not a network cache.*import-osm"):
        load_cached(junk)
