"""Drive-time matrices equal the many-to-one answers unit ranking uses, on both engines, and the
cache drops them when a road closes."""

import numpy as np
import pytest

from routing.demo_city import build_demo_city
from routing.index import RoutingIndex
from routing.matrix import MatrixCache, drive_time_matrix
from routing.network import RoadNetwork
from tests.routing.test_index import random_snaps


@pytest.fixture(scope="module")
def city() -> RoadNetwork:
    return build_demo_city(seed=3, scale=0.1)


@pytest.mark.parametrize("engine", ["scipy", "cch"])
@pytest.mark.parametrize("profile", ["ambulance", "fire_engine", "patrol"])
def test_matrix_equals_ranking_times_from_every_post(city: RoadNetwork, engine: str, profile: str) -> None:
    index = RoutingIndex.build(city, engine=engine)
    posts, cells = random_snaps(city, 12, seed=1), random_snaps(city, 60, seed=2)
    # a post on a cell's own road, just short of it: the direct way must count
    posts.append(type(cells[0])(cells[0].edge, max(cells[0].fraction - 0.01, 0.0), 0.0, cells[0].lon,
                                cells[0].lat))
    m = drive_time_matrix(index, posts, cells, profile)
    ref = np.array([index.travel_times_to(c, posts, profile) for c in cells]).T
    assert m.shape == (13, 60)
    assert (np.isfinite(m) == np.isfinite(ref)).all()
    ok = np.isfinite(ref)
    # RoutingKit counts whole milliseconds
    assert np.abs(m[ok] - ref[ok]).max() < 0.01
    assert m[-1, 0] < 60


def test_cache_serves_the_same_matrix_until_a_road_closes(city: RoadNetwork) -> None:
    index = RoutingIndex.build(city, engine="scipy")
    posts, cells = random_snaps(city, 5, seed=3), random_snaps(city, 20, seed=4)
    cache = MatrixCache(index)
    first = cache.get(posts, cells, "ambulance")
    assert cache.get(posts, cells, "ambulance") is first and cache.computed == 1
    route = index.route(posts[0], cells[0], "ambulance")
    u, v = route.nodes[len(route.nodes) // 2], route.nodes[len(route.nodes) // 2 + 1]
    index.close_edge(u, v)
    after = cache.get(posts, cells, "ambulance")
    assert cache.computed == 2
    assert after[0, 0] >= first[0, 0]
    assert (after >= first - 1e-9).all()  # a closure never makes a drive shorter
    index.reopen_edge(u, v)
    assert np.allclose(cache.get(posts, cells, "ambulance"), first)
