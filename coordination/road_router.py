"""Fills dispatch's Router interface with the routing package: snap, one search, routes."""

import math

from dispatch.router import LonLat, RoutePlan, SignalPassage
from greenwave.corridor import approach_name
from routing.index import Route, RoutingIndex
from routing.network import RoadNetwork
from routing.snap import Snap, Snapper

SNAP_CACHE = 50_000


class RoadRouter:
    def __init__(self, network: RoadNetwork, snap_max_m: float = 500.0,
                 emergency_bus_lanes: bool = True) -> None:
        self.network = network
        self.snapper = Snapper(network)
        self.index = RoutingIndex(network, emergency_bus_lanes=emergency_bus_lanes)
        self.snap_max_m = snap_max_m
        self._cache: dict[LonLat, Snap | None] = {}

    def _snaps(self, places: list[LonLat]) -> list[Snap | None]:
        """Snap many places at once, remembering recent answers: units parked at a station or
        standing on scene report the same place again and again."""
        missing = [p for p in dict.fromkeys(places) if p not in self._cache]
        if missing:
            if len(self._cache) > SNAP_CACHE:
                self._cache.clear()
            self._cache.update(zip(missing, self.snapper.snap_many(missing, self.snap_max_m), strict=True))
        return [self._cache[p] for p in places]

    def drive_times(self, to: LonLat, sources: dict[str, LonLat], profile: str) -> dict[str, float]:
        target = self.snapper.snap(*to, max_distance_m=self.snap_max_m)
        ids: list[str] = []
        snaps: list[Snap] = []
        # a unit off the road network cannot be ranked by road; it is left out
        for uid, snap in zip(sources, self._snaps(list(sources.values())), strict=True):
            if snap is not None:
                ids.append(uid)
                snaps.append(snap)
        if not snaps:
            return {}
        times = self.index.travel_times_to(target, snaps, profile=profile)
        return {uid: float(t) for uid, t in zip(ids, times, strict=True) if math.isfinite(t)}

    def drive_times_from(self, origin: LonLat, places: dict[str, LonLat], profile: str) -> dict[str, float]:
        """Seconds from one place to each of many (a patient to every hospital), one search."""
        source = self.snapper.snap(*origin, max_distance_m=self.snap_max_m)
        keys, snaps = [], []
        for key, snap in zip(places, self._snaps(list(places.values())), strict=True):
            if snap is not None:
                keys.append(key)
                snaps.append(snap)
        times = self.index.times_from(source, snaps, profile)
        return {k: float(t) for k, t in zip(keys, times, strict=True) if math.isfinite(t)}

    def route_detail(self, origin: LonLat, destination: LonLat, profile: str) -> Route:
        """The routing package's own route, segment by segment (a replay drives it)."""
        a = self.snapper.snap(*origin, max_distance_m=self.snap_max_m)
        b = self.snapper.snap(*destination, max_distance_m=self.snap_max_m)
        return self.index.route(a, b, profile=profile)

    def route(self, origin: LonLat, destination: LonLat, profile: str) -> RoutePlan:
        return self.plan_of(self.route_detail(origin, destination, profile))

    @staticmethod
    def plan_of(r: Route) -> RoutePlan:
        return RoutePlan(
            eta_s=r.eta_s, eta_green_s=r.eta_green_s, length_m=r.length_m,
            coords=[(x, y) for x, y in r.geometry.coords],
            signals=[SignalPassage(signal_id=s.signal_id,
                                   approach=approach_name(s.approach_edge),
                                   eta_s=s.eta_s, expected_delay_s=s.expected_delay_s)
                     for s in r.signals],
        )
