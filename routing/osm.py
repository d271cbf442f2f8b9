"""Loading OpenStreetMap extracts (.osm XML or .osm.pbf) into a RoadNetwork, through pyosmium.

Drivable highway classes become edges with their speed (`maxspeed` when tagged, the class
default otherwise); `oneway` and roundabouts are honoured; `highway=traffic_signals` nodes become
signals with ids the green-wave package uses; only the largest strongly connected part is kept,
so every place left can be reached from every other."""

import math
import re
from pathlib import Path

import networkx as nx
import osmium
from shapely import LineString

from routing.network import DEFAULT_SPEED_KMH, RoadNetwork, metres_per_degree

_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")


def parse_maxspeed(value: str | None) -> float | None:
    """'50', '50 km/h', '30 mph' -> km/h; anything else (e.g. 'signals', 'none') -> None."""
    if not value:
        return None
    m = _SPEED.match(value.split(";")[0])
    if not m:
        return None
    speed = float(m.group(1))
    return speed * 1.609344 if m.group(2) == "mph" else speed


def oneway_direction(tags: dict[str, str], highway: str) -> int:
    """1: only along the way's node order; -1: only against it; 0: both ways."""
    value = tags.get("oneway", "")
    if value in ("yes", "true", "1"):
        return 1
    if value in ("-1", "reverse"):
        return -1
    if value == "no":
        return 0
    if tags.get("junction") in ("roundabout", "circular") or highway == "motorway":
        return 1
    return 0


class _Collector(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.signals: set[int] = set()
        self.ways: list[tuple[list[tuple[int, float, float]], str, float, int]] = []

    def node(self, n: osmium.osm.Node) -> None:
        if n.tags.get("highway") == "traffic_signals":
            self.signals.add(n.id)

    def way(self, w: osmium.osm.Way) -> None:
        highway = w.tags.get("highway")
        if highway not in DEFAULT_SPEED_KMH:
            return
        tags = {t.k: t.v for t in w.tags}
        speed = parse_maxspeed(tags.get("maxspeed")) or DEFAULT_SPEED_KMH[highway]
        nodes = [(n.ref, n.lon, n.lat) for n in w.nodes if n.location.valid()]
        if len(nodes) >= 2:
            self.ways.append((nodes, highway, speed, oneway_direction(tags, highway)))


def load_osm(path: Path | str) -> RoadNetwork:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such extract: {path}")
    collector = _Collector()
    collector.apply_file(str(path), locations=True)
    if not collector.ways:
        raise ValueError(f"{path}: no drivable roads (highway=*) found")
    g = nx.DiGraph()
    mid_lat = collector.ways[0][0][0][2]
    mx, my = metres_per_degree(mid_lat)
    for nodes, highway, speed, oneway in collector.ways:
        for (a, alon, alat), (b, blon, blat) in zip(nodes, nodes[1:], strict=False):
            if a == b:
                continue
            for osm_id, lon, lat in ((a, alon, alat), (b, blon, blat)):
                if osm_id not in g:
                    attrs: dict[str, object] = {"lon": lon, "lat": lat, "osm_id": osm_id}
                    if osm_id in collector.signals:
                        attrs["signal_id"] = f"OSM{osm_id}"
                    g.add_node(osm_id, **attrs)
            length = math.hypot((blon - alon) * mx, (blat - alat) * my)
            edge = {"length_m": length, "road_class": highway, "speed_kmh": speed,
                    "travel_time_s": length / (speed / 3.6), "oneway": oneway != 0}
            if oneway >= 0:
                g.add_edge(a, b, geometry=LineString([(alon, alat), (blon, blat)]), **edge)
            if oneway <= 0:
                g.add_edge(b, a, geometry=LineString([(blon, blat), (alon, alat)]), **edge)
    largest = max(nx.strongly_connected_components(g), key=len)
    g = nx.convert_node_labels_to_integers(g.subgraph(largest).copy(), ordering="sorted")
    return RoadNetwork(g, name=path.name)
