"""The turn graph both engines search: the rules of the road at junctions as a graph.

A vertex is a *stretch*, a run of road edges in one direction between decision points (junctions,
dead ends, restriction nodes, changes of access), so a street's shape points cost nothing; it
stands for "at the end of this stretch, about to turn". An arc is a turn from one stretch onto
the next: its cost per profile is the turn's (left, right, straight across a bigger road, U-turn)
or infinite where the profile may not make it (a turn restriction, a U-turn away from a dead end).
This is the edge-based graph of OSRM, GraphHopper and Valhalla, after OSRM's compression of
degree-two nodes. A restriction via a node bans (or, for only_*, keeps alone) one turn; one via
ways is a sequence of turns, so the via stretches are copied: the copy is what a vehicle coming
from the `from` road enters, and its last turn obeys the restriction (OSRM does the same)."""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from routing.network import CLASS_RANK, EXCEPT_BITS, RoadArrays
from routing.profiles import SpeedProfile

STRAIGHT_WITHIN_DEG = 40.0  # a change of heading below this is going straight on


def _csr(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Items grouped by key: (order, start) with group k at order[start[k]:start[k+1]]."""
    order = np.argsort(keys, kind="stable")
    start = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=size), out=start[1:])
    return order, start


def _pairs(out_order: np.ndarray, out_start: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each item i (arriving at node at[i]) every item leaving that node: (i's, theirs)."""
    count = np.diff(out_start)[at]
    mine = np.repeat(np.arange(len(at)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return mine, out_order[out_start[at][mine] + offset]


def _heading(lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray) -> np.ndarray:
    return np.asarray(np.degrees(np.arctan2((lon1 - lon0) * np.cos(np.radians(lat0)), lat1 - lat0)),
                      dtype=np.float64)


@dataclass(frozen=True)
class TurnGraph:
    stretch_of: np.ndarray  # per edge: its stretch
    stretch_edges: np.ndarray  # stretch s's edges in driving order: [stretch_start[s]:stretch_start[s+1]]
    stretch_start: np.ndarray
    vertex_stretch: np.ndarray  # per vertex: the stretch it drives (vertex s < stretch count is s itself)
    arc_tail: np.ndarray  # vertex ids
    arc_head: np.ndarray
    arc_kind: np.ndarray  # "straight" / "left" / "right" / "u_turn" per arc (object)
    arc_across: np.ndarray  # bool: straight across a junction's bigger road
    arc_at_junction: np.ndarray  # bool: where ways meet (a bend at a decision point costs nothing)
    arc_dead_end: np.ndarray  # bool: a U-turn where there is nothing else
    arc_ban_mask: np.ndarray  # per arc: bit p set when profile p may not make it (restrictions)
    profile_bits: tuple[str, ...]  # which bit is which profile
    lon: np.ndarray  # per vertex: where the contraction-hierarchy order places it
    lat: np.ndarray
    restrictions_applied: int

    @property
    def stretch_count(self) -> int:
        return len(self.stretch_start) - 1

    @property
    def vertex_count(self) -> int:
        return len(self.vertex_stretch)

    def turn_costs(self, profile: SpeedProfile) -> np.ndarray:
        """Seconds per arc for `profile`; inf where it may not turn so."""
        bit = 1 << self.profile_bits.index(profile.name)
        cost = np.zeros(len(self.arc_tail))
        for kind in ("left", "right", "straight", "u_turn"):
            sel = self.arc_kind == kind
            cost[sel] = profile.turn_s(kind, False)
        cost[self.arc_across] += profile.straight_across_s
        cost[~self.arc_at_junction & (self.arc_kind != "u_turn")] = 0.0
        uturn = self.arc_kind == "u_turn"
        may_turn = self.arc_dead_end | (self.arc_at_junction if profile.u_turn_at_junctions else False)
        cost[uturn & ~may_turn] = np.inf
        cost[(self.arc_ban_mask & bit) != 0] = np.inf
        return cost

    @classmethod
    def of(cls, a: RoadArrays, profiles: Mapping[str, SpeedProfile],
           emergency_bus_lanes: bool) -> "TurnGraph":
        n = a.node_count
        tail, head = a.tail.astype(np.int64), a.head.astype(np.int64)
        undirected = np.unique(np.sort(np.column_stack((tail, head)), axis=1), axis=0)
        degree = np.bincount(undirected.ravel(), minlength=n)
        paths = _restriction_paths(a)
        forced = np.zeros(n, dtype=bool)
        for p in paths:
            forced[[p[1], p[-2]]] = True  # the from road must end, and the to road start, there
        through = _through_nodes(n, tail, head, degree, a) & ~forced
        stretch_of, pos = _stretches(n, tail, head, through)
        s_count = int(stretch_of.max()) + 1
        edge_order = np.lexsort((pos, stretch_of))
        s_start = np.zeros(s_count + 1, dtype=np.int64)
        np.cumsum(np.bincount(stretch_of, minlength=s_count), out=s_start[1:])
        first, last = edge_order[s_start[:-1]], edge_order[s_start[1:] - 1]
        s_tail, s_head = tail[first], head[last]
        # every turn: stretch s, then any stretch leaving the node it ends at
        out_order, out_start = _csr(s_tail, n)
        src, dst = _pairs(out_order, out_start, s_head)
        uturn = head[first[dst]] == tail[last[src]]
        others = np.bincount(src[~uturn], minlength=s_count)
        dead_end = uturn & (others[src] == 0)
        at_junction = degree[s_head[src]] >= 3
        # heading change from the last piece of s to the first of the next
        lon, lat = a.lon, a.lat
        h_in = _heading(lon[tail[last[src]]], lat[tail[last[src]]], lon[s_head[src]], lat[s_head[src]])
        h_out = _heading(lon[s_head[src]], lat[s_head[src]], lon[head[first[dst]]], lat[head[first[dst]]])
        change = (h_out - h_in + 180.0) % 360.0 - 180.0  # + is clockwise: a right turn
        kind = np.where(np.abs(change) < STRAIGHT_WITHIN_DEG, "straight",
                        np.where(change > 0, "right", "left")).astype(object)
        kind[uturn] = "u_turn"
        # straight across: the biggest road at the junction outranks both of ours
        rank_of_class = np.array([CLASS_RANK.index(c) if c in CLASS_RANK else 0 for c in a.class_names])
        edge_rank = rank_of_class[a.class_of]
        node_top = np.zeros(n, dtype=np.int64)
        np.maximum.at(node_top, tail, edge_rank)
        np.maximum.at(node_top, head, edge_rank)
        across = (kind == "straight") & at_junction & \
            (node_top[s_head[src]] > np.maximum(edge_rank[last[src]], edge_rank[first[dst]]))
        names = tuple(profiles)
        ban = np.zeros(len(src), dtype=np.int64)
        edge_of = dict(zip(zip(tail.tolist(), head.tolist(), strict=True), range(len(tail)), strict=True))
        arc_of = dict(zip(zip(src.tolist(), dst.tolist(), strict=True), range(len(src)), strict=True))
        spared = [_spared_bits(int(x), names, profiles, emergency_bus_lanes)
                  for x in (a.restriction_except if a.restriction_except is not None else [])]
        only = a.restriction_only if a.restriction_only is not None else np.zeros(0, dtype=bool)
        # node via: one turn each; only_* keeps, per from stretch, the union of what it allows
        allowed: dict[tuple[int, int], set[int]] = {}
        via_way: list[tuple[list[int], int, bool, int]] = []
        for r, p in enumerate(paths):
            edges = [edge_of[(u, v)] for u, v in zip(p, p[1:], strict=False)]
            seq = [int(stretch_of[edges[0]])]
            for e in edges[1:]:
                if stretch_of[e] != seq[-1]:
                    seq.append(int(stretch_of[e]))
            applies = ((1 << len(names)) - 1) & ~spared[r]
            if len(seq) == 2:  # via a node
                if only[r]:
                    for bit in range(len(names)):
                        if applies >> bit & 1:
                            allowed.setdefault((seq[0], bit), set()).add(seq[1])
                elif (seq[0], seq[1]) in arc_of:
                    ban[arc_of[(seq[0], seq[1])]] |= applies
            elif len(seq) > 2:
                via_way.append((seq[:-1], seq[-1], bool(only[r]), applies))
        for (frm, bit), keep in allowed.items():
            lo, hi = np.searchsorted(src, frm), np.searchsorted(src, frm, side="right")
            for i in range(lo, hi):
                if int(dst[i]) not in keep:
                    ban[i] |= 1 << bit
        arcs = _copy_via_stretches(s_count, src, dst, ban, via_way)
        vsrc, vdst, vstretch, base_arc, vban = arcs
        mid = edge_order[(s_start[:-1] + s_start[1:]) // 2]
        s_lon, s_lat = (lon[tail[mid]] + lon[head[mid]]) / 2, (lat[tail[mid]] + lat[head[mid]]) / 2
        return cls(stretch_of=stretch_of, stretch_edges=edge_order, stretch_start=s_start,
                   vertex_stretch=vstretch, arc_tail=vsrc, arc_head=vdst, arc_kind=kind[base_arc],
                   arc_across=across[base_arc], arc_at_junction=at_junction[base_arc],
                   arc_dead_end=dead_end[base_arc], arc_ban_mask=vban, profile_bits=names,
                   lon=s_lon[vstretch], lat=s_lat[vstretch], restrictions_applied=len(paths))


def _restriction_paths(a: RoadArrays) -> list[list[int]]:
    if a.restriction_start is None or a.restriction_nodes is None:
        return []
    nodes, start = a.restriction_nodes.tolist(), a.restriction_start.tolist()
    return [nodes[start[r]:start[r + 1]] for r in range(len(start) - 1)]


def _spared_bits(excepted: int, names: tuple[str, ...], profiles: Mapping[str, SpeedProfile],
                 bus_lanes: bool) -> int:
    """Profiles a restriction's `except` spares: cars when it names motorcar; emergency vehicles
    when it names them, or buses where they may drive as buses do."""
    out = 0
    for bit, name in enumerate(names):
        p = profiles[name]
        if p.emergency:
            hit = excepted & EXCEPT_BITS["emergency"] or (bus_lanes and excepted & EXCEPT_BITS["psv"])
        else:
            hit = excepted & EXCEPT_BITS["motorcar"]
        out |= (1 << bit) if hit else 0
    return out


def _through_nodes(n: int, tail: np.ndarray, head: np.ndarray, degree: np.ndarray,
                   a: RoadArrays) -> np.ndarray:
    """Nodes a vehicle can only drive straight through: two neighbours, the same ways in as out
    (both two-way, or one in and one out), and one access on both sides."""
    out_deg, in_deg = np.bincount(tail, minlength=n), np.bincount(head, minlength=n)
    out_order, out_start = _csr(tail, n)
    in_order, in_start = _csr(head, n)
    heads = np.sort(np.column_stack((head[out_order[np.minimum(out_start[:-1], len(tail) - 1)]],
                                     head[out_order[np.minimum(out_start[:-1] + 1, len(tail) - 1)]])), axis=1)
    tails = np.sort(np.column_stack((tail[in_order[np.minimum(in_start[:-1], len(tail) - 1)]],
                                     tail[in_order[np.minimum(in_start[:-1] + 1, len(tail) - 1)]])), axis=1)
    two_way = (out_deg == 2) & (in_deg == 2) & (heads == tails).all(axis=1)
    one_way = (out_deg == 1) & (in_deg == 1) & (heads[:, 0] != tails[:, 0])
    code = np.zeros(len(tail), dtype=np.int64)
    for k, levels in enumerate((a.access_car, a.access_psv, a.access_emergency)):
        if levels is not None:
            code += (levels.astype(np.int64) + 1) * 4 ** k
    lo, hi = np.full(n, np.iinfo(np.int64).max), np.full(n, -1)
    for ends in (tail, head):
        np.minimum.at(lo, ends, code)
        np.maximum.at(hi, ends, code)
    return np.asarray((two_way | one_way) & (degree == 2) & (lo == hi), dtype=bool)


def _stretches(n: int, tail: np.ndarray, head: np.ndarray,
               through: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each edge's stretch and its place in it: edges chained through the through nodes."""
    m = len(tail)
    while True:
        out_order, out_start = _csr(tail, n)
        nxt = np.full(m, -1, dtype=np.int64)
        at = np.flatnonzero(through[head])
        first = out_order[out_start[head[at]]]
        second = out_order[np.minimum(out_start[head[at]] + 1, m - 1)]
        # onwards, not back the way it came (a one-way through node has just the one way out)
        nxt[at] = np.where(head[first] != tail[at], first, second)
        prev = np.full(m, -1, dtype=np.int64)
        prev[nxt[at]] = at
        up, depth = np.where(prev >= 0, prev, np.arange(m)), (prev >= 0).astype(np.int64)
        for _ in range(64):  # pointer doubling: log2 of the longest stretch rounds
            new_up = up[up]
            if np.array_equal(new_up, up):
                break
            depth, up = depth + depth[up], new_up
        roots = prev < 0
        on_ring = np.flatnonzero(prev[up] >= 0)  # a loop of through nodes only: break it at one node
        if not len(on_ring):
            break
        through = through.copy()
        through[tail[on_ring[0]]] = False
    root_ids = np.cumsum(roots) - 1
    return root_ids[up], depth


def _copy_via_stretches(s_count: int, src: np.ndarray, dst: np.ndarray, ban: np.ndarray,
                        via_way: list[tuple[list[int], int, bool, int]]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The arcs with via-way restrictions applied by copying the via stretches (a trie of the
    restrictions' prefixes: each prefix from, via1, ..., via_i is one copy of via_i).
    Returns (arc tails, arc heads, stretch per vertex, base arc per arc, ban bits per arc)."""
    vstretch = list(range(s_count))
    copy: dict[tuple[int, ...], int] = {}
    for prefix, _, _, _ in via_way:
        for i in range(2, len(prefix) + 1):
            key = tuple(prefix[:i])
            if key not in copy:
                copy[key] = len(vstretch)
                vstretch.append(prefix[i - 1])
    if not copy:
        return src, dst, np.arange(s_count, dtype=np.int64), np.arange(len(src)), ban
    heads = dst.copy()
    for key, vertex in copy.items():
        if len(key) == 2:  # from the base `from` stretch into the first copy
            hit = np.flatnonzero((src == key[0]) & (dst == key[1]))
            heads[hit] = vertex
    tails_out, heads_out, base_out, ban_out = [src], [heads], [np.arange(len(src))], [ban]
    final: dict[int, list[tuple[int, bool, int]]] = {}
    for prefix, to, only, applies in via_way:
        final.setdefault(copy[tuple(prefix)], []).append((to, only, applies))
    for key, vertex in copy.items():
        arcs = np.flatnonzero(src == key[-1])  # the copy turns as its stretch does...
        h = dst[arcs].copy()
        for j, x in enumerate(h.tolist()):  # ...into deeper copies where a longer prefix goes on
            deeper = copy.get((*key, x))
            if deeper is not None:
                h[j] = deeper
        b = ban[arcs].copy()
        for to, only, applies in final.get(vertex, []):
            b |= np.where((dst[arcs] != to) if only else (dst[arcs] == to), applies, 0)
        tails_out.append(np.full(len(arcs), vertex, dtype=np.int64))
        heads_out.append(h)
        base_out.append(arcs)
        ban_out.append(b)
    return (np.concatenate(tails_out), np.concatenate(heads_out), np.asarray(vstretch, dtype=np.int64),
            np.concatenate(base_out), np.concatenate(ban_out))


def broken_restrictions(path: list[int], restrictions: list[dict[str, object]]) -> int:
    """How many of a network's turn restrictions (`graph.graph["turn_restrictions"]`) a node
    path breaks: a no_* one wherever its movement appears in the path, an only_* one wherever
    the path comes in by its way and leaves by another. For measuring routes, not routing."""
    broken = 0
    for r in restrictions:
        move = list(r["nodes"])  # type: ignore[call-overload]
        lead = move[:-1]
        for k in range(len(path) - len(move) + 1):
            if path[k:k + len(lead)] != lead:
                continue
            went = path[k + len(lead)]
            broken += int((went == move[-1]) == (r["kind"] == "no"))
    return broken
