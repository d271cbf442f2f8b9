"""Loading OpenStreetMap extracts (.osm XML or .osm.pbf) into a RoadNetwork, through pyosmium,
with a report of what was kept, dropped and why.

Drivable highway classes become edges with geodesic lengths (pyproj), their speed limits (zone
codes, directional limits, mph: `routing.speed_limits`) and who may use them per direction
(`routing.access`); ways no vehicle may use, `area=yes` outlines and private driveways are
dropped, ferries are counted, not routed. Where two ways share a segment the bigger road keeps
it. Turn restrictions (node and way via) are resolved to node paths the turn graph applies.
A signal node on the approach to a junction is attributed to that junction, for the approach it
faces, so one crossing is one signal; signalised pedestrian crossings count where a vehicle
stops. Only the largest strongly connected part is kept, so every place left can be reached
from every other."""

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import osmium
from pyproj import Geod
from shapely import LineString

from routing import access
from routing.network import CLASS_RANK, DEFAULT_SPEED_KMH, RoadNetwork
from routing.speed_limits import parse_maxspeed, way_speeds_kmh

__all__ = ["ImportReport", "load_osm", "oneway_direction", "parse_maxspeed", "read_osm"]

GEOD = Geod(ellps="WGS84")
SIGNAL_REACH_M = 30.0  # a signal node this close (along the way) to a junction belongs to it
MODES = ("motorcar", "psv", "emergency")
RESTRICTION_KEYS = ("restriction", "restriction:motorcar", "restriction:motor_vehicle",
                    "restriction:vehicle")


