"""Road restrictions mirrored from the log into one process's routing index.

Every process hears each closure, slowdown and reopening from the log and patches its own index
at once (no rebuild, no restart), so the next ranking and route already avoid the road.
Replaying the log at start-up puts every standing restriction back. Re-routing the units whose
route runs over a restricted road is a workflow (coordination.workflows), done once."""

import math
from collections.abc import Iterable

from coordination.road_router import RoadRouter
from dispatch import events as ev
from dispatch.roads import RoadRestriction
from dispatch.router import LonLat
from dispatch.service import DispatchService
from dispatch.state import DispatchState

Edge = tuple[int, int]


class RoadRestrictions:
    """Mirrors the log's road restrictions into one process's routing index."""

    def __init__(self, service: DispatchService, road: RoadRouter) -> None:
        self.service, self.road = service, road
        self._node_at: dict[LonLat, int] | None = None
        service.subscribe(self._on_event)

    def stretch_at(self, place: LonLat) -> tuple[LonLat, LonLat]:
        """The stretch of road nearest to a place, as its two ends (OffRoad when too far)."""
        snap = self.road.snapper.snap(*place, max_distance_m=self.road.snap_max_m)
        u, v = snap.edge
        lonlat = self.road.index.lonlat
        return (float(lonlat[u, 0]), float(lonlat[u, 1])), (float(lonlat[v, 0]), float(lonlat[v, 1]))

    def edges_of(self, r: RoadRestriction) -> list[Edge]:
        """The index's edges a restriction covers; none when its road is not on this network
        (the log outlived a re-import that dropped it)."""
        if self._node_at is None:
            self._node_at = {(float(x), float(y)): i for i, (x, y) in enumerate(self.road.index.lonlat)}
        u, v = (self._node_at.get(p) for p in r.road)
        if u is None or v is None:
            return []
        ids = self.road.index.edge_id
        pairs = [(u, v), (v, u)] if r.both_ways else [(u, v)]
        return [e for e in pairs if e in ids]

    def _on_event(self, seq: int, e: ev.Event, state: DispatchState) -> None:
        if not isinstance(e, ev.RoadClosed | ev.RoadSlowed | ev.RoadReopened):
            return
        r = state.roads[e.restriction_id]
        edges = self.edges_of(r)
        self._patch(edges, state.roads.values())

    def _patch(self, edges: list[Edge], standing: Iterable[RoadRestriction]) -> None:
        """Each edge as every standing restriction on it says: closed if one closes it, else the
        slowest speed asked, else its own speed again. Slowing never speeds a road up."""
        active = [r for r in standing if r.active]
        index, own_speed = self.road.index, self.road.network.arrays.speed_kmh
        for u, v in edges:
            on_it = [r for r in active if (u, v) in self.edges_of(r)]
            closed = any(r.speed_kmh is None for r in on_it)
            own = float(own_speed[index.edge_id[(u, v)]])  # the network's, not the index's patched one
            slowest = min((r.speed_kmh for r in on_it if r.speed_kmh is not None), default=math.inf)
            index.set_edge_speed(u, v, min(own, slowest))
            if closed:
                index.close_edge(u, v)
            else:
                index.reopen_edge(u, v)
