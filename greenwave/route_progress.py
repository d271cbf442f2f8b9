"""Where a unit is along its route: from a position fix to metres along the route, seconds of
priority driving from departure (the clock a CorridorTracker counts in) and metres off the route.

Time along the route is anchored at each signal the corridor planned (its stop line and its
priority ETA), so "the unit is past this signal's time" means "past its stop line on the road",
and interpolated linearly between anchors."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from shapely import LineString, Point

from greenwave.corridor import Corridor

LonLat = tuple[float, float]
M_PER_DEG_LAT = 110_574.0


@dataclass(frozen=True)
class Progress:
    along_m: float
    route_time_s: float
    off_route_m: float


class RouteProgress:
    """One route's geometry in local metres, with its time anchors."""

    def __init__(self, coords: Sequence[LonLat], corridor: Corridor, total_time_s: float,
                 signal_places: Mapping[str, LonLat]) -> None:
        if len(coords) < 2:
            coords = [coords[0], coords[0]] if coords else [(0.0, 0.0), (0.0, 0.0)]
        self.origin = coords[0]
        self._mx = 111_320.0 * math.cos(math.radians(self.origin[1]))
        self.line = LineString([self._local(p) for p in coords])
        along = [0.0]
        times = [0.0]
        for s in corridor.signals:
            place = signal_places.get(s.signal_id)
            if place is None:
                continue
            along.append(float(self.line.project(Point(self._local(place)))))
            times.append(s.eta_s - corridor.departure)
        along.append(float(self.line.length))
        times.append(max(total_time_s, times[-1]))
        order = np.argsort(along, kind="stable")
        # Both must grow along the route for interpolation; a signal projected out of order (a
        # route that doubles back past it) must not make time run backwards.
        self._along = np.maximum.accumulate(np.asarray(along)[order])
        self._times = np.maximum.accumulate(np.asarray(times)[order])

    def _local(self, p: LonLat) -> tuple[float, float]:
        return ((p[0] - self.origin[0]) * self._mx, (p[1] - self.origin[1]) * M_PER_DEG_LAT)

    def locate(self, lon: float, lat: float) -> Progress:
        here = Point(self._local((lon, lat)))
        along = float(self.line.project(here))
        return Progress(along, float(np.interp(along, self._along, self._times)),
                        float(self.line.distance(here)))

    def point_at(self, along_m: float) -> tuple[LonLat, float]:
        """The place `along_m` metres down the route and the heading there (degrees from north)."""
        along_m = min(max(along_m, 0.0), self.line.length)
        p = self.line.interpolate(along_m)
        q = self.line.interpolate(min(along_m + 3.0, self.line.length))
        if q.equals(p):
            p, q = self.line.interpolate(max(along_m - 3.0, 0.0)), p
        heading = math.degrees(math.atan2(q.x - p.x, q.y - p.y)) % 360
        return (self.origin[0] + p.x / self._mx, self.origin[1] + p.y / M_PER_DEG_LAT), heading

    @property
    def length_m(self) -> float:
        return float(self.line.length)

    def along_at_time(self, route_time_s: float) -> float:
        """Metres along the route after `route_time_s` seconds of priority driving."""
        return float(np.interp(route_time_s, self._times, self._along))


__all__ = ["Progress", "RouteProgress"]
