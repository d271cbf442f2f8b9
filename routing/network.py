"""The road network model: a directed graph with lengths, classes, speeds, geometry and signals.

networkx is the model of record (loaders write it, tests compare against it); `RoadArrays` is the
same network as flat arrays, compiled once, which the routing index and the snapper are built
from; the compiled index in `routing.index` is what answers queries fast."""

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from math import cos, radians
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely import Point, Polygon
from shapely.prepared import PreparedGeometry, prep

# Free-flow speeds by OpenStreetMap highway class, km/h, for a Chinese county district.
DEFAULT_SPEED_KMH = {
    "motorway": 100.0, "trunk": 70.0, "primary": 60.0, "secondary": 50.0, "tertiary": 40.0,
    "unclassified": 30.0, "residential": 30.0, "living_street": 15.0, "service": 20.0,
    "motorway_link": 60.0, "trunk_link": 50.0, "primary_link": 40.0, "secondary_link": 40.0,
    "tertiary_link": 30.0,
    "road": 30.0,  # class not yet known to the mapper: drivable, taken as a minor road
    "busway": 40.0,  # bus-only roads: cars may not, emergency vehicles where the law lets them
}

# Road classes from the smallest up: where two ways draw one segment the bigger keeps it, and a
# turn straight across a bigger road than both of one's own costs a crossing.
CLASS_RANK = ["service", "living_street", "road", "busway", "unclassified", "residential", "tertiary_link",
              "tertiary", "secondary_link", "secondary", "primary_link", "primary", "trunk_link", "trunk",
              "motorway_link", "motorway"]

# Who a turn restriction's `except` spares, as bits (psv and bus are one mode here).
EXCEPT_BITS = {"psv": 1, "bus": 1, "emergency": 2, "motorcar": 4}


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and latitude near `lat` (equirectangular: for drawing and
    snapping within a city, never for lengths, which the loaders take geodesic)."""
    return 111_320.0 * cos(radians(lat)), 110_574.0


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """For turning the arrays into objects (a graph, 200k lines, an edge table) in one go: it makes
    hundreds of thousands of objects and no garbage, and the cyclic collector, left on, walks the
    whole heap again and again meanwhile (5 to 20 times the time in a process already holding a
    big network)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@dataclass(frozen=True)
