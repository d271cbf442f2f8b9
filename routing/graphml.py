"""GraphML in and out, so a network built elsewhere (or by us) can be exchanged as a file.

GraphML has no geometry type: edge geometry travels as WKT text and is parsed back on load."""

import json
from pathlib import Path

import networkx as nx
from shapely import wkt

from routing.network import RoadNetwork


def save_graphml(network: RoadNetwork, path: Path | str) -> None:
    g = network.graph.copy()
    restrictions = g.graph.get("turn_restrictions", [])
    g.graph = {k: v for k, v in g.graph.items() if isinstance(v, str | int | float | bool)}  # caches stay out
    g.graph["turn_restrictions"] = json.dumps(restrictions)  # GraphML has no lists: as JSON text
    for _, _, d in g.edges(data=True):
        d["geometry"] = d["geometry"].wkt
    nx.write_graphml(g, str(path))


def load_graphml(path: Path | str) -> RoadNetwork:
    g = nx.read_graphml(str(path))
    for _, _, d in g.edges(data=True):
        d["geometry"] = wkt.loads(d["geometry"])
        d["oneway"] = bool(d.get("oneway", False))
        for key in ("length_m", "speed_kmh", "travel_time_s"):
            d[key] = float(d[key])
        for key in ("access_car", "access_psv", "access_emergency"):
            if key in d:
                d[key] = int(d[key])
        if "signal_approach" in d:
            d["signal_approach"] = bool(d["signal_approach"])
    g = nx.relabel_nodes(g, {n: int(n) for n in g.nodes})
    g.graph["turn_restrictions"] = json.loads(g.graph.get("turn_restrictions", "[]"))
    for _, d in g.nodes(data=True):
        d["lon"], d["lat"] = float(d["lon"]), float(d["lat"])
    return RoadNetwork(nx.DiGraph(g), name=Path(path).stem)