@dataclass
class ImportReport:
    """What an import kept and dropped, and why; printed by `import-osm` and kept beside the cache."""

    source: str = ""
    nodes_kept: int = 0
    ways_kept: int = 0
    edges_kept: int = 0
    ways_dropped: dict[str, int] = field(default_factory=dict)
    nodes_dropped: dict[str, int] = field(default_factory=dict)
    segments_shared: int = 0  # segments two ways both drew; the bigger road kept them
    ferries: int = 0
    restrictions_found: int = 0
    restrictions_used: int = 0
    restrictions_not_applicable: dict[str, int] = field(default_factory=dict)
    signals: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        def counts(d: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "none"

        return [f"{self.source}: {self.nodes_kept} nodes, {self.edges_kept} directed edges from "
                f"{self.ways_kept} ways kept",
                f"ways dropped: {counts(self.ways_dropped)}",
                f"nodes dropped: {counts(self.nodes_dropped)}",
                f"segments drawn by two ways (bigger road kept): {self.segments_shared}",
                f"ferries (reported, not routed): {self.ferries}",
                f"turn restrictions: {self.restrictions_found} found, {self.restrictions_used} used, "
                f"not applicable: {counts(self.restrictions_not_applicable)}",
                f"signals: {counts(self.signals)}"]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def oneway_direction(tags: dict[str, str], highway: str) -> int:
    """1: only along the way's node order; -1: only against it; 0: both ways."""
    value = tags.get("oneway", "")
    if value in ("yes", "true", "1"):
        return 1
    if value in ("-1", "reverse"):
        return -1
    if value == "no":
        return 0
    if tags.get("junction") in ("roundabout", "circular") or highway in ("motorway", "motorway_link"):
        return 1
    return 0


@dataclass
class _Way:
    osm_id: int
    refs: list[int]
    highway: str
    speeds: tuple[float, float]  # km/h forward, backward
    # per direction (forward, backward): level per mode, in MODES order
    levels: tuple[tuple[int, int, int], tuple[int, int, int]]


class _Collector(osmium.SimpleHandler):
    def __init__(self, report: ImportReport) -> None:
        super().__init__()
        self.report = report
        self.dropped: Counter[str] = Counter()
        self.signals: dict[int, str | None] = {}  # node -> the direction it faces, if tagged
        self.crossings: set[int] = set()
        self.coords: dict[int, tuple[float, float]] = {}
        self.ways: list[_Way] = []
        self.relations: list[tuple[int, dict[str, str], list[tuple[str, int, str]]]] = []

    def node(self, n: osmium.osm.Node) -> None:
        highway = n.tags.get("highway")
        signalised_crossing = (n.tags.get("crossing") == "traffic_signals"
                               or n.tags.get("crossing:signals") == "yes")
        if highway == "traffic_signals" or (highway == "crossing" and signalised_crossing):
            facing = n.tags.get("traffic_signals:direction") or n.tags.get("direction")
            self.signals[n.id] = facing if facing in ("forward", "backward") else None
            if signalised_crossing:
                self.crossings.add(n.id)

    def way(self, w: osmium.osm.Way) -> None:
        tags = {t.k: t.v for t in w.tags}
        if tags.get("route") == "ferry":
            self.report.ferries += 1
            return
        highway = tags.get("highway")
        if highway not in DEFAULT_SPEED_KMH:
            return
        if tags.get("area") == "yes":  # the outline of a square or a car park, not a street
            self.dropped["area"] += 1
            return
        levels = tuple(tuple(access.mode_level(tags, highway, m, d) for m in MODES)
                       for d in ("forward", "backward"))
        if tags.get("service") in access.DESTINATION_SERVICE and \
                levels[0][0] == access.DESTINATION and tags.get("access") == "private":
            self.dropped["private_service"] += 1  # someone's driveway: no unit starts or ends there
            return
        oneway = oneway_direction(tags, highway)
        fwd, bwd = [list(lv) for lv in levels]
        against = bwd if oneway == 1 else fwd if oneway == -1 else None
        if against is not None:
            contraflow_bus = tags.get("oneway:psv") == "no" or tags.get("oneway:bus") == "no"
            against[0] = access.NO
            against[1] = against[1] if contraflow_bus else access.NO
            against[2] = access.NO if against[2] != access.UNSET else access.UNSET
        if not any(v > access.NO for v in (*fwd, *bwd)):
            self.dropped["access"] += 1
            return
        refs = []
        for n in w.nodes:
            if not n.location.valid():
                continue
            refs.append(n.ref)
            self.coords[n.ref] = (n.lon, n.lat)
        if len(refs) < 2:
            self.dropped["cut_by_extract_edge"] += 1
            return
        self.ways.append(_Way(w.id, refs, highway, way_speeds_kmh(tags, DEFAULT_SPEED_KMH[highway]),
                              (tuple(fwd), tuple(bwd))))  # type: ignore[arg-type]

    def relation(self, r: osmium.osm.Relation) -> None:
        if r.tags.get("type") == "restriction":
            self.relations.append((r.id, {t.k: t.v for t in r.tags},
                                   [(m.type, m.ref, m.role) for m in r.members]))


def _edges(ways: list[_Way], coords: dict[int, tuple[float, float]],
           report: ImportReport) -> dict[tuple[int, int], dict[str, Any]]:
    """Directed segments with their attributes; a segment two ways share goes to the bigger road
    (a square drawn over a street must not make it a footway, whichever way is read last)."""
    edges: dict[tuple[int, int], dict[str, Any]] = {}
    rank = {c: i for i, c in enumerate(CLASS_RANK)}
    shared: set[tuple[int, int]] = set()
    for way in ways:
        r = rank.get(way.highway, 0)
        for a, b in zip(way.refs, way.refs[1:], strict=False):
            if a == b:
                continue
            for (u, v), lv, kmh in (((a, b), way.levels[0], way.speeds[0]),
                                    ((b, a), way.levels[1], way.speeds[1])):
                if max(lv) <= access.NO:
                    continue
                old = edges.get((u, v))
                if old is not None:
                    shared.add((min(u, v), max(u, v)))
                    if old["rank"] >= r:
                        continue
                edges[(u, v)] = {"rank": r, "road_class": way.highway, "speed_kmh": kmh,
                                 "access_car": lv[0], "access_psv": lv[1], "access_emergency": lv[2]}
    report.segments_shared = len(shared)
    pairs = list(edges)
    if pairs:
        lon1, lat1 = np.array([coords[u] for u, _ in pairs]).T
        lon2, lat2 = np.array([coords[v] for _, v in pairs]).T
        _, _, metres = GEOD.inv(lon1, lat1, lon2, lat2)
        for (u, v), length in zip(pairs, np.asarray(metres).tolist(), strict=True):
            d = edges[(u, v)]
            del d["rank"]
            d["length_m"] = float(length)
            d["travel_time_s"] = length / (d["speed_kmh"] / 3.6)
            d["oneway"] = (v, u) not in edges
            d["geometry"] = LineString([coords[u], coords[v]])
    return edges


def _attach_signals(g: nx.DiGraph, signals: dict[int, str | None], crossings: set[int],
                    way_sides: dict[int, tuple[int | None, int | None]], report: ImportReport) -> None:
    """Give each signal to the junction it controls: the nearest junction within reach along the
    way, in the direction the signal faces, and only for that approach. A signal with no junction
    in reach (a mid-block crossing) stops traffic at its own node, in the directions it faces."""
    nbrs = {x: set(g.predecessors(x)) | set(g.successors(x)) for x in g.nodes}
    counts: Counter[str] = Counter()

    def junction(x: int) -> bool:
        return len(nbrs[x]) >= 3

    def walk(s: int, first: int) -> tuple[int, tuple[int, int]] | None:
        """From signal s towards neighbour `first`: the junction reached within reach, and the
        directed edge by which traffic going that way enters it."""
        prev, cur = s, first
        dist = _length(g, s, first)
        while not junction(cur):
            ahead = nbrs[cur] - {prev}
            if len(ahead) != 1 or dist > SIGNAL_REACH_M:
                return None
            prev, cur = cur, ahead.pop()
            dist += _length(g, prev, cur)
        return (cur, (prev, cur)) if dist <= SIGNAL_REACH_M and g.has_edge(prev, cur) else None

    for s, facing in signals.items():
        if s not in g:
            continue
        counts["signal nodes"] += 1
        if s in crossings:
            counts["signalised crossings"] += 1
        if junction(s):
            g.nodes[s]["signal_id"] = f"OSM{s}"
            for u in g.predecessors(s):
                g.edges[u, s]["signal_approach"] = True
            counts["at a junction node"] += 1
            continue
        prev_side, next_side = way_sides.get(s, (None, None))
        sides = [next_side] if facing == "forward" else [prev_side] if facing == "backward" else list(nbrs[s])
        found = [(hit, side) for side in sides if side is not None and side in nbrs[s]
                 for hit in [walk(s, side)] if hit is not None]
        if found:
            (j, approach), _ = min(found, key=lambda f: _length(g, s, f[1]))
            g.nodes[j]["signal_id"] = f"OSM{j}"
            g.edges[approach]["signal_approach"] = True
            counts["attached to a junction"] += 1
            continue
        g.nodes[s]["signal_id"] = f"OSM{s}"
        froms = [prev_side] if facing == "forward" else [next_side] if facing == "backward" else list(nbrs[s])
        for u in froms:
            if u is not None and g.has_edge(u, s):
                g.edges[u, s]["signal_approach"] = True
        counts["on their own (mid-block)"] += 1
    junctions = {n for n, d in g.nodes(data=True) if d.get("signal_id")}
    counts["signalised junctions and crossings"] = len(junctions)
    report.signals = dict(counts)


def _length(g: nx.DiGraph, a: int, b: int) -> float:
    d = g.get_edge_data(a, b) or g.get_edge_data(b, a)
    return float(d["length_m"])


def _restrictions(relations: Iterable[tuple[int, dict[str, str], list[tuple[str, int, str]]]],
                  way_refs: dict[int, list[int]], g: nx.DiGraph,
                  report: ImportReport) -> list[dict[str, Any]]:
    """Each applicable restriction as {kind: no|only, nodes: [a, via..., b], except: [...]}: the
    movement from edge a->via[0] through the via nodes to edge via[-1]->b."""
    out: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    for _, tags, members in relations:
        report.restrictions_found += 1
        value = next((tags[k] for k in RESTRICTION_KEYS if k in tags), None)
        if value is None:
            conditional = any(k.startswith("restriction") and k.endswith(":conditional") for k in tags)
            skipped["conditional (ignored)" if conditional else "other vehicles only"] += 1
            continue
        kind = "no" if value.startswith("no_") else "only" if value.startswith("only_") else None
        froms = [ref for t, ref, role in members if t == "w" and role == "from"]
        tos = [ref for t, ref, role in members if t == "w" and role == "to"]
        via_nodes = [ref for t, ref, role in members if t == "n" and role == "via"]
        via_ways = [ref for t, ref, role in members if t == "w" and role == "via"]
        if kind is None or not froms or not tos or bool(via_nodes) == bool(via_ways) or len(via_nodes) > 1:
            skipped["malformed"] += 1
            continue
        if any(w not in way_refs for w in (*froms, *tos, *via_ways)):
            skipped["a way not in the network (cut by the extract or not drivable)"] += 1
            continue
        paths = [p for f in froms for t in tos
                 for p in [_movement(way_refs[f], [way_refs[w] for w in via_ways], way_refs[t],
                                     via_nodes[0] if via_nodes else None)] if p is not None]
        if not paths:
            skipped["from/to ways do not meet the via"] += 1
            continue
        paths = [p for p in paths if all(g.has_edge(a, b) for a, b in zip(p, p[1:], strict=False))]
        if not paths:
            skipped["no such movement in the network"] += 1
            continue
        excepted = [m.strip() for m in tags.get("except", "").split(";") if m.strip()]
        out.extend({"kind": kind, "nodes": p, "except": excepted} for p in paths)
        report.restrictions_used += 1
    report.restrictions_not_applicable = dict(skipped)
    return out


def _movement(frm: list[int], vias: list[list[int]], to: list[int], via_node: int | None) -> list[int] | None:
    """The node path of a restriction, or None when its ways do not join end to end at the via."""
    def neighbour(refs: list[int], at: int) -> int | None:
        if refs[0] == at:
            return refs[1]
        if refs[-1] == at:
            return refs[-2]
        return None

    if via_node is not None:
        a, b = neighbour(frm, via_node), neighbour(to, via_node)
        return [a, via_node, b] if a is not None and b is not None else None
    for start in (frm[0], frm[-1]):
        chain, left, cur = [start], list(vias), start
        while left:
            nxt = next((w for w in left if cur in (w[0], w[-1])), None)
            if nxt is None:
                break
            left.remove(nxt)
            chain.extend((nxt if nxt[0] == cur else nxt[::-1])[1:])
            cur = chain[-1]
        a, b = neighbour(frm, start), neighbour(to, cur)
        if not left and a is not None and b is not None:
            return [a, *chain, b]
    return None


def read_osm(path: Path | str) -> tuple[RoadNetwork, ImportReport]:
    """The network of an extract and the report of its import."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such extract: {path}")
    report = ImportReport(source=path.name)
    collector = _Collector(report)
    collector.apply_file(str(path), locations=True)
    report.ways_dropped = dict(collector.dropped)
    if not collector.ways:
        raise ValueError(f"{path}: no drivable roads (highway=*) found")
    edges = _edges(collector.ways, collector.coords, report)
    g = nx.DiGraph()
    for (u, v), d in edges.items():
        g.add_edge(u, v, **d)
    for n in g.nodes:
        lon, lat = collector.coords[n]
        g.nodes[n].update(lon=lon, lat=lat, osm_id=n)
    largest = max(nx.strongly_connected_components(g), key=len)
    report.nodes_dropped = {"not connected to the largest part": g.number_of_nodes() - len(largest)}
    g = g.subgraph(largest).copy()
    way_refs = {w.osm_id: w.refs for w in collector.ways}
    report.ways_kept = sum(1 for w in collector.ways if any(r in largest for r in w.refs))
    way_sides: dict[int, tuple[int | None, int | None]] = {}
    for w in collector.ways:
        for i, ref in enumerate(w.refs):
            if ref in collector.signals:
                way_sides[ref] = (w.refs[i - 1] if i > 0 else None,
                                  w.refs[i + 1] if i + 1 < len(w.refs) else None)
    _attach_signals(g, collector.signals, collector.crossings, way_sides, report)
    restrictions = _restrictions(collector.relations, way_refs, g, report)
    label = {n: i for i, n in enumerate(sorted(g.nodes))}
    g = nx.convert_node_labels_to_integers(g, ordering="sorted")  # the same numbering as `label`
    for _, _, d in g.edges(data=True):
        d.setdefault("signal_approach", False)
    g.graph["turn_restrictions"] = [{**r, "nodes": [label[n] for n in r["nodes"]]} for r in restrictions]
    report.nodes_kept, report.edges_kept = g.number_of_nodes(), g.number_of_edges()
    return RoadNetwork(g, name=path.name), report


def load_osm(path: Path | str) -> RoadNetwork:
    return read_osm(path)[0]