class RoadArrays:
    """The network as flat arrays: node i is graph node i, edge i the graph's i-th edge in its
    own iteration order. What the index and the snapper need, without walking networkx dicts."""

    tail: np.ndarray  # int32, per edge
    head: np.ndarray  # int32, per edge
    length_m: np.ndarray  # float64, per edge
    speed_kmh: np.ndarray  # float64, per edge: free flow
    class_names: tuple[str, ...]  # the road classes present
    class_of: np.ndarray  # int16, per edge: index into class_names
    lon: np.ndarray  # float64, per node
    lat: np.ndarray  # float64, per node
    signal_nodes: np.ndarray  # int32, the signalised nodes
    signal_ids: tuple[str, ...]  # their signal ids, in the same order
    coords: np.ndarray  # (k, 2) float64: every edge's shape as lon/lat points, edge after edge
    line_of_coord: np.ndarray  # int32, per row of coords: the edge it belongs to
    # Per edge: whether a vehicle on it stops at the signal of its head node (an approach the
    # signal faces), and who may use it (routing.access levels: cars, buses, emergency tag).
    signal_approach: np.ndarray | None = None  # bool
    access_car: np.ndarray | None = None  # int8
    access_psv: np.ndarray | None = None  # int8
    access_emergency: np.ndarray | None = None  # int8, -1 where the way says nothing
    # Turn restrictions: restriction r's node path is restriction_nodes[start[r]:start[r+1]].
    restriction_nodes: np.ndarray | None = None  # int32
    restriction_start: np.ndarray | None = None  # int64, one more than there are restrictions
    restriction_only: np.ndarray | None = None  # bool: only_* (else no_*)
    restriction_except: np.ndarray | None = None  # uint8: EXCEPT_BITS of who is spared
    node_order: np.ndarray | None = None  # the turn graph's contraction-hierarchy order, when computed

    @classmethod
    def of(cls, graph: nx.DiGraph) -> "RoadArrays":
        n, m = graph.number_of_nodes(), graph.number_of_edges()
        if sorted(graph.nodes) != list(range(n)):
            raise ValueError("the network needs nodes numbered 0..n-1 (loaders relabel them)")
        with collector_paused():  # 200k edge tuples, and no garbage
            edges = list(graph.edges(data=True))
            class_names, class_of = np.unique(np.array([d["road_class"] for *_, d in edges], dtype=object)
                                              .astype(str), return_inverse=True)
            coords, which = shapely.get_coordinates(
                np.fromiter((d["geometry"] for *_, d in edges), dtype=object, count=m), return_index=True)
            nodes = sorted(graph.nodes(data=True))
            signals = [(i, d["signal_id"]) for i, d in nodes if d.get("signal_id")]
            # A graph that says nothing per approach (demo city, GraphML): every approach stops.
            approach = [d.get("signal_approach", bool(graph.nodes[v].get("signal_id"))) for _, v, d in edges]
            levels = {k: np.fromiter((d.get(f"access_{k}", default) for *_, d in edges), dtype=np.int8,
                                     count=m) for k, default in (("car", 2), ("psv", 2), ("emergency", -1))}
            restrictions = graph.graph.get("turn_restrictions", [])
            paths = [r["nodes"] for r in restrictions]
        return cls(
            tail=np.fromiter((u for u, _, _ in edges), dtype=np.int32, count=m),
            head=np.fromiter((v for _, v, _ in edges), dtype=np.int32, count=m),
            length_m=np.fromiter((d["length_m"] for *_, d in edges), dtype=np.float64, count=m),
            speed_kmh=np.fromiter((d["speed_kmh"] for *_, d in edges), dtype=np.float64, count=m),
            class_names=tuple(str(c) for c in class_names), class_of=class_of.astype(np.int16),
            lon=np.fromiter((d["lon"] for _, d in nodes), dtype=np.float64, count=n),
            lat=np.fromiter((d["lat"] for _, d in nodes), dtype=np.float64, count=n),
            signal_nodes=np.array([i for i, _ in signals], dtype=np.int32),
            signal_ids=tuple(sid for _, sid in signals),
            coords=coords, line_of_coord=which.astype(np.int32),
            signal_approach=np.array(approach, dtype=bool), access_car=levels["car"],
            access_psv=levels["psv"], access_emergency=levels["emergency"],
            restriction_nodes=np.array([n for p in paths for n in p], dtype=np.int32),
            restriction_start=np.concatenate(([0], np.cumsum([len(p) for p in paths]))).astype(np.int64),
            restriction_only=np.array([r["kind"] == "only" for r in restrictions], dtype=bool),
            restriction_except=np.array(
                [sum({EXCEPT_BITS[e] for e in r.get("except", []) if e in EXCEPT_BITS})
                 for r in restrictions],
                dtype=np.uint8))

    @property
    def node_count(self) -> int:
        return len(self.lon)

    def road_class(self) -> np.ndarray:
        """Each edge's road class name (object array)."""
        names: np.ndarray = np.array(self.class_names, dtype=object)[self.class_of]
        return names

    def lines(self) -> np.ndarray:
        """Every edge's geometry as a lon/lat LineString, in edge order."""
        lines: np.ndarray = shapely.linestrings(self.coords, indices=self.line_of_coord)
        return lines


