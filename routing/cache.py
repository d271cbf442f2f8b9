"""The imported-network cache: build from an extract once, start the server from it in seconds."""

import pickle
from pathlib import Path
from typing import BinaryIO

import networkx as nx
import numpy as np
import shapely

from routing import cch
from routing.network import RoadNetwork
from routing.osm import load_osm

SUFFIX = ".network.pickle"


def import_osm(path: Path | str, cache_dir: Path | str) -> Path:
    network = load_osm(path)
    if cch.available():  # the hierarchy's node order depends on topology only: compute it once here
        g = network.graph
        tail, head = (np.array(side, dtype=np.int32) for side in zip(*g.edges(), strict=True))
        lon = np.array([g.nodes[i]["lon"] for i in range(g.number_of_nodes())])
        lat = np.array([g.nodes[i]["lat"] for i in range(g.number_of_nodes())])
        g.graph[cch.ORDER_KEY] = cch.compute_order(g.number_of_nodes(), tail, head, lon, lat)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / (Path(path).name.split(".")[0] + SUFFIX)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        _dump(network.graph, f)
    tmp.replace(out)  # never leave a half-written cache behind
    return out


def _dump(graph: nx.DiGraph, f: BinaryIO) -> None:
    # Edge geometries go as one coordinate array: pickled one LineString at a time they were
    # most of the start-up (360k WKB round trips at 100k nodes).
    edges = [d for *_, d in graph.edges(data=True)]
    geoms = [d.pop("geometry") for d in edges]
    try:
        coords, which = shapely.get_coordinates(np.array(geoms, dtype=object), return_index=True)
        pickle.dump({"graph": graph, "coords": coords, "line_of_coord": which}, f,
                    protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for d, geom in zip(edges, geoms, strict=True):
            d["geometry"] = geom


def load_cached(path: Path | str) -> RoadNetwork:
    # Only caches this program wrote are loaded: pickle trusts its input.
    with open(path, "rb") as f:
        saved = pickle.load(f)
    graph = saved["graph"]
    lines = shapely.linestrings(saved["coords"], indices=saved["line_of_coord"])
    for (*_, d), line in zip(graph.edges(data=True), lines.tolist(), strict=True):
        d["geometry"] = line
    return RoadNetwork(graph, name=Path(path).name.removesuffix(SUFFIX))
