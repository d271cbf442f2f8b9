"""The project's road network as a SUMO network: plain-XML nodes and edges written from the
routing graph and built by netconvert, with every signal keeping its id as SUMO's traffic-light id
and every road-graph edge u->v becoming SUMO edge `e<u>_<v>`, so a corridor the coordinator plans
(signal id + approach "u->v") names SUMO junctions and approaches directly.

What does not carry over (a signal without a plan, an approach netconvert gave no signalised
link, an edge netconvert dropped) is listed in the conversion report, not silently dropped."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import shapely
import sumolib
from shapely import LineString

from greenwave.corridor import approach_name
from greenwave.signal_plan import SignalPlan
from routing.network import RoadNetwork, metres_per_degree

# Lanes per direction and junction priority by road class: arterials get two lanes, so queues
# and a blue-light vehicle's overtaking behave as on the real streets.
LANES = {"motorway": 3, "trunk": 2, "primary": 2, "secondary": 2}
PRIORITY = {"motorway": 13, "trunk": 12, "primary": 11, "secondary": 10, "tertiary": 9,
            "unclassified": 8, "residential": 7, "living_street": 6, "service": 5}


def edge_id(u: int, v: int) -> str:
    return f"e{u}_{v}"


def node_id(n: int) -> str:
    return f"n{n}"


@dataclass(frozen=True)
class Unmapped:
    kind: str  # signal, approach, edge
    id: str
    why: str


@dataclass
class ConversionReport:
    signals: int = 0
    signals_mapped: int = 0
    approaches: int = 0
    approaches_mapped: int = 0
    edges: int = 0
    edges_mapped: int = 0
    unmapped: list[Unmapped] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # signal:approach cut off by the district edge

    def lines(self) -> list[str]:
        out = [f"signals {self.signals_mapped}/{self.signals} mapped to SUMO traffic lights, "
               f"approaches {self.approaches_mapped}/{self.approaches}, "
               f"edges {self.edges_mapped}/{self.edges}"]
        if self.outside:
            out.append(f"approaches outside the district, not simulated (the plans keep them): "
                       f"{', '.join(self.outside)}")
        out += [f"not mapped: {u.kind} {u.id}: {u.why}" for u in self.unmapped]
        return out


@dataclass(frozen=True)
class SumoNetwork:
    net_file: Path
    network: RoadNetwork  # the (sub-)network that was converted
    approach_of_edge: dict[str, str]  # SUMO edge id -> approach name "u->v"
    edge_length_m: dict[str, float]  # SUMO edge id -> SUMO lane length (junction cut included)
    plans: dict[str, SignalPlan]  # the plans of the signals that were mapped
    report: ConversionReport

    def sumo_edge(self, u: int, v: int) -> str:
        eid = edge_id(u, v)
        if eid not in self.edge_length_m:
            raise KeyError(f"road {u}->{v} is not in the SUMO network")
        return eid


def district_around(network: RoadNetwork, routes: Iterable[LineString],
                    margin_m: float = 400.0) -> RoadNetwork:
    """The part of a network within `margin_m` of the given routes (lon/lat lines), keeping the
    original node ids (so signal ids and approach names stay the coordinator's) and only its
    largest strongly connected part, so every trip inside can be driven. A corridor, not the
    routes' bounding box: a 10 km trip across a county stays a few hundred junctions."""
    lines = list(routes)
    g = network.graph
    lat0 = sum(y for ln in lines for _, y in ln.coords) / sum(len(ln.coords) for ln in lines)
    mx, my = metres_per_degree(lat0)
    area = shapely.union_all([shapely.transform(ln, lambda c: c * np.array([mx, my])).buffer(margin_m)
                              for ln in lines])
    ids = np.fromiter(g.nodes, dtype=np.int64, count=g.number_of_nodes())
    xy = np.array([(g.nodes[i]["lon"] * mx, g.nodes[i]["lat"] * my) for i in ids])
    inside = ids[shapely.contains_xy(area, xy[:, 0], xy[:, 1])]
    sub = g.subgraph(inside.tolist())
    largest = max(nx.strongly_connected_components(sub), key=len)
    return RoadNetwork(sub.subgraph(largest).copy(), name=f"{network.name}-corridor")


def _write_plain(network: RoadNetwork, plans: Mapping[str, SignalPlan], out: Path) -> tuple[Path, Path]:
    g = network.graph
    west, south, _, north = network.bounds()
    mx, my = metres_per_degree((south + north) / 2)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return round((lon - west) * mx, 2), round((lat - south) * my, 2)

    nodes = ET.Element("nodes")
    for n, d in g.nodes(data=True):
        x, y = xy(d["lon"], d["lat"])
        attrs = {"id": node_id(n), "x": str(x), "y": str(y)}
        sid = d.get("signal_id")
        if sid and sid in plans:
            attrs.update(type="traffic_light", tl=sid, tlType="static")
        ET.SubElement(nodes, "node", attrs)
    edges = ET.Element("edges")
    for u, v, d in g.edges(data=True):
        cls = d["road_class"]
        attrs = {"id": edge_id(u, v), "from": node_id(u), "to": node_id(v),
                 "numLanes": str(LANES.get(cls, 1)), "speed": f"{d['speed_kmh'] / 3.6:.2f}",
                 "priority": str(PRIORITY.get(cls, 7)), "type": cls}
        geom = d.get("geometry")
        if geom is not None and len(geom.coords) > 2:  # bends between the two junctions
            attrs["shape"] = " ".join(f"{x},{y}" for x, y in (xy(*c) for c in geom.coords))
        ET.SubElement(edges, "edge", attrs)
    nod, edg = out / "district.nod.xml", out / "district.edg.xml"
    ET.ElementTree(nodes).write(nod, encoding="utf-8", xml_declaration=True)
    ET.ElementTree(edges).write(edg, encoding="utf-8", xml_declaration=True)
    return nod, edg


def netconvert_binary() -> str:
    """The netconvert that comes with the `eclipse-sumo` wheel (pip install .[sumo])."""
    import sumo

    return str(Path(sumo.SUMO_HOME) / "bin" / "netconvert")


def convert(network: RoadNetwork, plans: Mapping[str, SignalPlan], out: Path) -> SumoNetwork:
    """Write and build the SUMO network for `network` under `out`; report what is not mapped."""
    # The netconvert call and its checks in the order SUMO needs them: one linear procedure.
    out.mkdir(parents=True, exist_ok=True)
    g = network.graph
    report = ConversionReport()
    signal_nodes = {d["signal_id"]: n for n, d in g.nodes(data=True) if d.get("signal_id")}
    report.signals = len(signal_nodes)
    usable = {sid: plans[sid] for sid in signal_nodes if sid in plans}
    for sid in signal_nodes:
        if sid not in plans:
            report.unmapped.append(Unmapped("signal", sid, "no signal plan (fewer than two approach groups); "
                                            "left unsignalised in SUMO"))
    nod, edg = _write_plain(network, usable, out)
    net_file = out / "district.net.xml"
    # Keep every junction and edge as the graph has them (no joining, no geometry removal, no
    # guessed signals): ids must stay one-to-one with the coordinator's.
    cmd = [netconvert_binary(), "--node-files", str(nod), "--edge-files", str(edg), "-o", str(net_file),
           "--tls.guess", "false", "--junctions.join", "false", "--geometry.remove", "false",
           "--no-turnarounds.except-deadend", "true", "--offset.disable-normalization", "true",
           "--no-warnings", "true", "--tls.default-type", "static"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"netconvert failed: {done.stderr.strip()[-2000:]}")
    net = sumolib.net.readNet(str(net_file), withPrograms=True)
    lengths = {e.getID(): e.getLength() for e in net.getEdges()}
    report.edges = g.number_of_edges()
    approach_of_edge: dict[str, str] = {}
    for u, v in g.edges:
        eid = edge_id(u, v)
        if eid in lengths:
            approach_of_edge[eid] = approach_name((u, v))
        else:
            report.unmapped.append(Unmapped("edge", eid, "netconvert dropped it"))
    report.edges_mapped = len(approach_of_edge)
    tls_ids = {t.getID() for t in net.getTrafficLights()}
    mapped: dict[str, SignalPlan] = {}
    for sid, plan in usable.items():
        if sid not in tls_ids:
            report.unmapped.append(Unmapped("signal", sid, "netconvert made no traffic light there"))
            continue
        tls = net.getTLS(sid)
        served = {approach_of_edge.get(c[0].getEdge().getID()) for c in tls.getConnections()}
        ok = True
        for a in sorted(plan.approaches):
            u, _, v = a.partition("->")
            if u.isdigit() and v.isdigit() and not g.has_edge(int(u), int(v)):
                # Cut off by the district boundary: nothing arrives on it in the simulation, and
                # the plan still times the junction as the real one does.
                report.outside.append(f"{sid}:{a}")
                continue
            report.approaches += 1
            if a in served:
                report.approaches_mapped += 1
            else:
                ok = False
                report.unmapped.append(Unmapped("approach", f"{sid}:{a}", "no signalised SUMO link from it"))
        if ok:
            mapped[sid] = plan
            report.signals_mapped += 1
        else:
            report.unmapped.append(Unmapped("signal", sid, "an approach is missing; no priority there"))
    for extra in sorted(tls_ids - set(usable)):
        report.unmapped.append(Unmapped("signal", extra, "SUMO traffic light with no plan of ours"))
    return SumoNetwork(net_file, network, approach_of_edge, lengths, mapped, report)


def route_edges(net: SumoNetwork, hops: Iterable[tuple[int, int]]) -> list[str]:
    """SUMO edge ids of a route given as road-graph hops; consecutive repeats collapse."""
    out: list[str] = []
    for u, v in hops:
        eid = net.sumo_edge(u, v)
        if not out or out[-1] != eid:
            out.append(eid)
    return out
