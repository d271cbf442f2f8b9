"""Snapping a longitude/latitude to the nearest drivable road position (shapely STRtree)."""

from dataclasses import dataclass

import numpy as np
import shapely
from shapely import LineString, Point, STRtree

from routing.network import RoadNetwork, collector_paused, metres_per_degree


class OffRoad(ValueError):
    """The point is too far from any road to route from or to; the message says how far."""


@dataclass(frozen=True)
class Snap:
    edge: tuple[int, int]
    fraction: float  # 0 at edge[0], 1 at edge[1]
    distance_m: float
    lon: float
    lat: float


class Snapper:
    def __init__(self, network: RoadNetwork) -> None:
        a = network.arrays
        w, s, e, n = network.bounds()
        self._mx, self._my = metres_per_degree((s + n) / 2)
        self._origin = (w, s)
        self._tail, self._head = a.tail, a.head
        # Into local metres, so distances and fractions are true lengths (all lines at once).
        coords = np.column_stack(((a.coords[:, 0] - w) * self._mx, (a.coords[:, 1] - s) * self._my))
        with collector_paused():
            self._lines = shapely.linestrings(coords, indices=a.line_of_coord)
            self._tree = STRtree(self._lines)

    def _edge(self, i: int) -> tuple[int, int]:
        return int(self._tail[i]), int(self._head[i])

    def snap_many(
        self, points: list[tuple[float, float]], max_distance_m: float = 500.0
    ) -> list[Snap | None]:
        """Many points in one vectorised tree query; None where a point is off the road."""
        if not points:
            return []
        arr = np.asarray(points, dtype=np.float64)
        geoms = shapely.points((arr[:, 0] - self._origin[0]) * self._mx,
                               (arr[:, 1] - self._origin[1]) * self._my)
        (pi, li), dist = self._tree.query_nearest(geoms, max_distance=max_distance_m,
                                                  return_distance=True, all_matches=False)
        lines = self._lines[li]
        along = shapely.line_locate_point(lines, geoms[pi])
        lengths = shapely.length(lines)
        fractions = np.clip(np.divide(along, lengths, out=np.zeros_like(along), where=lengths > 0), 0, 1)
        on = shapely.line_interpolate_point(lines, along)
        lons = self._origin[0] + shapely.get_x(on) / self._mx
        lats = self._origin[1] + shapely.get_y(on) / self._my
        out: list[Snap | None] = [None] * len(points)
        for k, (p, i) in enumerate(zip(pi.tolist(), li.tolist(), strict=True)):
            out[p] = Snap(self._edge(i), float(fractions[k]), float(dist[k]), float(lons[k]), float(lats[k]))
        return out

    def snap(self, lon: float, lat: float, max_distance_m: float = 500.0) -> Snap:
        p = Point((lon - self._origin[0]) * self._mx, (lat - self._origin[1]) * self._my)
        found = self._tree.query_nearest(p, max_distance=max_distance_m, return_distance=True,
                                         all_matches=False)
        idx, dist = found
        if len(idx) == 0:
            nearest_idx, nearest_d = self._tree.query_nearest(p, return_distance=True, all_matches=False)
            d = float(nearest_d[0]) if len(nearest_d) else float("inf")
            raise OffRoad(f"({lon:.6f}, {lat:.6f}) is {d:.0f} m from the nearest road "
                          f"(at most {max_distance_m:.0f} m allowed)")
        i = int(idx[0])
        line: LineString = self._lines[i]
        along = float(shapely.line_locate_point(line, p))
        fraction = along / line.length if line.length > 0 else 0.0
        on = shapely.line_interpolate_point(line, along)
        return Snap(edge=self._edge(i), fraction=min(1.0, max(0.0, fraction)),
                    distance_m=float(dist[0]),
                    lon=self._origin[0] + on.x / self._mx, lat=self._origin[1] + on.y / self._my)