class RoadNetwork:
    """A road network: the graph, and its arrays compiled once on first use (so change a graph
    before building an index or snapper on it). A network loaded from an imported cache has its
    arrays at hand and builds its graph only when something asks for it."""

    def __init__(self, graph: nx.DiGraph, name: str = "network") -> None:
        self._graph: nx.DiGraph | None = graph
        self.name = name
        self._arrays: RoadArrays | None = None
        self._load_graph: Callable[[], nx.DiGraph] | None = None
        self._graph_lock = threading.Lock()
        self._area: PreparedGeometry | None = None
        self._lines: list[dict[str, Any]] | None = None

    @classmethod
    def deferred(cls, arrays: RoadArrays, load_graph: Callable[[], nx.DiGraph],
                 name: str = "network") -> "RoadNetwork":
        """A network from its arrays, whose graph `load_graph` builds when first asked for: routing
        needs only the arrays, so a server starts without materialising the graph."""
        net = cls(nx.DiGraph(), name)
        net._graph, net._arrays, net._load_graph = None, arrays, load_graph
        return net

    def __repr__(self) -> str:
        return f"RoadNetwork(name={self.name!r}, nodes={self.node_count})"

    @property
    def graph(self) -> nx.DiGraph:
        if self._graph is None:
            with self._graph_lock:  # the server builds its router in a worker thread
                if self._graph is None:
                    assert self._load_graph is not None
                    self._graph = self._load_graph()
                    self._load_graph = None
        return self._graph

    @property
    def arrays(self) -> RoadArrays:
        if self._arrays is None:
            self._arrays = RoadArrays.of(self.graph)
        return self._arrays

    @property
    def node_count(self) -> int:
        return int(self._graph.number_of_nodes()) if self._graph is not None else self.arrays.node_count

    def _lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        if self._arrays is not None or self._graph is None:
            return self.arrays.lon, self.arrays.lat
        # no arrays compiled (and perhaps none possible: a sub-network keeps its graph's labels)
        nodes = self._graph.nodes(data=True)
        return (np.fromiter((d["lon"] for _, d in nodes), dtype=np.float64, count=len(nodes)),
                np.fromiter((d["lat"] for _, d in nodes), dtype=np.float64, count=len(nodes)))

    def bounds(self) -> tuple[float, float, float, float]:
        lon, lat = self._lonlat()
        return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())

    def area(self) -> Polygon:
        """The served area: the hull of every road node, 500 m wider all round."""
        hull = shapely.multipoints(np.column_stack(self._lonlat())).convex_hull
        w, s, e, n = self.bounds()
        mx, my = metres_per_degree((s + n) / 2)
        # buffer in degrees: stretch latitude so that 500 m means 500 m both ways
        return hull.buffer(500.0 / min(mx, my))

    def contains(self, lon: float, lat: float) -> bool:
        if self._area is None:
            self._area = prep(self.area())
        return bool(self._area.contains(Point(lon, lat)))

    def signals(self) -> list[dict[str, Any]]:
        if self._graph is None:  # from the arrays: a server lists its signals before it needs the graph
            a = self.arrays
            return [{"id": sid, "node": n, "lon": lon, "lat": lat} for sid, n, lon, lat in zip(
                a.signal_ids, a.signal_nodes.tolist(), a.lon[a.signal_nodes].tolist(),
                a.lat[a.signal_nodes].tolist(), strict=True)]
        return [{"id": d["signal_id"], "node": n, "lon": d["lon"], "lat": d["lat"]}
                for n, d in self.graph.nodes(data=True) if d.get("signal_id")]

    def road_lines(self) -> list[dict[str, Any]]:
        """Streets for drawing: chains of two-way-or-one-way edges of one class merged into
        polylines, one per undirected street piece, coordinates rounded to ~1 m."""
        if self._lines is not None:
            return self._lines
        g = self.graph
        seen: set[tuple[int, int]] = set()
        und = nx.Graph()
        for u, v, d in g.edges(data=True):
            key = (u, v) if u < v else (v, u)
            if key in seen:
                continue
            seen.add(key)
            und.add_edge(u, v, road_class=d["road_class"], geometry=d["geometry"], u=u)
        lines: list[dict[str, Any]] = []
        used: set[tuple[int, int]] = set()

        def through(node: int, cls: str) -> bool:
            # A node continues a polyline when exactly two edges of the same class meet there.
            nbrs = [w for w in und.neighbors(node) if und.edges[node, w]["road_class"] == cls]
            return und.degree(node) == 2 and len(nbrs) == 2

        for u, v, d in und.edges(data=True):
            if (u, v) in used or (v, u) in used:
                continue
            cls = d["road_class"]
            chain = [u, v]
            used.add((u, v))
            for forward in (True, False):
                while True:
                    end, prev = (chain[-1], chain[-2]) if forward else (chain[0], chain[1])
                    if not through(end, cls):
                        break
                    nxt = next(w for w in und.neighbors(end) if w != prev)
                    if (end, nxt) in used or (nxt, end) in used or nxt in chain:
                        break
                    used.add((end, nxt))
                    if forward:
                        chain.append(nxt)
                    else:
                        chain.insert(0, nxt)
            coords: list[list[float]] = []
            for a, b in zip(chain, chain[1:], strict=False):
                geom = und.edges[a, b]["geometry"]
                pts = list(geom.coords)
                if und.edges[a, b]["u"] != a:
                    pts.reverse()
                for x, y in pts[(1 if coords else 0):]:
                    coords.append([round(x, 5), round(y, 5)])
            lines.append({"class": cls, "coords": coords})
        self._lines = lines
        return lines
