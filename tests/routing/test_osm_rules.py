"""The rules of the road as OpenStreetMap draws them, on hand-written extracts (tests/routing/data):
who may drive where per profile, turn restrictions and U-turns, overlapping ways, speed limits,
signals on approaches, and geodesic lengths."""

from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod

from routing import access, cch
from routing.index import RoutingIndex
from routing.network import RoadNetwork
from routing.osm import read_osm
from routing.snap import Snap
from routing.speed_limits import MPH, parse_maxspeed
from routing.turns import broken_restrictions

DATA = Path(__file__).with_name("data")
ENGINES = ["scipy", "cch"] if cch.available() else ["scipy"]


def node_of(net: RoadNetwork) -> dict[int, int]:
    return {d["osm_id"]: n for n, d in net.graph.nodes(data=True)}


def place(net: RoadNetwork, a: int, b: int, fraction: float = 0.5) -> Snap:
    """A road position on the edge between two OSM nodes."""
    ids = node_of(net)
    u, v = ids[a], ids[b]
    du, dv = net.graph.nodes[u], net.graph.nodes[v]
    return Snap((u, v), fraction, 0.0, du["lon"] + fraction * (dv["lon"] - du["lon"]),
                du["lat"] + fraction * (dv["lat"] - du["lat"]))


def osm_path(net: RoadNetwork, route) -> list[int]:
    """The route's nodes as OSM ids, from its first edge's tail to its last edge's head."""
    us, vs = route.legs[0].tolist(), route.legs[1].tolist()
    osm = {n: d["osm_id"] for n, d in net.graph.nodes(data=True)}
    return [osm[n] for n in [us[0], *vs]]


@pytest.fixture(scope="module")
def town():
    return read_osm(DATA / "access.osm")


@pytest.fixture(scope="module")
def grid():
    return read_osm(DATA / "restrictions.osm")


# --- access ---------------------------------------------------------------------------------

def levels(net: RoadNetwork, index: RoutingIndex, profile: str, a: int, b: int) -> int:
    ids = node_of(net)
    return int(index.level[profile][index.edge_id[(ids[a], ids[b])]])


@pytest.mark.parametrize("middle, car, ambulance, ambulance_no_bus_lanes", [
    (4, access.NO, access.YES, access.NO),  # highway=busway
    (5, access.NO, access.YES, access.YES),  # access=no + emergency=yes
    (6, access.DESTINATION, access.DESTINATION, access.DESTINATION),  # access=private
    (7, access.DESTINATION, access.DESTINATION, access.DESTINATION),  # a public parking aisle
    (9, access.NO, access.YES, access.NO),  # vehicle=no + psv=yes
])
def test_each_access_case_per_profile(town, middle, car, ambulance, ambulance_no_bus_lanes) -> None:
    net, _ = town
    index = RoutingIndex(net, engine="scipy")
    strict = RoutingIndex(net, engine="scipy", emergency_bus_lanes=False)
    assert levels(net, index, "car", 1, middle) == car
    assert levels(net, index, "ambulance", 1, middle) == ambulance
    assert levels(net, strict, "ambulance", 1, middle) == ambulance_no_bus_lanes


def test_ways_closed_to_all_vehicles_areas_and_private_driveways_are_not_streets(town) -> None:
    net, report = town
    kept = set(node_of(net))
    assert 8 not in kept  # motor_vehicle=no: closed to every vehicle, whatever the profile
    assert 15 not in kept  # someone's private driveway
    assert 14 not in kept  # the corner of a square's outline
    # (the footway square is no road anyway: only the service one counts as an area dropped)
    assert report.ways_dropped == {"access": 1, "area": 1, "private_service": 1}
    assert report.ferries == 1


