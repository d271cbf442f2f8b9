"""A networkx reference for drive times on the turn graph: the engines must agree with it.

Built edge by edge in plain Python from the index's turn graph (its stretches, turns and turn
costs), with the unit's and the target's partial stretches spliced in, so it shares no search
code and no running sums with the index."""

import networkx as nx
import numpy as np

from routing.index import CLOSED, RoutingIndex
from routing.profiles import PROFILES
from routing.snap import Snap


def reference_time(index: RoutingIndex, source: Snap, target: Snap, profile: str) -> float:
    tg, w = index.turns, index.weights[profile]
    turn = tg.turn_costs(PROFILES[profile])
    stretch_edges = [tg.stretch_edges[tg.stretch_start[s]:tg.stretch_start[s + 1]].tolist()
                     for s in range(tg.stretch_count)]
    whole = [sum(w[e] for e in edges) for edges in stretch_edges]
    g = nx.DiGraph()
    for arc, (x, y) in enumerate(zip(tg.arc_tail.tolist(), tg.arc_head.tolist(), strict=True)):
        cost = turn[arc] + whole[tg.vertex_stretch[y]]
        if np.isfinite(cost) and cost < CLOSED:
            g.add_edge(x, y, w=cost)

    def places(s: Snap) -> list[tuple[int, float]]:
        e = index.edge_id[s.edge]
        back = index.edge_id.get((s.edge[1], s.edge[0]))
        return [(e, s.fraction)] + ([(back, 1 - s.fraction)] if back is not None else [])

    best = np.inf
    for e, f in places(source):
        edges = stretch_edges[tg.stretch_of[e]]
        ahead = (1 - f) * w[e] + sum(w[x] for x in edges[edges.index(e) + 1:])
        if ahead < CLOSED:
            g.add_edge("S", int(tg.stretch_of[e]), w=ahead)
        for k, h in places(target):  # on the target's stretch, short of it: straight there
            if tg.stretch_of[k] == tg.stretch_of[e] and (edges.index(e), f) <= (edges.index(k), h):
                between = sum(w[x] for x in edges[edges.index(e):edges.index(k)]) - f * w[e] + h * w[k]
                best = min(best, between if between < CLOSED / 2 else np.inf)
    for k, h in places(target):
        edges = stretch_edges[tg.stretch_of[k]]
        into = sum(w[x] for x in edges[:edges.index(k)]) + h * w[k]
        for v in np.flatnonzero(tg.vertex_stretch == tg.stretch_of[k]).tolist():
            for arc in np.flatnonzero(tg.arc_head == v).tolist():
                if np.isfinite(turn[arc]) and into < CLOSED:
                    g.add_edge(int(tg.arc_tail[arc]), "T", w=turn[arc] + into)
    if "S" in g and "T" in g and nx.has_path(g, "S", "T"):
        best = min(best, nx.shortest_path_length(g, "S", "T", weight="w"))
    return float(best) if best < CLOSED / 2 else float("inf")
