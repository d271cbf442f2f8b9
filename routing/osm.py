"""Loading OpenStreetMap extracts (.osm XML or .osm.pbf) into a RoadNetwork, through pyosmium.

Drivable highway classes become edges with their speed (`maxspeed`, its zone codes and the
directional `maxspeed:forward`/`:backward` when tagged, the class default otherwise); `oneway` and
roundabouts are honoured; `highway=traffic_signals` nodes become signals with ids the green-wave
package uses; only the largest strongly connected part is kept, so every place left can be
reached from every other.

Access follows the OSM hierarchy for a motorcar (`access` -> `vehicle` -> `motor_vehicle` ->
`motorcar`, the most specific tag present decides). A way closed to cars but open to buses, PSV or
emergency vehicles is kept with `emergency_only=True` on its edges (see `EMERGENCY_MAY_USE_BUS_LANES`
in routing.profiles); `area=yes` outlines are never roads. Where two ways share a segment, the road
of the higher class keeps it (the first one read on a tie), so an overlapping way cannot overwrite a
main road's class and speed.

Segment lengths are geodesics on the WGS84 ellipsoid (pyproj), not a flat-earth scale: one scale
fixed at one latitude is 0.5-0.75 % short in a city at 60 N and badly wrong across a province."""

import re
from pathlib import Path
from typing import NamedTuple

import networkx as nx
import numpy as np
import osmium
from pyproj import Geod
from shapely import LineString

from routing.network import DEFAULT_SPEED_KMH, RoadNetwork
from routing.profiles import EMERGENCY_MAY_USE_BUS_LANES

_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?\s*$")
_ZONE = re.compile(r"^([A-Za-z]{2}):([a-z_]+?)(\d+)?$")
_KNOT_KMH = 1.852
_MPH_KMH = 1.609344
# `maxspeed=walk` (living streets in DE/AT): "walking pace", which German courts read as about
# 4-7 km/h; the top of that range, as a vehicle in one is not a pedestrian.
WALK_KMH = 7.0

# Implicit limits of `<country>:<zone>` codes, km/h (None: no general limit, the class default
# applies). From the OSM wiki's "Default speed limits" table as we read it, for the countries we
# are likeliest to see. CN is not a common OSM zone code; its values are the Road Traffic Safety
# Law Implementing Regulations art. 45 for roads with one lane each way and no signs: 50 in a city
# (`urban`), 70 on a highway outside (`rural`), 120 on an expressway.
ZONE_SPEED_KMH: dict[str, float | None] = {
    "CN:urban": 50.0, "CN:rural": 70.0, "CN:motorway": 120.0,
    "DE:urban": 50.0, "DE:rural": 100.0, "DE:motorway": None, "DE:living_street": WALK_KMH,
    "DE:bicycle_road": 30.0,
    "AT:urban": 50.0, "AT:rural": 100.0, "AT:motorway": 130.0, "AT:living_street": WALK_KMH,
    "CH:urban": 50.0, "CH:rural": 80.0, "CH:motorway": 120.0,
    "FI:urban": 50.0, "FI:rural": 80.0,
    "FR:urban": 50.0, "FR:rural": 80.0, "FR:motorway": 130.0,
    "IT:urban": 50.0, "IT:rural": 90.0, "IT:motorway": 130.0,
    "NL:urban": 50.0, "NL:rural": 80.0, "NL:motorway": 100.0,
    "PL:urban": 50.0, "PL:rural": 90.0, "PL:motorway": 140.0,
    "ES:urban": 50.0, "ES:rural": 90.0, "ES:motorway": 120.0,
    "RU:urban": 60.0, "RU:rural": 90.0, "RU:motorway": 110.0, "RU:living_street": 20.0,
    "GB:nsl_single": 60 * _MPH_KMH, "GB:nsl_dual": 70 * _MPH_KMH, "GB:motorway": 70 * _MPH_KMH,
}


