"""Road closures a scenario's timeline orders: the stretch from one place to another closed both
ways on the shared road index, and given back exactly as it was taken."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dispatch.router import LonLat

if TYPE_CHECKING:
    from scenarios.world import World


class RoadClosures:
    def __init__(self, world: World) -> None:
        self.world = world
        self.closed: list[tuple[int, int]] = []
        self.by_stretch: dict[tuple[LonLat, LonLat], list[tuple[int, int]]] = {}

    def close(self, stretch: tuple[LonLat, LonLat]) -> None:
        """Close both directions of the roads along the way from one place to another: a route
        asked for now goes round them."""
        road = self.world.city.road
        route = road.route_detail(*stretch, "car")
        taken = []
        for u, v in zip(route.nodes, route.nodes[1:], strict=False):
            for edge in ((u, v), (v, u)):
                if edge in road.index.edge_id:
                    road.index.close_edge(*edge)
                    taken.append(edge)
        self.by_stretch.setdefault(stretch, []).extend(taken)
        self.closed.extend(taken)

    def reopen(self, stretch: tuple[LonLat, LonLat]) -> None:
        for edge in self.by_stretch.pop(stretch, []):
            self.world.city.road.index.reopen_edge(*edge)
            self.closed.remove(edge)

    def reopen_all(self) -> None:
        """Give the shared road index back as the city had it (the next replay uses it too)."""
        for u, v in self.closed:
            self.world.city.road.index.reopen_edge(u, v)
        self.closed.clear()
        self.by_stretch.clear()
