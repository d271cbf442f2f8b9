"""OpenStreetMap (XML and PBF) and GraphML loaders, checked on a small town the test writes."""

from pathlib import Path

import networkx as nx
import osmium
import pytest

from routing.cache import import_osm, load_cached
from routing.graphml import load_graphml, save_graphml
from routing.index import RoutingIndex
from routing.osm import load_osm, parse_maxspeed
from routing.snap import Snapper

# Two streets either side of a river joined by a bridge; Main St one-way eastbound with a signal
# at its crossing with Bridge Rd; a one-way spur that leads nowhere; a footpath.
NODES = {1: (119.9500, 30.0500), 2: (119.9520, 30.0500), 3: (119.9540, 30.0500),
         4: (119.9500, 30.0530), 5: (119.9520, 30.0530), 6: (119.9540, 30.0530),
         7: (119.9560, 30.0500), 8: (119.9520, 30.0490)}
WAYS = [
    (100, [1, 2, 3], {"highway": "secondary", "name": "Main St", "oneway": "yes", "maxspeed": "40"}),
    (101, [3, 6, 5, 4, 1], {"highway": "residential", "name": "Ring"}),
    (102, [2, 5], {"highway": "primary", "name": "Bridge Rd", "bridge": "yes"}),
    (103, [3, 7], {"highway": "service", "oneway": "yes"}),
    (104, [1, 8], {"highway": "footway"}),
]


def write_town(path: Path) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (lon, lat) in NODES.items():
        tag = '<tag k="highway" v="traffic_signals"/>' if nid == 2 else ""
        lines.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}">{tag}</node>')
    for wid, refs, tags in WAYS:
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{wid}" version="1">{body}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines))
    return path


def by_osm(net) -> dict[int, int]:
    return {d["osm_id"]: n for n, d in net.graph.nodes(data=True)}


def check_town(net) -> None:
    ids = by_osm(net)
    g = net.graph
    assert set(ids) == {1, 2, 3, 4, 5, 6}  # the dead-end spur (7) and footway (8) are gone
    assert g.has_edge(ids[1], ids[2]) and not g.has_edge(ids[2], ids[1])  # one-way Main St
    assert g.edges[ids[1], ids[2]]["speed_kmh"] == 40.0
    assert g.has_edge(ids[2], ids[5]) and g.has_edge(ids[5], ids[2])  # the bridge, both ways
    assert [s["id"] for s in net.signals()] == ["OSM2"]
    assert nx.is_strongly_connected(g)
    assert 180 < g.edges[ids[1], ids[2]]["length_m"] < 205  # 0.002 deg of longitude at 30 N


def test_osm_xml_loads_with_oneways_signals_speeds_and_the_bridge(tmp_path) -> None:
    check_town(load_osm(write_town(tmp_path / "town.osm")))


def test_osm_pbf_loads_the_same(tmp_path) -> None:
    xml = write_town(tmp_path / "town.osm")
    pbf = tmp_path / "town.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    check_town(load_osm(pbf))


def test_routes_on_the_imported_town_respect_the_one_way(tmp_path) -> None:
    net = load_osm(write_town(tmp_path / "town.osm"))
    index, snap = RoutingIndex.build(net, engine="scipy"), Snapper(net)
    ids = by_osm(net)
    west, east = net.graph.nodes[ids[1]], net.graph.nodes[ids[3]]
    a = snap.snap(west["lon"] + 0.0001, west["lat"])
    b = snap.snap(east["lon"] - 0.0001, east["lat"])
    there, back = index.route(a, b), index.route(b, a)
    assert there.length_m < 450 < back.length_m  # back east-to-west must go round the ring
    assert [s.signal_id for s in there.signals] == ["OSM2"]


def test_cache_and_graphml_round_trip(tmp_path) -> None:
    xml = write_town(tmp_path / "town.osm")
    cached = load_cached(import_osm(xml, tmp_path / "cache"))
    save_graphml(cached, tmp_path / "town.graphml")
    again = load_graphml(tmp_path / "town.graphml")
    check_town(cached)
    check_town(again)


@pytest.mark.parametrize("raw, kmh", [("50", 50.0), ("30 mph", 48.28), ("60 km/h", 60.0),
                                       ("signals", None), (None, None)])
def test_maxspeed_parsing(raw, kmh) -> None:
    assert parse_maxspeed(raw) == (pytest.approx(kmh, rel=1e-3) if kmh else None)