def test_a_square_or_path_drawn_over_a_street_leaves_it_the_street(town) -> None:
    net, report = town
    ids = node_of(net)
    assert net.graph.edges[ids[1], ids[13]]["road_class"] == "residential"
    assert net.graph.edges[ids[13], ids[3]]["road_class"] == "residential"  # not the service way read later
    assert report.segments_shared == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_each_profile_takes_the_shortcut_it_may_and_private_roads_only_at_the_ends(town, engine) -> None:
    net, _ = town
    west, east = place(net, 1, 13, 0.05), place(net, 3, 2, 0.95)
    index = RoutingIndex(net, engine=engine)
    strict = RoutingIndex(net, engine=engine, emergency_bus_lanes=False)
    assert 3 in osm_path(net, index.route(west, east, "car"))  # round Bow St: the shortcuts are not for cars
    assert 4 in osm_path(net, index.route(west, east, "ambulance"))  # the busway
    assert 5 in osm_path(net, strict.route(west, east, "ambulance"))  # the emergency road, no bus lanes
    # to a place on the private road itself, a car may drive in
    inside = place(net, 6, 2, 0.5)
    car = index.route(west, inside, "car")
    assert 6 in osm_path(net, car)
    assert car.eta_green_s < 1000  # the penalty that keeps through traffic out is not in the time
    assert index.travel_times_to(inside, [west], "car")[0] == pytest.approx(car.eta_green_s, abs=0.01)


def test_speed_limits_from_zone_codes_and_per_direction(town) -> None:
    net, _ = town
    ids = node_of(net)
    g = net.graph
    assert g.edges[ids[2], ids[11]]["road_class"] == "road"
    assert g.edges[ids[2], ids[11]]["speed_kmh"] == 50.0  # CN:urban
    assert g.edges[ids[11], ids[12]]["speed_kmh"] == 60.0  # maxspeed:forward
    assert g.edges[ids[12], ids[11]]["speed_kmh"] == 40.0  # maxspeed:backward


@pytest.mark.parametrize("raw, kmh", [
    ("50", 50.0), ("30 mph", 30 * MPH), ("60 km/h", 60.0), ("none", 130.0), ("walk", 7.0),
    ("20 knots", 20 * 1.852),
    ("CN:urban", 50.0), ("CN:rural", 70.0), ("FI:urban", 50.0), ("FI:rural", 80.0),
    ("DE:rural", 100.0), ("RU:urban", 60.0), ("RU:living_street", 20.0), ("DE:zone30", 30.0),
    ("DE:zone:30", 30.0), ("GB:nsl_single", 60 * MPH), ("XX:urban", 50.0), ("signals", None), (None, None),
])
def test_maxspeed_values(raw, kmh) -> None:
    assert parse_maxspeed(raw) == (pytest.approx(kmh, rel=1e-9) if kmh else None)


# --- turns ----------------------------------------------------------------------------------

def test_restrictions_found_used_and_not_applicable_are_reported(grid) -> None:
    net, report = grid
    assert report.restrictions_found == 7
    assert report.restrictions_used == 4
    assert report.restrictions_not_applicable == {
        "conditional (ignored)": 1, "other vehicles only": 1,
        "a way not in the network (cut by the extract or not drivable)": 1}
    kinds = sorted((r["kind"], len(r["nodes"])) for r in net.graph.graph["turn_restrictions"])
    assert kinds == [("no", 3), ("no", 3), ("no", 4), ("only", 3)]


def obeys(net: RoadNetwork, route) -> bool:
    return broken_restrictions([*route.legs[0].tolist(), int(route.legs[1][-1])],
                               net.graph.graph["turn_restrictions"]) == 0


# A unit may turn round where it stands (it is parked, or stopped), so each place below is right
# at the junction, where turning round first would cost more than the way the test looks at.

@pytest.mark.parametrize("engine", ENGINES)
def test_no_left_turn_via_a_node(grid, engine) -> None:
    net, _ = grid
    index = RoutingIndex(net, engine=engine)
    route = index.route(place(net, 21, 22, 0.95), place(net, 22, 32, 0.05), "car")
    assert osm_path(net, route)[:3] != [21, 22, 32]
    assert obeys(net, route)
    free = index.route(place(net, 23, 22, 0.95), place(net, 22, 32, 0.05), "car")  # right turn: allowed
    assert osm_path(net, free) == [23, 22, 32]


@pytest.mark.parametrize("engine", ENGINES)
def test_only_straight_on_via_a_node(grid, engine) -> None:
    net, _ = grid
    index = RoutingIndex(net, engine=engine)
    for far in (21, 23):
        route = index.route(place(net, 12, 22, 0.95), place(net, 22, far, 0.05), "car")
        assert osm_path(net, route)[:3] != [12, 22, far]
        assert obeys(net, route)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_right_turn_via_a_way(grid, engine) -> None:
    net, _ = grid
    index = RoutingIndex(net, engine=engine)
    route = index.route(place(net, 11, 21, 0.95), place(net, 22, 12, 0.05), "car")
    assert osm_path(net, route)[:4] != [11, 21, 22, 12]
    assert obeys(net, route)
    # the same last turn is fine for a car that did not come that way
    plain = index.route(place(net, 21, 22, 0.95), place(net, 22, 12, 0.05), "car")
    assert osm_path(net, plain) == [21, 22, 12]


