"""The imported-network cache: build from an extract once, start the server from it in seconds.

A cache holds the network's arrays (what the routing index and the snapper are built from, with
the hierarchy's node order) and its graph as pickled bytes without edge geometry (the arrays
carry that). Loading reads the arrays only; the graph is unpickled when something first asks for
it, so the router is up before the map's model of record is."""

import dataclasses
import gc
import json
import pickle
from pathlib import Path
from typing import Any

import networkx as nx

from routing import cch
from routing.network import RoadArrays, RoadNetwork, collector_paused
from routing.osm import ImportReport, read_osm
from routing.profiles import EMERGENCY_MAY_USE_BUS_LANES, PROFILES
from routing.turns import TurnGraph

SUFFIX = ".network.pickle"
# The layout below (3: access, signal approaches, restrictions, the turn graph's order); a cache
# of another format is refused with how to rebuild it.
FORMAT = 3


class CacheFormatError(ValueError):
    """The file is not a network cache this version can read; the message says what to do."""


REPORT_SUFFIX = ".import-report.json"


def report_path(cache: Path | str) -> Path:
    """Where the import report of a cache is kept: beside it."""
    cache = Path(cache)
    return cache.with_name(cache.name.removesuffix(SUFFIX) + REPORT_SUFFIX)


def import_osm(path: Path | str, cache_dir: Path | str) -> Path:
    """Load an OpenStreetMap extract and cache it in `cache_dir`, with its import report beside
    it (`report_path`); returns the cache's path."""
    out = Path(cache_dir) / (Path(path).name.split(".")[0] + SUFFIX)
    with collector_paused():  # millions of objects made, most kept: passes meanwhile find little
        network, report = read_osm(path)
    # What it does leave is the graph before relabelling, made cyclic by networkx's cached views:
    # one pass frees it now, not a pass in the middle of whatever the caller does next.
    gc.collect()
    save_cached(network, out)
    report_path(out).write_text(report.to_json() + "\n")
    return out


def load_report(cache: Path | str) -> ImportReport:
    return ImportReport(**json.loads(report_path(cache).read_text()))


def save_cached(network: RoadNetwork, out: Path | str) -> None:
    out = Path(out)
    arrays = network.arrays
    if cch.available():  # the hierarchy's order depends on the turn graph's topology only: once, here
        turns = TurnGraph.of(arrays, PROFILES, EMERGENCY_MAY_USE_BUS_LANES)
        arrays = dataclasses.replace(arrays, node_order=cch.compute_order(
            turns.vertex_count, turns.arc_tail, turns.arc_head, turns.lon, turns.lat))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump({"format": FORMAT,
                     "arrays": {k.name: getattr(arrays, k.name) for k in dataclasses.fields(arrays)},
                     "graph": _graph_bytes(network.graph)}, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(out)  # never leave a half-written cache behind


def _graph_bytes(graph: nx.DiGraph) -> bytes:
    # Edge geometries stay out: the arrays hold them as one coordinate array, and pickled one
    # LineString at a time they were most of the start-up (360k WKB round trips at 100k nodes).
    edges = [d for *_, d in graph.edges(data=True)]
    geoms = [d.pop("geometry") for d in edges]
    try:
        return pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for d, geom in zip(edges, geoms, strict=True):
            d["geometry"] = geom


def load_cached(path: Path | str) -> RoadNetwork:
    # Only caches this program wrote are loaded: pickle trusts its input.
    rebuild = "re-run `jointdispatch import-osm EXTRACT` to rebuild it"
    try:
        with open(path, "rb") as f, collector_paused():
            saved: Any = pickle.load(f)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
        raise CacheFormatError(f"{path} is not a network cache this version can read ({e}); {rebuild}") from e
    found = saved.get("format", 1) if isinstance(saved, dict) else None
    if found != FORMAT:
        raise CacheFormatError(f"{path} is a network cache of format {found}, this version reads format "
                               f"{FORMAT}; {rebuild}")
    arrays = RoadArrays(**saved["arrays"])
    blob: bytes = saved["graph"]

    def graph() -> nx.DiGraph:
        with collector_paused():
            g = pickle.loads(blob)
            for (*_, d), line in zip(g.edges(data=True), arrays.lines().tolist(), strict=True):
                d["geometry"] = line
        return g

    return RoadNetwork.deferred(arrays, graph, name=Path(path).name.removesuffix(SUFFIX))
