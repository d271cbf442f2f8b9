"""Fills dispatch's Router interface with the routing package: snap, one search, routes."""

import math

from dispatch.router import LonLat, RoutePlan, SignalPassage
from routing.index import RoutingIndex
from routing.network import RoadNetwork
from routing.snap import OffRoad, Snapper


class RoadRouter:
    def __init__(self, network: RoadNetwork, snap_max_m: float = 500.0) -> None:
        self.network = network
        self.snapper = Snapper(network)
        self.index = RoutingIndex.build(network)
        self.snap_max_m = snap_max_m

    def drive_times(self, to: LonLat, sources: dict[str, LonLat], profile: str) -> dict[str, float]:
        target = self.snapper.snap(*to, max_distance_m=self.snap_max_m)
        ids: list[str] = []
        snaps = []
        for uid, (lon, lat) in sources.items():
            try:
                snaps.append(self.snapper.snap(lon, lat, max_distance_m=self.snap_max_m))
            except OffRoad:
                continue  # a unit off the road network cannot be ranked by road; leave it out
            ids.append(uid)
        if not snaps:
            return {}
        times = self.index.travel_times_to(target, snaps, profile=profile)
        return {uid: float(t) for uid, t in zip(ids, times, strict=True) if math.isfinite(t)}

    def route(self, origin: LonLat, destination: LonLat, profile: str) -> RoutePlan:
        a = self.snapper.snap(*origin, max_distance_m=self.snap_max_m)
        b = self.snapper.snap(*destination, max_distance_m=self.snap_max_m)
        r = self.index.route(a, b, profile=profile)
        return RoutePlan(
            eta_s=r.eta_s, eta_green_s=r.eta_green_s, length_m=r.length_m,
            coords=[(x, y) for x, y in r.geometry.coords],
            signals=[SignalPassage(signal_id=s.signal_id,
                                   approach=f"{s.approach_edge[0]}>{s.approach_edge[1]}",
                                   eta_s=s.eta_s, expected_delay_s=s.expected_delay_s)
                     for s in r.signals],
        )
