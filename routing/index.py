"""The compiled routing index: CSR arrays built once from the graph, answering drive-time
questions with scipy's sparse Dijkstra.

Many-to-one: one reverse search from the incident gives every unit's time to it and, through
the search tree, every unit's path, so ranking 500 units and routing the top three is one
search. Points on roads are exact: the incident and each unit sit part-way along an edge, and
the search starts from a virtual node whose two links carry those partial-edge costs (its row
is reserved in the CSR arrays and rewritten per query, so nothing is rebuilt).

Live changes (a road closed or slowed) patch the weight arrays in place and take effect on the
next query."""

import threading
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from itertools import chain

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely import LineString

from routing import cch
from routing.network import RoadNetwork
from routing.profiles import ARTERIAL, PROFILES, speed_kmh, speeds_kmh
from routing.signal_delay import expected_red_wait_s
from routing.snap import Snap

CLOSED = 1e12  # weight of a closed road: never on a route, still a valid float
UNREACHABLE = 1e11
TINY = 1e-9  # scipy treats explicit zeros as edges, but keep offsets strictly positive anyway


class Start(Enum):
    """How a route leaves the unit's road position: along its edge to the far node, turning round
    to the near one, staying on the same road to a target ahead on it, or not at all."""

    AHEAD = "ahead"
    TURN_ROUND = "turn"
    SAME_ROAD = "same"
    UNREACHABLE = "none"


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


