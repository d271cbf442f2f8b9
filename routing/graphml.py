"""GraphML in and out, so a network built elsewhere (or by us) can be exchanged as a file.

GraphML has no geometry type: edge geometry travels as WKT text and is parsed back on load."""

from pathlib import Path

import networkx as nx
from shapely import wkt

from routing.network import RoadNetwork


def save_graphml(network: RoadNetwork, path: Path | str) -> None:
    g = network.graph.copy()
    g.graph = {k: v for k, v in g.graph.items() if isinstance(v, str | int | float | bool)}  # caches stay out
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
    g = nx.relabel_nodes(g, {n: int(n) for n in g.nodes})
    for _, d in g.nodes(data=True):
        d["lon"], d["lat"] = float(d["lon"]), float(d["lat"])
    return RoadNetwork(nx.DiGraph(g), name=Path(path).stem)