def parse_maxspeed(value: str | None) -> float | None:
    """A `maxspeed` value in km/h: '50', '50 km/h', '30 mph', '10 knots', 'walk', a zone code from
    ZONE_SPEED_KMH ('DE:urban') or 'XX:zone30'. None where the class default applies: 'none' (no
    general limit; the profile's cap still holds), 'signals', unknown codes, absent. Of a `;` list
    the first value is read."""
    if not value:
        return None
    value = value.split(";")[0].strip()
    if value == "walk":
        return WALK_KMH
    m = _SPEED.match(value)
    if m:
        speed = float(m.group(1)) * {"mph": _MPH_KMH, "knots": _KNOT_KMH}.get(m.group(2) or "", 1.0)
        return speed if speed > 0 else None  # a 0 is a mapping error, and would divide by zero
    zone = _ZONE.match(value)
    if not zone:
        return None
    country, kind, number = zone.group(1).upper(), zone.group(2), zone.group(3)
    if kind == "zone" and number:  # 'DE:zone30': a signed 30 zone, the number is the limit
        return float(number)
    return ZONE_SPEED_KMH.get(f"{country}:{kind}{number or ''}")


def way_speeds(tags: dict[str, str], highway: str) -> tuple[float, float]:
    """Free-flow speeds (along the way's node order, against it): `maxspeed:forward` and
    `maxspeed:backward` where tagged, then `maxspeed`, then its zone (`source:maxspeed`,
    `maxspeed:type`, `zone:maxspeed`, which mappers use for implicit limits), then the class."""
    default = DEFAULT_SPEED_KMH[highway]
    common = next((v for key in ("maxspeed", "source:maxspeed", "maxspeed:type", "zone:maxspeed")
                   if (v := parse_maxspeed(tags.get(key))) is not None), default)
    forward = parse_maxspeed(tags.get("maxspeed:forward"))
    backward = parse_maxspeed(tags.get("maxspeed:backward"))
    return (forward if forward is not None else common, backward if backward is not None else common)


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


# The access keys that apply to a motorcar, most general first: a more specific key present on the
# way overrides the ones before it (wiki: Key:access, "Transport mode restrictions").
_CAR_ACCESS_KEYS = ("access", "vehicle", "motor_vehicle", "motorcar")
# Values that shut a car out. `agricultural`/`forestry` (only those vehicles) and `psv`/`bus`/
# `emergency` as values (`motor_vehicle=psv`: only those) also mean "not a private car", as in
# OSRM's car profile; `destination`, `delivery`, `permissive`, `designated`, `yes` and the rest keep
# the way (an ambulance going to an address in a "destination only" street is what it is for).
_CLOSED = frozenset({"no", "private", "agricultural", "forestry", "psv", "bus", "emergency"})
_OPEN_TO_SERVICE_VEHICLE = frozenset({"yes", "designated"})
# Private parking aisles and driveways are someone's yard: dropped even when an emergency tag would
# otherwise keep them (issue 16 wants them at most as the first or last stretch; not done yet).
_PRIVATE_YARD = frozenset({"parking_aisle", "driveway"})
# Rank of a highway class when two ways share a segment: the higher keeps it.
_CLASS_RANK = {c: r for r, c in enumerate(reversed((
    "motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link", "trunk_link",
    "primary_link", "secondary_link", "tertiary_link", "unclassified", "residential", "road",
    "living_street", "service")))}


def car_access(tags: dict[str, str]) -> str:
    """The access value that applies to a motorcar: the most specific of the hierarchy's keys
    present (`;`-lists and conditional tags are not read: their first value is taken)."""
    value = "yes"
    for key in _CAR_ACCESS_KEYS:
        if key in tags:
            value = tags[key].split(";")[0].strip()
    return value


def way_access(tags: dict[str, str]) -> str | None:
    """'car' for a way cars may use, 'emergency' for one only emergency vehicles may (bus lanes,
    PSV-only and `emergency=yes` ways), None for a way no road vehicle of ours may use."""
    if tags.get("area") == "yes":  # the outline of a square or a car park, not a street
        return None
    if car_access(tags) not in _CLOSED:
        return "car"
    if tags.get("service") in _PRIVATE_YARD:
        return None
    if tags.get("emergency") in _OPEN_TO_SERVICE_VEHICLE:
        return "emergency"
    if EMERGENCY_MAY_USE_BUS_LANES and any(
            tags.get(k) in _OPEN_TO_SERVICE_VEHICLE for k in ("psv", "bus")):
        return "emergency"
    return None


