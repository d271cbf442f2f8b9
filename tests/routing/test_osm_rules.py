"""The import rules of routing.osm (issue 16), each on a small hand-written .osm file in data/."""

from pathlib import Path

import networkx as nx
import pytest

from routing.network import DEFAULT_SPEED_KMH, RoadNetwork
from routing.osm import WALK_KMH, car_access, load_osm, parse_maxspeed, way_access, way_speeds

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


@pytest.mark.parametrize(("raw", "kmh"), [
    ("CN:urban", 50.0), ("cn:urban", 50.0), ("FI:urban", 50.0), ("DE:urban", 50.0),
    ("DE:rural", 100.0), ("RU:urban", 60.0), ("DE:zone30", 30.0), ("GB:nsl_single", 96.56),
    ("30 mph", 48.28), ("30mph", 48.28), ("walk", WALK_KMH), ("40;30", 40.0), ("10 knots", 18.52),
    ("none", None), ("DE:motorway", None), ("XX:urban", None), ("signals", None), ("0", None),
])
def test_maxspeed_zone_codes_units_and_words(raw: str, kmh: float | None) -> None:
    assert parse_maxspeed(raw) == (pytest.approx(kmh, rel=1e-3) if kmh else None)


def test_way_speeds_per_direction_and_fallbacks() -> None:
    assert way_speeds({"maxspeed:forward": "60", "maxspeed": "40"}, "primary") == (60.0, 40.0)
    assert way_speeds({"maxspeed": "none"}, "motorway") == (DEFAULT_SPEED_KMH["motorway"],) * 2
    assert way_speeds({"maxspeed:type": "FI:urban"}, "primary") == (50.0, 50.0)


def test_maxspeed_cases_on_the_edges() -> None:
    net = load_osm(DATA / "maxspeed.osm")
    speed = {(a, b): edge(net, a, b)["speed_kmh"] for a, b in
             ((1, 2), (2, 1), (2, 6), (6, 3), (3, 4), (4, 5), (5, 1), (1, 5))}
    assert speed[1, 2] == speed[2, 1] == 50.0  # CN:urban
    assert speed[2, 6] == 100.0  # source:maxspeed=DE:rural
    assert speed[6, 3] == pytest.approx(25 * 1.609344)
    assert speed[3, 4] == WALK_KMH
    assert speed[4, 5] == DEFAULT_SPEED_KMH["trunk"]  # none: the class default (profiles cap it)
    assert speed[5, 1] == 60.0 and speed[1, 5] == 30.0  # forward RU:urban, backward 30
    e = edge(net, 1, 5)
    assert e["travel_time_s"] == pytest.approx(float(str(e["length_m"])) / (30 / 3.6))


def test_lengths_are_geodesic_at_a_high_latitude() -> None:
    net = load_osm(DATA / "geodesic.osm")
    north = sum(float(str(edge(net, a, a + 1)["length_m"])) for a in (1, 2, 3, 4))
    # One degree of meridian centred on 60.5 N on WGS84, from the meridional radius of curvature
    # M = a(1-e^2)/(1-e^2 sin^2 phi)^1.5: 111 421 m. The old flat scale gave 110 574 m.
    assert north == pytest.approx(111_421.0, rel=2e-4)
    # 0.01 deg along the 60 N parallel: N cos(phi) * 0.01 deg with N = a/sqrt(1-e^2 sin^2 phi)
    # = 558.0 m (the old scale: 556.6 m).
    assert float(str(edge(net, 1, 6)["length_m"])) == pytest.approx(558.0, abs=0.2)
    assert edge(net, 2, 1)["length_m"] == edge(net, 1, 2)["length_m"]
