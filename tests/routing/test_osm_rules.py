"""The import rules of routing.osm (issue 16), each on a small hand-written .osm file in data/."""

from pathlib import Path

import networkx as nx
import pytest

from routing.network import DEFAULT_SPEED_KMH, RoadNetwork
from routing.osm import car_access, load_osm, way_access

DATA = Path(__file__).parent / "data"


def by_osm(net: RoadNetwork) -> dict[int, int]:
    return {d["osm_id"]: n for n, d in net.graph.nodes(data=True)}


def edge(net: RoadNetwork, a: int, b: int) -> dict[str, object]:
    ids = by_osm(net)
    data: dict[str, object] = net.graph.edges[ids[a], ids[b]]
    return data


def test_access_hierarchy_drops_closed_ways_and_flags_emergency_only_ones() -> None:
    net = load_osm(DATA / "access.osm")
    ids = by_osm(net)
    assert set(ids) == {1, 2, 3, 4, 13, 14, 15, 18, 19, 21}
    # destination, delivery, motor_vehicle=yes, permissive: open to cars
    for end, start in ((13, 3), (18, 4), (19, 1), (21, 3)):
        assert not edge(net, end, start)["emergency_only"]
    assert edge(net, 14, 4)["emergency_only"] and edge(net, 4, 14)["emergency_only"]  # bus only
    assert edge(net, 15, 1)["emergency_only"]  # emergency=designated
    assert not edge(net, 1, 2)["emergency_only"]
    assert nx.is_strongly_connected(net.graph)


@pytest.mark.parametrize(("tags", "expected"), [
    ({}, "car"),
    ({"access": "private"}, None),
    ({"access": "no", "vehicle": "yes"}, "car"),
    ({"vehicle": "no", "motorcar": "yes"}, "car"),
    ({"motorcar": "no"}, None),
    ({"motor_vehicle": "agricultural"}, None),
    ({"access": "destination"}, "car"),
    ({"access": "designated"}, "car"),
    ({"access": "no", "psv": "yes"}, "emergency"),
    ({"access": "no", "emergency": "yes"}, "emergency"),
    ({"access": "private", "service": "parking_aisle", "psv": "yes"}, None),
    ({"area": "yes"}, None),
])
def test_way_access_table(tags: dict[str, str], expected: str | None) -> None:
    assert way_access(tags) == expected


def test_the_most_specific_access_key_wins() -> None:
    assert car_access({"motorcar": "yes", "access": "no"}) == "yes"
    assert car_access({"access": "no;private"}) == "no"


def test_bus_lanes_follow_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("routing.osm.EMERGENCY_MAY_USE_BUS_LANES", False)
    assert way_access({"access": "no", "bus": "yes"}) is None
    assert way_access({"access": "no", "emergency": "yes"}) == "emergency"  # its own tag still counts


def test_shared_segments_keep_the_higher_class_and_ignore_area_outlines() -> None:
    net = load_osm(DATA / "overlap.osm")
    g = net.graph
    assert g.number_of_nodes() == 4 and g.number_of_edges() == 8
    assert edge(net, 1, 2)["road_class"] == "primary" and edge(net, 2, 1)["speed_kmh"] == 60.0
    assert edge(net, 3, 4)["road_class"] == "residential" and edge(net, 3, 4)["speed_kmh"] == 30.0
    assert edge(net, 4, 1)["road_class"] == "secondary" and edge(net, 1, 4)["road_class"] == "secondary"
    assert {d["road_class"] for *_, d in g.edges(data=True)} == {"primary", "residential", "secondary"}


def test_highway_road_is_kept_at_the_unclassified_speed() -> None:
    net = load_osm(DATA / "road.osm")
    assert set(by_osm(net)) == {1, 2, 3, 4}
    road = edge(net, 4, 1)
    assert road["road_class"] == "road" and road["speed_kmh"] == DEFAULT_SPEED_KMH["unclassified"]
    assert edge(net, 1, 4)["road_class"] == "road"