class _Way(NamedTuple):
    nodes: list[tuple[int, float, float]]  # (osm id, lon, lat)
    highway: str
    speed_kmh: tuple[float, float]  # along the node order, against it
    oneway: int  # as `oneway_direction`
    emergency_only: bool


def _keeps(new: dict[str, object], old: dict[str, object]) -> bool:
    """Whether `new` should replace `old` on a shared directed segment: a way open to cars beats an
    emergency-only one, then the higher class wins; on a tie the first way read stays."""
    def key(d: dict[str, object]) -> tuple[bool, int]:
        return (not d["emergency_only"], _CLASS_RANK.get(str(d["road_class"]), -1))
    return key(new) > key(old)


class _Collector(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.signals: set[int] = set()
        self.ways: list[_Way] = []

    def node(self, n: osmium.osm.Node) -> None:
        if n.tags.get("highway") == "traffic_signals":
            self.signals.add(n.id)

    def way(self, w: osmium.osm.Way) -> None:
        highway = w.tags.get("highway")
        if highway not in DEFAULT_SPEED_KMH:
            return
        tags = {t.k: t.v for t in w.tags}
        access = way_access(tags)
        if access is None:
            return
        nodes = [(n.ref, n.lon, n.lat) for n in w.nodes if n.location.valid()]
        if len(nodes) >= 2:
            self.ways.append(_Way(nodes, highway, way_speeds(tags, highway), oneway_direction(tags, highway),
                                  access == "emergency"))


_WGS84 = Geod(ellps="WGS84")


def _segment_lengths(ways: list[_Way]) -> np.ndarray:
    """Geodesic length in metres of every consecutive node pair of every way, way after way, in
    one vectorised pyproj call (a call per segment would cost more than the rest of the import)."""
    starts = [pt for w in ways for pt in w.nodes[:-1]]
    ends = [pt for w in ways for pt in w.nodes[1:]]
    a = np.array([(lon, lat) for _, lon, lat in starts], dtype=np.float64).reshape(-1, 2)
    b = np.array([(lon, lat) for _, lon, lat in ends], dtype=np.float64).reshape(-1, 2)
    _, _, dist = _WGS84.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    lengths: np.ndarray = np.asarray(dist, dtype=np.float64)
    return lengths


def load_osm(path: Path | str) -> RoadNetwork:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such extract: {path}")
    collector = _Collector()
    collector.apply_file(str(path), locations=True)
    if not collector.ways:
        raise ValueError(f"{path}: no drivable roads (highway=*) found")
    g = nx.DiGraph()
    lengths = iter(_segment_lengths(collector.ways).tolist())
    for nodes, highway, (forward, backward), oneway, emergency_only in collector.ways:
        for (a, alon, alat), (b, blon, blat) in zip(nodes, nodes[1:], strict=False):
            length = next(lengths)  # one per consecutive pair, repeats included, as computed
            if a == b:
                continue
            for osm_id, lon, lat in ((a, alon, alat), (b, blon, blat)):
                if osm_id not in g:
                    attrs: dict[str, object] = {"lon": lon, "lat": lat, "osm_id": osm_id}
                    if osm_id in collector.signals:
                        attrs["signal_id"] = f"OSM{osm_id}"
                    g.add_node(osm_id, **attrs)
            common = {"length_m": length, "road_class": highway, "oneway": oneway != 0,
                      "emergency_only": emergency_only}
            along = {**common, "speed_kmh": forward, "travel_time_s": length / (forward / 3.6)}
            against = {**common, "speed_kmh": backward, "travel_time_s": length / (backward / 3.6)}
            if oneway >= 0 and (not g.has_edge(a, b) or _keeps(along, g.edges[a, b])):
                g.add_edge(a, b, geometry=LineString([(alon, alat), (blon, blat)]), **along)
            if oneway <= 0 and (not g.has_edge(b, a) or _keeps(against, g.edges[b, a])):
                g.add_edge(b, a, geometry=LineString([(blon, blat), (alon, alat)]), **against)
    largest = max(nx.strongly_connected_components(g), key=len)
    g = nx.convert_node_labels_to_integers(g.subgraph(largest).copy(), ordering="sorted")
    return RoadNetwork(g, name=path.name)
