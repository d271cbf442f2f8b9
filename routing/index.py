"""The compiled routing index: the turn graph (routing.turns) as arrays built once, answering
drive-time questions with RoutingKit's contraction hierarchies or scipy's sparse Dijkstra.

Every answer obeys the rules of the road: a search runs over stretches and the turns between
them, so turn restrictions, U-turn rules, turn costs and destination-only roads hold for ranking,
routes, ETAs, closures and the green-wave corridor alike. Many-to-one: one search from the
incident gives every unit's time to it and, through the search tree, every unit's path. Points
on roads are exact: a unit leaves its place ahead along its edge or turned round on the spot, and
a target is entered from either direction of its road, each with the partial stretch it drives;
the searches start from a virtual vertex whose reserved row is rewritten per query.

Live changes (a road closed or slowed) patch the stretch it lies on and the turns into it, and
take effect on the next query."""

import threading
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely import LineString

from routing import access, cch
from routing.network import RoadNetwork
from routing.profiles import ARTERIAL, EMERGENCY_MAY_USE_BUS_LANES, PROFILES, speed_kmh, speeds_kmh
from routing.signal_delay import expected_red_wait_s
from routing.snap import Snap
from routing.turns import TurnGraph

CLOSED = 1e12  # weight of a closed road: never on a route, still a valid float
UNREACHABLE = 1e11
TINY = 1e-9  # scipy treats explicit zeros as edges, but keep offsets strictly positive anyway
# Turning from a public road into a destination-only one; larger than any drive, so the number
# of them on a path is its time's whole multiple of this, and is taken out of every answer.
DESTINATION_PENALTY_S = 100_000.0
VIRTUAL_LINKS = 64  # ways into (or out of) one place a search may start from


@dataclass(frozen=True)
class Segment:
    u: int
    v: int
    length_m: float
    travel_time_s: float
    eta_s: float  # cumulative at the end of this segment, with expected signal waits


@dataclass(frozen=True)
class SignalOnRoute:
    signal_id: str
    node: int
    approach_edge: tuple[int, int]
    eta_s: float  # arrival at the stop line, counting travel and earlier signals' waits
    expected_delay_s: float


@dataclass(frozen=True, eq=False)
class Route:
    nodes: list[int]
    geometry: LineString
    length_m: float
    eta_s: float  # with expected red-signal waiting
    eta_green_s: float  # every signal held green
    signals: list[SignalOnRoute] = field(default_factory=list)
    # Per segment, as arrays (u, v, length_m, travel_time_s, eta_s); `segments` makes objects of
    # them when asked: ranking routes the top three and most never need them.
    legs: tuple[np.ndarray, ...] = field(default=(), repr=False)

    @cached_property
    def segments(self) -> list[Segment]:
        if not self.legs:
            return []
        return [Segment(*row) for row in zip(*(leg.tolist() for leg in self.legs), strict=True)]


@dataclass(frozen=True)
class _Entry:
    """One way into a target: reach the end of `vertex`, turn by `arc`, drive to the target."""

    vertex: int
    seconds: float  # from the end of `vertex` to the target (turn, penalty, part of the stretch)
    arc: int
    edge: int  # the target's edge in the direction arrived on
    fraction: float  # the target's place along that edge


@dataclass(frozen=True)
class _Start:
    """One way out of a unit's place: drive to the end of the stretch `vertex` from `edge`."""

    vertex: int
    seconds: float
    edge: int
    fraction: float  # where on `edge` the unit stands


