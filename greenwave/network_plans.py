"""Signal plans for every signalised junction of a road graph: the district file's where it has
one, otherwise road-class defaults with opposite approaches sharing a phase, coordinated along
the arterials. Approaches are the graph's incoming edges, named as on the wire ("u->v").

Coordination: each default plan starts its main phase when a vehicle travelling the main road's
axis at the progression speed arrives from the district's edge (offset = distance along the axis
/ speed, modulo the cycle), the classic one-way green wave of a fixed-time arterial. With every
offset 0 the no-priority baseline met more reds than a coordinated city would, which flattered
the green wave."""

from __future__ import annotations

import math
from typing import Any

from greenwave.corridor import approach_name
from greenwave.signal_plan import SignalPlanBook, group_by_bearing

PROGRESSION_KMH = 40.0  # the speed the arterials' offsets are timed for

# Road classes from the smallest up: the biggest road meeting at a junction sets its defaults.
CLASS_RANK = ["residential", "tertiary", "secondary", "primary", "trunk", "motorway"]


def _rank(road_class: str) -> int:
    return CLASS_RANK.index(road_class) if road_class in CLASS_RANK else 0


def plan_book_for(graph: Any, book: SignalPlanBook | None = None) -> SignalPlanBook:
    """A plan for every signal of `graph` (a networkx DiGraph whose nodes carry `signal_id`, `lon`,
    `lat` and whose edges carry `road_class`, as routing's RoadNetwork.graph does).

    A junction whose approaches cannot be split into two phase groups (a signal on a dead end)
    gets no plan; callers report it as not covered."""
    book = book or SignalPlanBook()
    lons = [d["lon"] for _, d in graph.nodes(data=True)]
    lats = [d["lat"] for _, d in graph.nodes(data=True)]
    west, south = (min(lons), min(lats)) if lons else (0.0, 0.0)
    mx = 111_320.0 * math.cos(math.radians(south))
    for node, data in graph.nodes(data=True):
        sid = data.get("signal_id")
        if not sid:
            continue
        bearings: dict[str, float] = {}
        biggest = "residential"
        for u in graph.predecessors(node):
            src = graph.nodes[u]
            bearings[approach_name((u, node))] = math.degrees(
                math.atan2(data["lon"] - src["lon"], data["lat"] - src["lat"])) % 360
            cls = graph.edges[u, node]["road_class"]
            if _rank(cls) > _rank(biggest):
                biggest = cls
        groups = group_by_bearing(bearings)
        if len(groups) >= 2:
            axis = math.radians(bearings[groups[0][0]] % 180)  # the main road's axis, north to south-east
            along = ((data["lon"] - west) * mx * math.sin(axis)
                     + (data["lat"] - south) * 110_574.0 * math.cos(axis))
            book.plan_for(sid, groups, biggest, offset_s=abs(along) / (PROGRESSION_KMH / 3.6))
    return book