def test_u_turns_only_at_dead_ends_or_where_the_profile_and_the_signs_allow(grid) -> None:
    # A unit may turn round where it stands, so a start never needs a U-turn at a junction: the
    # rule is read off the turn graph every search runs on.
    net, _ = grid
    index = RoutingIndex(net, engine="scipy")
    tg, ids = index.turns, node_of(net)
    uturn = tg.arc_kind == "u_turn"
    assert np.isinf(index.turn_s["car"][uturn & ~tg.arc_dead_end]).all()
    assert np.isfinite(index.turn_s["patrol"][uturn & tg.arc_at_junction]).any()
    east, west = (tg.stretch_of[index.edge_id[(ids[a], ids[b])]] for a, b in ((22, 23), (23, 22)))
    signed = np.flatnonzero((tg.arc_tail == east) & (tg.arc_head == west))
    assert len(signed) == 1 and np.isinf(index.turn_s["patrol"][signed[0]])  # no_u_turn binds it too


def test_the_share_of_routes_breaking_a_restriction_before_and_after(grid) -> None:
    net, _ = grid
    from bench.routing_bench import restriction_breaking_share

    before, after = restriction_breaking_share(net)
    assert before > 0.0
    assert after == 0.0


@pytest.mark.parametrize("profile", ["car", "ambulance"])
def test_engines_agree_on_the_turn_graph_with_restrictions(grid, profile) -> None:
    from tests.routing.reference import reference_time

    net, _ = grid
    engines = [RoutingIndex(net, engine=e) for e in ENGINES]
    edges = list(net.graph.edges)
    rng = np.random.default_rng(3)
    snaps = [Snap(edges[i], float(f), 0.0, 0.0, 0.0) for i, f in
             zip(rng.integers(0, len(edges), 25).tolist(), rng.random(25).tolist(), strict=True)]
    target, sources = snaps[0], snaps[1:]
    want = [reference_time(engines[0], s, target, profile) for s in sources]
    for index in engines:
        np.testing.assert_allclose(index.travel_times_to(target, sources, profile), want, atol=0.05)
        for s in sources[:6]:
            assert index.route(s, target, profile).eta_green_s == pytest.approx(
                reference_time(index, s, target, profile), abs=0.05)


# --- signals --------------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_signals_on_approaches_are_one_signal_at_their_junction(engine) -> None:
    net, report = read_osm(DATA / "signals.osm")
    assert sorted(s["id"] for s in net.signals()) == ["OSM50", "OSM58"]
    assert report.signals["attached to a junction"] == 2
    assert report.signals["signalised crossings"] == 1
    index = RoutingIndex(net, engine=engine)
    east = index.route(place(net, 52, 51, 0.2), place(net, 53, 54, 0.8), "car")
    assert [s.signal_id for s in east.signals] == ["OSM50"]  # once, not at 51 and again at 53
    west = index.route(place(net, 54, 53, 0.2), place(net, 51, 52, 0.8), "car")
    assert [s.signal_id for s in west.signals] == ["OSM50"]
    south = index.route(place(net, 56, 55, 0.2), place(net, 58, 59, 0.5), "car")
    assert [s.signal_id for s in south.signals] == ["OSM58"]  # the north arm has no signal


# --- geometry -------------------------------------------------------------------------------

def test_a_long_north_south_way_at_high_latitude_is_as_long_as_the_geodesic() -> None:
    net, _ = read_osm(DATA / "north_south.osm")
    ids = node_of(net)
    g = net.graph
    total = sum(g.edges[ids[k], ids[k + 1]]["length_m"] for k in range(1, 9))
    geodesic = Geod(ellps="WGS84").inv(25.0, 59.0, 25.0, 61.0)[2]
    assert total == pytest.approx(geodesic, abs=0.01)
    assert abs(total - 2 * 110_574.0) > 1_000  # the old flat-earth scale was a kilometre out
    assert g.edges[ids[1], ids[2]]["speed_kmh"] == 80.0  # FI:rural
