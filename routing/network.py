"""The road network model: a directed graph with lengths, classes, speeds, geometry and signals.

networkx is the model of record (loaders write it, tests compare against it); the compiled
index in `routing.index` is what answers queries fast."""

from dataclasses import dataclass, field
from math import cos, radians
from typing import Any

import networkx as nx
from shapely import MultiPoint, Point, Polygon
from shapely.prepared import PreparedGeometry, prep

# Free-flow speeds by OpenStreetMap highway class, km/h, for a Chinese county district.
DEFAULT_SPEED_KMH = {
    "motorway": 100.0, "trunk": 70.0, "primary": 60.0, "secondary": 50.0, "tertiary": 40.0,
    "unclassified": 30.0, "residential": 30.0, "living_street": 15.0, "service": 20.0,
    "motorway_link": 60.0, "trunk_link": 50.0, "primary_link": 40.0, "secondary_link": 40.0,
    "tertiary_link": 30.0,
}


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and latitude near `lat` (equirectangular, fine for a city)."""
    return 111_320.0 * cos(radians(lat)), 110_574.0


@dataclass
class RoadNetwork:
    graph: nx.DiGraph
    name: str = "network"
    _area: PreparedGeometry | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._lines: list[dict[str, Any]] | None = None

    @property
    def node_count(self) -> int:
        return int(self.graph.number_of_nodes())

    def bounds(self) -> tuple[float, float, float, float]:
        lons = [d["lon"] for _, d in self.graph.nodes(data=True)]
        lats = [d["lat"] for _, d in self.graph.nodes(data=True)]
        return min(lons), min(lats), max(lons), max(lats)

    def area(self) -> Polygon:
        """The served area: the hull of every road node, 500 m wider all round."""
        pts = MultiPoint([(d["lon"], d["lat"]) for _, d in self.graph.nodes(data=True)])
        w, s, e, n = self.bounds()
        mx, my = metres_per_degree((s + n) / 2)
        # buffer in degrees: stretch latitude so that 500 m means 500 m both ways
        hull = pts.convex_hull
        return hull.buffer(500.0 / min(mx, my))  # type: ignore[no-any-return]

    def contains(self, lon: float, lat: float) -> bool:
        if self._area is None:
            self._area = prep(self.area())
        return bool(self._area.contains(Point(lon, lat)))

    def signals(self) -> list[dict[str, Any]]:
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
