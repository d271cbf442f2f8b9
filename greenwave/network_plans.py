"""Signal plans for every signalised junction of a road graph: the district file's where it has
one, otherwise road-class defaults with opposite approaches sharing a phase. Approaches are the
graph's incoming edges, named as on the wire ("u->v")."""

from __future__ import annotations

import math
from typing import Any

from greenwave.corridor import approach_name
from greenwave.signal_plan import SignalPlanBook, group_by_bearing

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
            book.plan_for(sid, groups, biggest)
    return book