class _Direction:
    """One direction's CSR arrays with a reserved row for the virtual start node."""

    def __init__(self, n: int, rows: np.ndarray, cols: np.ndarray, weights: dict[str, np.ndarray]) -> None:
        order = np.lexsort((cols, rows))
        counts = np.bincount(rows, minlength=n + 1)
        counts[n] = 2  # the virtual node's two links
        self.indptr = np.zeros(n + 2, dtype=np.int32)
        np.cumsum(counts, out=self.indptr[1:])
        self.indices = np.empty(len(rows) + 2, dtype=np.int32)
        self.indices[: len(rows)] = cols[order]
        self.slot = np.empty(len(rows), dtype=np.int64)  # edge id -> position in the arrays
        self.slot[order] = np.arange(len(rows))
        self.virtual = len(rows)
        self.matrices: dict[str, csr_matrix] = {}
        for profile, w in weights.items():
            data = np.empty(len(rows) + 2, dtype=np.float64)
            data[: len(rows)] = w[order]
            data[-2:] = TINY
            self.matrices[profile] = csr_matrix((data, self.indices, self.indptr), shape=(n + 1, n + 1))

    def search(self, profile: str, starts: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
        m = self.matrices[profile]
        (a, wa), (b, wb) = starts[0], starts[-1]
        m.indices[self.virtual], m.indices[self.virtual + 1] = a, b
        m.data[self.virtual], m.data[self.virtual + 1] = max(wa, TINY), max(wb, TINY)
        dist, pred = dijkstra(m, directed=True, indices=m.shape[0] - 1, return_predecessors=True)
        return dist, pred


class RoutingIndex:
    def __init__(self, network: RoadNetwork, engine: str = "auto") -> None:
        """engine: "cch" (RoutingKit, needs `routingkit-cch`), "scipy", or "auto" (cch if there)."""
        a = network.arrays
        self.network = network
        self.n = a.node_count
        m = len(a.tail)
        self.src, self.dst, self.length = a.tail, a.head, a.length_m
        self.free_kmh = a.speed_kmh.copy()  # live changes write here, not into the network
        self.classes = a.road_class().tolist()
        # Per-edge work is done per road class (a dozen) and broadcast, not per edge in Python.
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
        self.weights = {p: self._weights(p) for p in PROFILES}
        self.signal_of = dict(zip(a.signal_nodes.tolist(), a.signal_ids, strict=True))
        at_signal = np.zeros(self.n, dtype=bool)
        at_signal[a.signal_nodes] = True
        red_wait = np.array([expected_red_wait_s(k) for k in a.class_names])
        self.delay = np.where(at_signal[self.dst], red_wait[class_of], 0.0)
        self.lonlat = np.column_stack((a.lon, a.lat))
        self.forward = _Direction(self.n, self.src, self.dst, self.weights)
        self.reverse = _Direction(self.n, self.dst, self.src, self.weights)
        self._lock = threading.Lock()  # queries rewrite the virtual row; one at a time
        self.version = 0
        if engine not in ("auto", "cch", "scipy"):
            raise ValueError(f"unknown engine {engine!r}")
        if engine == "cch" and not cch.available():
            raise RuntimeError("engine 'cch' needs the routingkit-cch package")
        self.cch = (cch.CCHEngine(self.n, self.src, self.dst, self.lonlat[:, 0], self.lonlat[:, 1],
                                  self.weights, order=a.node_order)
                    if engine != "scipy" and cch.available() else None)
        self.engine = "cch" if self.cch is not None else "scipy"

    @classmethod
    def build(cls, network: RoadNetwork, engine: str = "auto") -> "RoutingIndex":
        return cls(network, engine)

    def _weights(self, profile: str) -> np.ndarray:
        w = self.length / (speeds_kmh(profile, self.arterial, self.free_kmh) / 3.6)
        w[self.closed] = CLOSED
        return w

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
        with self._lock:
            for p, w in self.weights.items():
                kmh = speed_kmh(p, self.classes[i], self.free_kmh[i])
                w[i] = CLOSED if self.closed[i] else self.length[i] / (kmh / 3.6)
                self.forward.matrices[p].data[self.forward.slot[i]] = w[i]
                self.reverse.matrices[p].data[self.reverse.slot[i]] = w[i]
            if self.cch is not None:
                self.cch.update(i, {p: float(w[i]) for p, w in self.weights.items()})
            self.version += 1

    # --- queries -----------------------------------------------------------------------------

    def tree_to(self, target: Snap, profile: str = "car") -> "TreeToTarget":
        """One reverse search: every node's time to the target, and the way there."""
        w = self.weights[profile]
        u, v = target.edge
        i = self._edge(u, v)
        starts = [(u, target.fraction * w[i])]  # reach u, then drive part of u->v
        back = self.edge_id.get((v, u))
        if back is not None and w[back] < UNREACHABLE:
            starts.append((v, (1 - target.fraction) * w[back]))
        with self._lock:
            dist, pred = self.reverse.search(profile, starts)
        return TreeToTarget(self, target, profile, dist, pred)

    def tree_from(self, source: Snap, profile: str = "car") -> "TreeFromSource":
        """One forward search: the time from one road position to every node."""
        w = self.weights[profile]
        a, b = source.edge
        i = self._edge(a, b)
        starts = [(b, (1 - source.fraction) * w[i])]
        back = self.edge_id.get((b, a))
        if back is not None and w[back] < UNREACHABLE:
            starts.append((a, source.fraction * w[back]))
        with self._lock:
            dist, _ = self.forward.search(profile, starts)
        return TreeFromSource(self, source, profile, dist)

    def _ends(self, s: Snap, w: np.ndarray, leaving: bool) -> list[tuple[int, float]]:
        """The nodes a road position connects to, each with the seconds between them: leaving
        the position (a unit) or arriving at it (an incident)."""
        a, b = s.edge
        i = self._edge(a, b)
        back = self.edge_id.get((b, a))
        ahead = ((b, (1 - s.fraction) * w[i]) if leaving else (a, s.fraction * w[i]))
        out = [ahead] if w[i] < UNREACHABLE else []
        if back is not None and w[back] < UNREACHABLE:
            out.append((a, s.fraction * w[back]) if leaving else (b, (1 - s.fraction) * w[back]))
        return out

    def _same_edge(self, s: Snap, t: Snap, w: np.ndarray) -> float:
        """Seconds when the unit is already on the incident's street, short of it; else inf."""
        (a, b), (tu, tv) = s.edge, t.edge
        for (x, y), pos in (((tu, tv), t.fraction), ((tv, tu), 1 - t.fraction)):
            if (a, b) == (x, y) and s.fraction <= pos:
                return float((pos - s.fraction) * w[self._edge(x, y)])
        return float("inf")

    def travel_times_to(self, target: Snap, sources: list[Snap], profile: str = "car") -> np.ndarray:
        if self.cch is None:
            return self.tree_to(target, profile).times(sources)
        if not sources:
            return np.zeros(0, dtype=np.float64)
        w = self.weights[profile]
        # The sources' two ways out (ahead to b, or turning back to a), as arrays: per-unit Python
        # here would cost more than the search itself.
        k = len(sources)
        ab = np.fromiter(chain.from_iterable([s.edge for s in sources]), dtype=np.int64, count=2 * k)
        a, b = ab[0::2], ab[1::2]
        f = np.fromiter([s.fraction for s in sources], dtype=np.float64, count=k)
        i = self.edge_ids(a, b)
        if (i < 0).any():
            j = int(np.argmax(i < 0))
            raise KeyError(f"no road from node {a[j]} to node {b[j]}")
        back = self.twin[i]
        w_ahead = w[i]
        w_back = np.where(back >= 0, w[back], np.inf)
        ahead_ok, back_ok = w_ahead < UNREACHABLE, w_back < UNREACHABLE
        # Already on the incident's street, short of it: no search needed for that way.
        (tu, tv), tf = target.edge, target.fraction
        out = np.full(k, np.inf)
        same = ahead_ok & (a == tu) & (b == tv) & (f <= tf)
        out[same] = (tf - f[same]) * w_ahead[same]
        same = ahead_ok & (a == tv) & (b == tu) & (f <= 1 - tf)
        out[same] = (1 - tf - f[same]) * w_ahead[same]
        ends = self._ends(target, w, leaving=False)
        targets = [(node, int(round(seconds * 1000))) for node, seconds in ends]
        pins = np.concatenate((b[ahead_ok], a[back_ok]))  # repeats are fine: one sweep serves all
        if len(pins) and targets:
            with self._lock:
                seconds = self.cch.many_to_one(profile, pins, targets) / 1000.0
            ahead, turn = np.full(k, np.inf), np.full(k, np.inf)
            split = int(ahead_ok.sum())
            ahead[ahead_ok] = seconds[:split] + (1 - f[ahead_ok]) * w_ahead[ahead_ok]
            turn[back_ok] = seconds[split:] + f[back_ok] * w_back[back_ok]
            out = np.minimum(out, np.minimum(ahead, turn))
        out[out >= UNREACHABLE] = np.inf
        return out

    def times_from(self, source: Snap, targets: list[Snap], profile: str = "car") -> np.ndarray:
        """Seconds from one road position to each of a few others (a patient to hospitals)."""
        if self.cch is None:
            tree = self.tree_from(source, profile)
            return np.array([tree.time_to(t) for t in targets], dtype=np.float64)
        return np.array([self._cch_path(source, t, profile)[0] for t in targets], dtype=np.float64)

    def _cch_path(self, a: Snap, b: Snap, profile: str) -> tuple[float, Start, list[int]]:
        assert self.cch is not None
        w = self.weights[profile]
        starts = [(n, int(round(sec * 1000))) for n, sec in self._ends(a, w, leaving=True)]
        ends = [(n, int(round(sec * 1000))) for n, sec in self._ends(b, w, leaving=False)]
        direct = self._same_edge(a, b, w)
        total, nodes = np.inf, list[int]()
        if starts and ends:
            with self._lock:
                ms, nodes = self.cch.path(profile, starts, ends)
            total = ms / 1000.0
        if direct <= total:
            return direct, Start.SAME_ROAD, []
        if not nodes:
            return np.inf, Start.UNREACHABLE, []
        return total, (Start.AHEAD if nodes[0] == a.edge[1] else Start.TURN_ROUND), nodes

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
        total, how, nodes = self._cch_path(a, b, profile)
        if how is Start.UNREACHABLE:
            raise ValueError("no route: the target cannot be reached from there")
        if how is Start.SAME_ROAD:
            total = self._same_edge(a, b, self.weights[profile])
        return assemble_route(self, self.weights[profile], a, b, how, total, nodes)


class TreeToTarget:
    """The result of one reverse search; answers times and routes for any number of sources."""

    def __init__(self, index: RoutingIndex, target: Snap, profile: str, dist: np.ndarray,
                 pred: np.ndarray) -> None:
        self.index, self.target, self.profile = index, target, profile
        self.dist, self.pred = dist, pred
        self.w = index.weights[profile]

    def _options(self, s: Snap) -> list[tuple[float, Start, int | None]]:
        """Ways a unit on a road position can go: (time, how, first node reached)."""
        idx, w = self.index, self.w
        a, b = s.edge
        i = idx._edge(a, b)
        out: list[tuple[float, Start, int | None]] = []
        if w[i] < UNREACHABLE:
            out.append(((1 - s.fraction) * w[i] + self.dist[b], Start.AHEAD, b))
        back = idx.edge_id.get((b, a))
        if back is not None and w[back] < UNREACHABLE:
            out.append((s.fraction * w[back] + self.dist[a], Start.TURN_ROUND, a))
        tu, tv = self.target.edge
        if (a, b) == (tu, tv) and s.fraction <= self.target.fraction and w[i] < UNREACHABLE:
            out.append(((self.target.fraction - s.fraction) * w[i], Start.SAME_ROAD, None))
        if (a, b) == (tv, tu) and s.fraction <= 1 - self.target.fraction and w[i] < UNREACHABLE:
            out.append(((1 - self.target.fraction - s.fraction) * w[i], Start.SAME_ROAD, None))
        return out

    def time_from(self, s: Snap) -> float:
        best = min((t for t, _, _ in self._options(s)), default=np.inf)
        return float(best) if best < UNREACHABLE else np.inf

    def times(self, sources: list[Snap]) -> np.ndarray:
        return np.array([self.time_from(s) for s in sources], dtype=np.float64)

    def route_from(self, s: Snap) -> Route:
        options = self._options(s)
        if not options or min(t for t, _, _ in options) >= UNREACHABLE:
            raise ValueError("no route: the target cannot be reached from there")
        total, how, first = min(options, key=lambda o: o[0])
        idx = self.index
        nodes: list[int] = []
        if first is not None:
            node = first
            virtual = idx.n
            while node != virtual:
                nodes.append(int(node))
                node = int(self.pred[node])
                if node < 0:
                    raise ValueError("search tree broken")
        return assemble_route(self.index, self.w, s, self.target, how, total, nodes)


def assemble_route(idx: RoutingIndex, w: np.ndarray, s: Snap, target: Snap, how: Start, total: float,
                   nodes: list[int]) -> Route:
    """A route's geometry, segments and signal passages from its node path and the two ends.

    Worked on arrays: a cross-town route has hundreds of segments, and a per-segment Python loop
    cost more than the search that found them."""
    a, b = s.edge
    tu, tv = target.edge
    if how is Start.SAME_ROAD:
        us, vs = [a], [b]
        share = [total / w[idx._edge(a, b)]]
        reaches = [False]
        points = np.empty((0, 2))
    else:
        first = (a, b, 1 - s.fraction) if how is Start.AHEAD else (b, a, s.fraction)
        last = (tu, tv, target.fraction) if nodes[-1] == tu else (tv, tu, 1 - target.fraction)
        us = [first[0], *nodes[:-1], last[0]]
        vs = [first[1], *nodes[1:], last[1]]
        share = [first[2], *([1.0] * (len(nodes) - 1)), last[2]]
        reaches = [True] * len(nodes) + [False]  # every node is reached; the incident's edge is not
        points = idx.lonlat[np.asarray(nodes, dtype=np.int64)]
    edge_ids = idx.edge_ids(np.asarray(us, dtype=np.int64), np.asarray(vs, dtype=np.int64))
    if (edge_ids < 0).any():
        raise ValueError("the path runs over a road the index does not know")
    tt = w[edge_ids] * np.asarray(share)
    ln = idx.length[edge_ids] * np.asarray(share)
    # the unit meets a signal at the stop line of the node it reaches: the wait counts from then
    wait = np.where(np.asarray(reaches), idx.delay[edge_ids], 0.0)
    eta = np.cumsum(tt + wait)
    signals = [SignalOnRoute(idx.signal_of[vs[k]], vs[k], (us[k], vs[k]), float(eta[k] - wait[k]),
                             float(wait[k])) for k in np.flatnonzero(wait > 0).tolist()]
    coords = np.vstack(([s.lon, s.lat], points, [target.lon, target.lat]))
    return Route(nodes=nodes, geometry=shapely.linestrings(coords), length_m=float(ln.sum()),
                 eta_s=float(eta[-1]), eta_green_s=float(tt.sum()), signals=signals,
                 legs=(np.asarray(us), np.asarray(vs), ln, tt, eta))


class TreeFromSource:
    """The result of one forward search from a road position: times to any other position."""

    def __init__(self, index: RoutingIndex, source: Snap, profile: str, dist: np.ndarray) -> None:
        self.index, self.source, self.dist = index, source, dist
        self.w = index.weights[profile]

    def time_to(self, target: Snap) -> float:
        idx, w = self.index, self.w
        u, v = target.edge
        options = []
        i = idx._edge(u, v)
        options.append(self.dist[u] + target.fraction * w[i])
        back = idx.edge_id.get((v, u))
        if back is not None:
            options.append(self.dist[v] + (1 - target.fraction) * w[back])
        a, b = self.source.edge
        for (x, y), pos in (((u, v), target.fraction), ((v, u), 1 - target.fraction)):
            if (a, b) == (x, y) and self.source.fraction <= pos:
                options.append((pos - self.source.fraction) * w[idx._edge(x, y)])
        best = float(min(options))
        return best if best < UNREACHABLE else float("inf")