class _Direction:
    """One direction's CSR arrays over the turn graph, with a reserved row for a virtual start."""

    def __init__(self, n: int, rows: np.ndarray, cols: np.ndarray, weights: dict[str, np.ndarray]) -> None:
        order = np.lexsort((cols, rows))
        counts = np.bincount(rows, minlength=n + 1)
        counts[n] = VIRTUAL_LINKS
        self.n = n
        self.indptr = np.zeros(n + 2, dtype=np.int32)
        np.cumsum(counts, out=self.indptr[1:])
        self.slot = np.empty(len(rows), dtype=np.int64)  # arc id -> position in the arrays
        self.slot[order] = np.arange(len(rows))
        self.virtual = len(rows)
        self.matrices: dict[str, csr_matrix] = {}
        for profile, w in weights.items():
            indices = np.empty(len(rows) + VIRTUAL_LINKS, dtype=np.int32)
            indices[: len(rows)] = cols[order]
            data = np.empty(len(rows) + VIRTUAL_LINKS, dtype=np.float64)
            data[: len(rows)] = w[order]
            self.matrices[profile] = csr_matrix((data, indices, self.indptr.copy()), shape=(n + 1, n + 1))

    def search(self, profile: str, starts: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
        if len(starts) > VIRTUAL_LINKS:  # the cheapest ways in are the ones that can matter most
            starts = sorted(starts, key=lambda s: s[1])[:VIRTUAL_LINKS]
        m = self.matrices[profile]
        links = slice(self.virtual, self.virtual + VIRTUAL_LINKS)
        m.indices[links] = self.n  # unused links: the virtual node to itself, never taken
        m.data[links] = CLOSED
        for k, (vertex, seconds) in enumerate(starts):
            m.indices[self.virtual + k] = vertex
            m.data[self.virtual + k] = max(seconds, TINY)
        dist, pred = dijkstra(m, directed=True, indices=self.n, return_predecessors=True)
        return dist, pred


def real_seconds(t: np.ndarray) -> np.ndarray:
    """Times with the destination-only penalties taken out (each is a whole DESTINATION_PENALTY_S,
    far above any drive) and unreachable as inf."""
    t = np.asarray(t, dtype=np.float64)
    reachable = t < UNREACHABLE
    out = np.full(t.shape, np.inf)
    out[reachable] = t[reachable] - np.floor(t[reachable] / DESTINATION_PENALTY_S) * DESTINATION_PENALTY_S
    return out


class RoutingIndex:
    def __init__(self, network: RoadNetwork, engine: str = "auto",
                 emergency_bus_lanes: bool = EMERGENCY_MAY_USE_BUS_LANES) -> None:
        """engine: "cch" (RoutingKit, needs `routingkit-cch`), "scipy", or "auto" (cch if there).
        emergency_bus_lanes: whether emergency profiles may use bus lanes and bus-only roads."""
        if engine not in ("auto", "cch", "scipy"):
            raise ValueError(f"unknown engine {engine!r}")
        if engine == "cch" and not cch.available():
            raise RuntimeError("engine 'cch' needs the routingkit-cch package")
        a = network.arrays
        self.network = network
        self.n = a.node_count
        m = len(a.tail)
        self.src, self.dst, self.length = a.tail, a.head, a.length_m
        self.free_kmh = a.speed_kmh.copy()  # live changes write here, not into the network
        self.classes = a.road_class().tolist()
        kinds, class_of = np.array(a.class_names, dtype=str), a.class_of
        self.arterial = np.isin(kinds, list(ARTERIAL))[class_of]
        pairs = zip(self.src.tolist(), self.dst.tolist(), strict=True)
        self.edge_id = dict(zip(pairs, range(m), strict=True))
        # The same lookup for many pairs in one call: each node's outgoing edges side by side
        # (sorted by tail), looked through at most `widest` at a time; no node has many.
        self.out_edges = np.argsort(self.src, kind="stable")
        self.out_start = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.src, minlength=self.n), out=self.out_start[1:])
        self.widest = int(np.diff(self.out_start).max(initial=1))
        self.out_head = self.dst[self.out_edges]
        self.twin = self.edge_ids(self.dst, self.src)  # the same road the other way, or -1
        self.closed = np.zeros(m, dtype=bool)
        every = np.full(m, access.YES, dtype=np.int8)
        self.level = {p: access.profile_access(
            prof.emergency, emergency_bus_lanes,
            a.access_car if a.access_car is not None else every,
            a.access_psv if a.access_psv is not None else every,
            a.access_emergency if a.access_emergency is not None else np.full(m, access.UNSET, dtype=np.int8))
            for p, prof in PROFILES.items()}
        self.weights = {p: self._weights(p) for p in PROFILES}
        # --- the turn graph -----------------------------------------------------------------
        tg = self.turns = TurnGraph.of(a, PROFILES, emergency_bus_lanes)
        self.stretch_of, self.edges_of, self.stretch_start = tg.stretch_of, tg.stretch_edges, tg.stretch_start
        self.place_in_stretch = np.empty(m, dtype=np.int64)
        self.place_in_stretch[tg.stretch_edges] = np.arange(m) - np.repeat(
            tg.stretch_start[:-1], np.diff(tg.stretch_start))
        self.arc_tail, self.arc_head = tg.arc_tail, tg.arc_head
        self.arc_of = dict(zip(zip(tg.arc_tail.tolist(), tg.arc_head.tolist(), strict=True),
                               range(len(tg.arc_tail)), strict=True))
        self.head_stretch = tg.vertex_stretch[tg.arc_head]
        self.arcs_into, self.arcs_into_start = _group(self.head_stretch, tg.stretch_count)
        self.in_arcs, self.in_arcs_start = _group(tg.arc_head, tg.vertex_count)
        self.vertices_of, self.vertices_of_start = _group(tg.vertex_stretch, tg.stretch_count)
        first = tg.stretch_edges[tg.stretch_start[:-1]]
        self.turn_s = {p: tg.turn_costs(prof) for p, prof in PROFILES.items()}
        # Destination-only roads (private, parking aisles) as the first or last stretch only:
        # turning into one from a public road costs a penalty no real route pays twice (OSRM's rule).
        tail_stretch = tg.vertex_stretch[tg.arc_tail]
        self.penalty = {p: np.where((self.level[p][first][self.head_stretch] == access.DESTINATION)
                                    & (self.level[p][first][tail_stretch] == access.YES),
                                    DESTINATION_PENALTY_S, 0.0) for p in PROFILES}
        self.sums = {p: self._stretch_sums(self.weights[p]) for p in PROFILES}
        self.arc_w = {p: self._arc_weights(p, np.arange(len(tg.arc_tail))) for p in PROFILES}
        self.signal_of = dict(zip(a.signal_nodes.tolist(), a.signal_ids, strict=True))
        at_signal = np.zeros(self.n, dtype=bool)
        at_signal[a.signal_nodes] = True
        stops = a.signal_approach if a.signal_approach is not None else at_signal[self.dst]
        red_wait = np.array([expected_red_wait_s(k) for k in a.class_names])
        self.delay = np.where(stops & at_signal[self.dst], red_wait[class_of], 0.0)
        self.lonlat = np.column_stack((a.lon, a.lat))
        v = tg.vertex_count
        self.forward = _Direction(v, tg.arc_tail, tg.arc_head, self.arc_w)
        self.reverse = _Direction(v, tg.arc_head, tg.arc_tail, self.arc_w)
        self._lock = threading.Lock()  # queries rewrite the virtual row; one at a time
        self.version = 0
        # The cached order was computed for the default bus-lane rule; another rule may shape another
        # turn graph, for which that order is not a permutation: compute one then.
        order = a.node_order if a.node_order is not None and len(a.node_order) == v else None
        self.cch = (cch.CCHEngine(v, tg.arc_tail, tg.arc_head, tg.lon, tg.lat, self.arc_w, order=order)
                    if engine != "scipy" and cch.available() else None)
        self.engine = "cch" if self.cch is not None else "scipy"

    @classmethod
    def build(cls, network: RoadNetwork, engine: str = "auto") -> "RoutingIndex":
        return cls(network, engine)

    def _weights(self, profile: str) -> np.ndarray:
        w = self.length / (speeds_kmh(profile, self.arterial, self.free_kmh) / 3.6)
        w[self.closed | (self.level[profile] == access.NO)] = CLOSED
        return w

    def _stretch_sums(self, w: np.ndarray) -> "_Sums":
        blocked = w >= CLOSED
        finite = np.where(blocked, 0.0, w)
        ordered = finite[self.edges_of]
        # sums within each stretch from the start: cumulated over all, less each stretch's start
        cum = np.concatenate(([0.0], np.cumsum(ordered)))
        bcum = np.concatenate(([0], np.cumsum(blocked[self.edges_of])))
        lead = np.repeat(self.stretch_start[:-1], np.diff(self.stretch_start))
        pos = np.arange(len(w))
        before_f, before_b = np.empty(len(w)), np.empty(len(w), dtype=np.int64)
        before_f[self.edges_of] = cum[pos] - cum[lead]
        before_b[self.edges_of] = bcum[pos] - bcum[lead]
        total_f = cum[self.stretch_start[1:]] - cum[self.stretch_start[:-1]]
        total_b = bcum[self.stretch_start[1:]] - bcum[self.stretch_start[:-1]]
        return _Sums(self.stretch_of, finite, blocked, before_f, before_b, total_f, total_b)

    def _arc_weights(self, profile: str, arcs: np.ndarray) -> np.ndarray:
        s = self.sums[profile]
        stretch = self.head_stretch[arcs]
        whole = np.where(s.total_b[stretch] > 0, CLOSED, s.total_f[stretch])
        w = self.turn_s[profile][arcs] + whole + self.penalty[profile][arcs]
        return np.where(np.isfinite(w) & (w < CLOSED), w, CLOSED)

    # --- live changes ------------------------------------------------------------------------

    def set_edge_speed(self, u: int, v: int, speed_kmh_now: float) -> None:
        """A road slowed (or sped up): new free-flow speed for this direction of the edge."""
        if speed_kmh_now <= 0:
            raise ValueError("speed must be positive; close the road instead")
        i = self._edge(u, v)
        self.free_kmh[i] = speed_kmh_now
        self._patch(i)

    def close_edge(self, u: int, v: int) -> None:
        i = self._edge(u, v)
        self.closed[i] = True
        self._patch(i)

    def reopen_edge(self, u: int, v: int) -> None:
        i = self._edge(u, v)
        self.closed[i] = False
        self._patch(i)

    def edge_ids(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Edge ids of many (u, v) pairs at once; -1 where no road runs from u to v."""
        start = self.out_start[u]
        look = start[:, None] + np.arange(self.widest)  # each u's outgoing edges, padded
        inside = look < self.out_start[u + 1][:, None]
        look = np.where(inside, look, 0)
        hit = inside & (self.out_head[look] == v[:, None])
        found = hit.any(axis=1)
        return np.where(found, self.out_edges[look[np.arange(len(u)), hit.argmax(axis=1)]], -1)

    def _edge(self, u: int, v: int) -> int:
        try:
            return self.edge_id[(u, v)]
        except KeyError:
            raise KeyError(f"no road from node {u} to node {v}") from None

    def _patch(self, i: int) -> None:
        s = int(self.stretch_of[i])
        edges = self.edges_of[self.stretch_start[s]:self.stretch_start[s + 1]]
        arcs = self.arcs_into[self.arcs_into_start[s]:self.arcs_into_start[s + 1]]
        with self._lock:
            for p, w in self.weights.items():
                kmh = speed_kmh(p, self.classes[i], self.free_kmh[i])
                blocked = self.closed[i] or self.level[p][i] == access.NO
                w[i] = CLOSED if blocked else self.length[i] / (kmh / 3.6)
                self.sums[p].restretch(s, edges, w)
                self.arc_w[p][arcs] = self._arc_weights(p, arcs)
                self.forward.matrices[p].data[self.forward.slot[arcs]] = self.arc_w[p][arcs]
                self.reverse.matrices[p].data[self.reverse.slot[arcs]] = self.arc_w[p][arcs]
            if self.cch is not None:
                for arc in arcs.tolist():
                    self.cch.update(arc, {p: float(w[arc]) for p, w in self.arc_w.items()})
            self.version += 1

    # --- places on the turn graph ------------------------------------------------------------

    def _starts(self, s: Snap, profile: str) -> list[_Start]:
        """The ways out of a unit's place: ahead along its edge, or turned round on the spot."""
        i = self._edge(*s.edge)
        out = []
        for e, f in ((i, s.fraction), (int(self.twin[i]), 1 - s.fraction)):
            if e >= 0:
                seconds = float(self.sums[profile].after(np.array([e]), np.array([f]))[0])
                if seconds < UNREACHABLE:
                    out.append(_Start(int(self.stretch_of[e]), seconds, e, f))
        return out

    def _entries(self, t: Snap, profile: str) -> list[_Entry]:
        """The ways into a target's place, from either direction of its road."""
        i = self._edge(*t.edge)
        sums, out = self.sums[profile], []
        for e, g in ((i, t.fraction), (int(self.twin[i]), 1 - t.fraction)):
            if e < 0:
                continue
            into = float(sums.before(np.array([e]), np.array([g]))[0])
            if into >= UNREACHABLE:
                continue
            s = int(self.stretch_of[e])
            for vertex in self.vertices_of[self.vertices_of_start[s]:self.vertices_of_start[s + 1]].tolist():
                for arc in self.in_arcs[self.in_arcs_start[vertex]:self.in_arcs_start[vertex + 1]].tolist():
                    turn = self.turn_s[profile][arc] + self.penalty[profile][arc]
                    if np.isfinite(turn):
                        out.append(_Entry(int(self.arc_tail[arc]), float(turn + into), arc, e, g))
        return out

    def _direct(self, s: _Start, t: Snap, profile: str) -> tuple[float, int, float]:
        """Seconds when the unit is on the target's stretch short of it (else inf), with the
        target's edge and place in the unit's direction."""
        i = self._edge(*t.edge)
        sums = self.sums[profile]
        for e, g in ((i, t.fraction), (int(self.twin[i]), 1 - t.fraction)):
            if e < 0 or self.stretch_of[e] != self.stretch_of[s.edge]:
                continue
            here, there = self.place_in_stretch[s.edge], self.place_in_stretch[e]
            if (here, s.fraction) <= (there, g):
                blocked = sums.before_b[e] + sums.blocked[e] - sums.before_b[s.edge]
                if blocked == 0:
                    return (float(sums.before_f[e] + g * sums.finite[e]
                                  - sums.before_f[s.edge] - s.fraction * sums.finite[s.edge]), e, g)
        return float("inf"), -1, 0.0

    # --- queries -----------------------------------------------------------------------------

    def tree_to(self, target: Snap, profile: str = "car") -> "TreeToTarget":
        """One reverse search: every stretch's time to the target, and the way there."""
        entries = self._entries(target, profile)
        with self._lock:
            dist, pred = self.reverse.search(profile, [(x.vertex, x.seconds) for x in entries])
        return TreeToTarget(self, target, profile, dist, pred, entries)

    def tree_from(self, source: Snap, profile: str = "car") -> "TreeFromSource":
        """One forward search: the time from one road position to every stretch's end."""
        starts = self._starts(source, profile)
        with self._lock:
            dist, _ = self.forward.search(profile, [(s.vertex, s.seconds) for s in starts])
        return TreeFromSource(self, source, profile, dist, starts)

    def travel_times_to(self, target: Snap, sources: list[Snap], profile: str = "car") -> np.ndarray:
        if self.cch is None:
            return self.tree_to(target, profile).times(sources)
        if not sources:
            return np.zeros(0, dtype=np.float64)
        sums = self.sums[profile]
        # The sources' two ways out (ahead, or turned round), as arrays: per-unit Python here
        # would cost more than the search itself.
        k = len(sources)
        ab = np.fromiter(chain.from_iterable([s.edge for s in sources]), dtype=np.int64, count=2 * k)
        f = np.fromiter([s.fraction for s in sources], dtype=np.float64, count=k)
        i = self.edge_ids(ab[0::2], ab[1::2])
        if (i < 0).any():
            j = int(np.argmax(i < 0))
            raise KeyError(f"no road from node {ab[2 * j]} to node {ab[2 * j + 1]}")
        back = self.twin[i]
        ahead_s = sums.after(i, f)
        back_s = np.where(back >= 0, sums.after(np.maximum(back, 0), 1 - f), np.inf)
        ahead_ok, back_ok = ahead_s < UNREACHABLE, back_s < UNREACHABLE
        out = np.full(k, np.inf)
        # Already on the target's stretch, short of it: no search needed for that way.
        te = self._edge(*target.edge)
        target_stretches = {int(self.stretch_of[e]) for e in (te, int(self.twin[te])) if e >= 0}
        near = np.flatnonzero(np.isin(self.stretch_of[i], list(target_stretches))
                              | np.isin(self.stretch_of[np.maximum(back, 0)], list(target_stretches)))
        for u in near.tolist():
            for e, fr in ((int(i[u]), float(f[u])), (int(back[u]), 1 - float(f[u]))):
                if e >= 0:
                    out[u] = min(out[u], self._direct(_Start(int(self.stretch_of[e]), 0.0, e, fr),
                                                      target, profile)[0])
        entries = self._entries(target, profile)
        targets = [(x.vertex, int(round(x.seconds * 1000))) for x in entries]
        pins = np.concatenate((self.stretch_of[i[ahead_ok]], self.stretch_of[back[back_ok]]))
        if len(pins) and targets:
            with self._lock:
                seconds = self.cch.many_to_one(profile, pins, targets) / 1000.0
            ahead, turn = np.full(k, np.inf), np.full(k, np.inf)
            split = int(ahead_ok.sum())
            ahead[ahead_ok] = seconds[:split] + ahead_s[ahead_ok]
            turn[back_ok] = seconds[split:] + back_s[back_ok]
            out = np.minimum(out, np.minimum(ahead, turn))
        return real_seconds(out)

    def times_from(self, source: Snap, targets: list[Snap], profile: str = "car") -> np.ndarray:
        """Seconds from one road position to each of a few others (a patient to hospitals)."""
        if self.cch is None:
            tree = self.tree_from(source, profile)
            return np.array([tree.time_to(t) for t in targets], dtype=np.float64)
        return real_seconds(np.array([self._cch_path(source, t, profile)[0] for t in targets]))

    def _cch_path(self, a: Snap, b: Snap, profile: str) -> tuple[float, "_Path | None"]:
        assert self.cch is not None
        starts, entries = self._starts(a, profile), self._entries(b, profile)
        best, path = self._best_direct(starts, b, profile)
        if starts and entries:
            with self._lock:
                ms, vertices = self.cch.path(profile,
                                             [(s.vertex, int(round(s.seconds * 1000))) for s in starts],
                                             [(x.vertex, int(round(x.seconds * 1000))) for x in entries])
            if ms / 1000.0 < best and vertices:
                start = min((s for s in starts if s.vertex == vertices[0]), key=lambda s: s.seconds)
                entry = min((x for x in entries if x.vertex == vertices[-1]), key=lambda x: x.seconds)
                best, path = ms / 1000.0, _Path(start, vertices, entry)
        return best, path

    def _best_direct(self, starts: list[_Start], b: Snap, profile: str) -> tuple[float, "_Path | None"]:
        best, path = float("inf"), None
        for s in starts:
            seconds, e, g = self._direct(s, b, profile)
            if seconds < best:
                best, path = seconds, _Path(s, [], _Entry(-1, 0.0, -1, e, g))
        return best, path

    def rank(self, target: Snap, sources: dict[str, Snap], k: int | None = None,
             profile: str = "car") -> list[tuple[str, float]]:
        ids = list(sources)
        times = self.travel_times_to(target, [sources[i] for i in ids], profile)
        ranked = sorted(((i, float(t)) for i, t in zip(ids, times, strict=True) if np.isfinite(t)),
                        key=lambda it: it[1])
        return ranked[:k] if k is not None else ranked

    def route(self, a: Snap, b: Snap, profile: str = "car") -> Route:
        if self.cch is None:
            return self.tree_to(b, profile).route_from(a)
        total, path = self._cch_path(a, b, profile)
        if path is None or total >= UNREACHABLE:
            raise ValueError("no route: the target cannot be reached from there")
        return assemble_route(self, profile, a, b, path)


@dataclass
class _Sums:
    """Per profile: each edge's seconds (closed or forbidden edges counted apart, so a closure
    never swamps the sums in floating point) and their running sums within each stretch."""

    stretch_of: np.ndarray
    finite: np.ndarray  # per edge, 0 where blocked
    blocked: np.ndarray  # per edge
    before_f: np.ndarray  # per edge: seconds of the stretch's edges before it
    before_b: np.ndarray  # per edge: blocked edges of the stretch before it
    total_f: np.ndarray  # per stretch
    total_b: np.ndarray

    def after(self, e: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Seconds from place f along edge e to the end of its stretch (CLOSED if blocked)."""
        s = self.stretch_of[e]
        rest_f = self.total_f[s] - self.before_f[e] - f * self.finite[e]
        rest_b = self.total_b[s] - self.before_b[e] - (self.blocked[e] & (f >= 1))
        return np.where(rest_b > 0, CLOSED, rest_f)

    def before(self, e: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Seconds from the start of e's stretch to place g along e (CLOSED if blocked)."""
        b = self.before_b[e] + (self.blocked[e] & (g > 0))
        return np.where(b > 0, CLOSED, self.before_f[e] + g * self.finite[e])

    def restretch(self, s: int, edges: np.ndarray, w: np.ndarray) -> None:
        blocked = w[edges] >= CLOSED
        finite = np.where(blocked, 0.0, w[edges])
        self.finite[edges], self.blocked[edges] = finite, blocked
        self.before_f[edges] = np.concatenate(([0.0], np.cumsum(finite)[:-1]))
        self.before_b[edges] = np.concatenate(([0], np.cumsum(blocked)[:-1]))
        self.total_f[s], self.total_b[s] = finite.sum(), blocked.sum()


@dataclass(frozen=True)
class _Path:
    """A way from a unit to a target over the turn graph: out of the place by `start`, the
    stretches `vertices` (empty: straight along the one stretch), in by `entry`."""

    start: _Start
    vertices: list[int]
    entry: _Entry


def _group(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Items grouped by key: group k is order[start[k]:start[k+1]]."""
    order = np.argsort(keys, kind="stable")
    start = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=size), out=start[1:])
    return order, start


class TreeToTarget:
    """The result of one reverse search; answers times and routes for any number of sources."""

    def __init__(self, index: RoutingIndex, target: Snap, profile: str, dist: np.ndarray,
                 pred: np.ndarray, entries: list[_Entry]) -> None:
        self.index, self.target, self.profile = index, target, profile
        self.dist, self.pred, self.entries = dist, pred, entries

    def _best(self, s: Snap) -> tuple[float, _Path | None]:
        idx = self.index
        starts = idx._starts(s, self.profile)
        best, path = idx._best_direct(starts, self.target, self.profile)
        for st in starts:
            t = st.seconds + self.dist[st.vertex]
            if t < best:
                best, path = float(t), self._walk(st)
        return best, path

    def _walk(self, st: _Start) -> _Path:
        vertices, v, virtual = [], st.vertex, self.index.forward.n
        while v != virtual:
            vertices.append(int(v))
            v = int(self.pred[v])
            if v < 0:
                raise ValueError("search tree broken")
        last = vertices[-1]
        entry = min((x for x in self.entries if x.vertex == last), key=lambda x: x.seconds)
        return _Path(st, vertices, entry)

    def time_from(self, s: Snap) -> float:
        return float(real_seconds(np.array([self._best(s)[0]]))[0])

    def times(self, sources: list[Snap]) -> np.ndarray:
        return np.array([self.time_from(s) for s in sources], dtype=np.float64)

    def route_from(self, s: Snap) -> Route:
        total, path = self._best(s)
        if path is None or total >= UNREACHABLE:
            raise ValueError("no route: the target cannot be reached from there")
        return assemble_route(self.index, self.profile, s, self.target, path)


class TreeFromSource:
    """The result of one forward search from a road position: times to any other position."""

    def __init__(self, index: RoutingIndex, source: Snap, profile: str, dist: np.ndarray,
                 starts: list[_Start]) -> None:
        self.index, self.source, self.profile, self.dist, self.starts = index, source, profile, dist, starts

    def time_to(self, target: Snap) -> float:
        idx = self.index
        best, _ = idx._best_direct(self.starts, target, self.profile)
        for x in idx._entries(target, self.profile):
            best = min(best, float(self.dist[x.vertex] + x.seconds))
        return float(real_seconds(np.array([best]))[0])


def assemble_route(idx: RoutingIndex, profile: str, s: Snap, target: Snap, path: _Path) -> Route:
    """A route's geometry, segments, turns and signal passages from its path over the turn graph.

    Worked on arrays: a cross-town route has hundreds of segments, and a per-segment Python loop
    cost more than the search that found them."""
    w = idx.weights[profile]
    start, entry = path.start, path.entry

    def edges_of(stretch: int) -> np.ndarray:
        return idx.edges_of[idx.stretch_start[stretch]:idx.stretch_start[stretch + 1]]

    here = int(idx.place_in_stretch[start.edge])
    there = int(idx.place_in_stretch[entry.edge])
    turn_arcs: list[int] = []
    if not path.vertices:  # along the one stretch, to the target ahead
        pieces = [edges_of(int(idx.stretch_of[start.edge]))[here:there + 1]]
    else:
        stretches = idx.turns.vertex_stretch[np.asarray(path.vertices, dtype=np.int64)].tolist()
        turn_arcs = [idx.arc_of[(p, q)] for p, q in zip(path.vertices, path.vertices[1:], strict=False)]
        turn_arcs.append(entry.arc)
        pieces = [edges_of(stretches[0])[here:], *(edges_of(x) for x in stretches[1:]),
                  edges_of(int(idx.stretch_of[entry.edge]))[:there + 1]]
    edges = np.concatenate(pieces)
    share = np.ones(len(edges))
    share[0] = 1 - start.fraction
    share[-1] = entry.fraction if len(edges) > 1 else entry.fraction - start.fraction
    turn = np.zeros(len(edges))
    if turn_arcs:  # each turn is paid on the first edge of the stretch it turns into
        firsts = np.cumsum([len(p) for p in pieces])[:-1]
        turn[firsts] = idx.turn_s[profile][np.asarray(turn_arcs, dtype=np.int64)]
    us, vs = idx.src[edges], idx.dst[edges]
    tt = w[edges] * share + turn
    ln = idx.length[edges] * share
    # the unit meets a signal at the stop line of the node it reaches: the wait counts from then
    reaches = np.ones(len(edges), dtype=bool)
    reaches[-1] = False  # the incident's edge is not driven to its end
    wait = np.where(reaches, idx.delay[edges], 0.0)
    eta = np.cumsum(tt + wait)
    nodes = vs[:-1].tolist()
    signals = [SignalOnRoute(idx.signal_of[int(vs[k])], int(vs[k]), (int(us[k]), int(vs[k])),
                             float(eta[k] - wait[k]), float(wait[k]))
               for k in np.flatnonzero(wait > 0).tolist()]
    coords = np.vstack(([s.lon, s.lat], idx.lonlat[np.asarray(nodes, dtype=np.int64)].reshape(-1, 2),
                        [target.lon, target.lat]))
    return Route(nodes=nodes, geometry=shapely.linestrings(coords), length_m=float(ln.sum()),
                 eta_s=float(eta[-1]), eta_green_s=float(tt.sum()), signals=signals,
                 legs=(us, vs, ln, tt, eta))
