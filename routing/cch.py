"""The fast engine: RoutingKit's customizable contraction hierarchies (PyPI `routingkit-cch`).

Optional: when the binding is not installed, `routing.index` answers with scipy's Dijkstra
alone. The hierarchy is built once from the topology (nested-dissection order from node
coordinates); each speed profile is one customisation; a closed or slowed road is a partial
re-customisation of the arcs it touches. Weights are whole milliseconds."""

from __future__ import annotations

import atexit
import contextlib
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

try:
    import routingkit_cch as rk
except ImportError:  # the scipy engine carries on alone
    rk = None

T = TypeVar("T")
INF_MS = 2_147_483_647  # RoutingKit's "no arc"
ORDER_KEY = "cch_order"  # where a cached network keeps its node order (graph attribute)


def available() -> bool:
    return rk is not None


def to_ms(seconds: np.ndarray) -> list[int]:
    ms = np.rint(seconds * 1000.0)
    ms[~np.isfinite(ms) | (ms >= INF_MS)] = INF_MS
    return ms.astype(np.int64).tolist()


def compute_order(n: int, tail: np.ndarray, head: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The node order: the slow, topology-only step, so an imported network keeps it in its cache.

    Nodes at no junction (a street's shape points, the far end of a lane: two neighbours or
    fewer) go first, contracted into their street; nested dissection then orders the junctions
    alone, with each street between two junctions as one link. Queries answer as fast as with
    dissection over every node (measured), and the order takes a fifth of the time."""
    assert rk is not None
    a, b = np.minimum(tail, head), np.maximum(tail, head)
    links = np.unique(np.stack((a[a != b], b[a != b]), axis=1), axis=0)
    street = np.bincount(links.ravel(), minlength=n) <= 2
    junctions = np.flatnonzero(~street)
    if len(junctions) < 2:
        return np.asarray(rk.compute_order_inertial(n, tail.tolist(), head.tolist(), lat.tolist(),
                                                    lon.tolist()), dtype=np.int32)
    on_street = street[links]
    # the streets: runs of shape points, each touching at most two junctions
    inner = links[on_street.all(axis=1)]
    _, run = connected_components(csr_matrix((np.ones(len(inner)), (inner[:, 0], inner[:, 1])),
                                             shape=(n, n)), directed=False)
    ends = links[on_street[:, 0] ^ on_street[:, 1]]
    junction_end = np.where(street[ends[:, 0]], ends[:, 1], ends[:, 0])
    by_run = np.argsort(run[np.where(street[ends[:, 0]], ends[:, 0], ends[:, 1])], kind="stable")
    runs = run[np.where(street[ends[:, 0]], ends[:, 0], ends[:, 1])][by_run]
    pair = np.flatnonzero(runs[:-1] == runs[1:])  # a street with a junction at both ends
    through = np.stack((junction_end[by_run][pair], junction_end[by_run][pair + 1]), axis=1)
    core = np.concatenate((links[~on_street.any(axis=1)], through))
    number = np.full(n, -1, dtype=np.int64)
    number[junctions] = np.arange(len(junctions))
    core_order = rk.compute_order_inertial(len(junctions), number[core[:, 0]].tolist(),
                                           number[core[:, 1]].tolist(), lat[junctions].tolist(),
                                           lon[junctions].tolist())
    return np.concatenate((np.flatnonzero(street), junctions[np.asarray(core_order)])).astype(np.int32)


class _Owner:
    """One thread that runs the work it is handed, in order, and answers each caller."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], Future[Any]] | None] = \
            queue.SimpleQueue()
        # A daemon, so a forgotten engine never keeps the interpreter alive; `close_all` lets the
        # engines go in it before the interpreter stops it.
        self._thread = threading.Thread(target=self._work, name="cch-engine", daemon=True)
        self._thread.start()

    def run(self, work: Callable[..., T], *args: Any) -> T:
        if threading.current_thread() is self._thread:
            return work(*args)
        done: Future[T] = Future()
        self._jobs.put((work, args, done))
        return done.result()

    def stop(self) -> None:
        self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            work, args, done = job
            try:
                done.set_result(work(*args))
            except BaseException as e:  # the caller re-raises it
                done.set_exception(e)
            del job, work, args, done  # the last reference to an engine may be let go here


_ENGINES: weakref.WeakSet[CCHEngine] = weakref.WeakSet()


@atexit.register
def close_all() -> None:
    """Atexit handlers run while daemon threads still do: let every engine go in its thread."""
    for engine in list(_ENGINES):
        engine.close()


class CCHEngine:
    """The hierarchy, one customised metric per speed profile, and the queries asked of them.

    RoutingKit's query objects may only be used by the thread that made them, and a live query
    blocks updates to its metric. So one thread owns the engine: it builds it, runs every query
    and applies every update, whichever thread asks (the web server asks from a pool). Handing a
    question over costs tens of microseconds; it buys query objects kept between questions."""

    def __init__(self, n: int, tail: np.ndarray, head: np.ndarray, lon: np.ndarray, lat: np.ndarray,
                 weights: dict[str, np.ndarray], order: np.ndarray | None = None) -> None:
        assert rk is not None
        self._owner: _Owner | None = _Owner()
        # Re-customising costs tens of ms per profile on a big graph: do it for a profile when it
        # is next asked, so a closure costs one profile's update, not all four at once.
        self.pending: dict[str, dict[int, int]] = {p: {} for p in weights}
        self._pending_lock = threading.Lock()
        # Kept between questions: a query allocates arrays the size of the graph, and a
        # many-to-one whose units have not moved keeps its pinned sources.
        self._paths: dict[str, object] = {}
        self._pinned: dict[str, tuple[object, np.ndarray]] = {}
        self._run(self._build, n, tail, head, lon, lat, weights, order)
        _ENGINES.add(self)

    def _run(self, work: Callable[..., T], *args: Any) -> T:
        if self._owner is None:
            raise RuntimeError("this routing engine was closed")
        return self._owner.run(work, *args)

    def close(self) -> None:
        """Let RoutingKit's objects go in the thread that made them (another may not drop them)
        and end that thread."""
        owner, self._owner = self._owner, None
        if owner is not None:
            owner.run(self._drop)
            owner.stop()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _drop(self) -> None:
        self._paths.clear()
        self._pinned.clear()
        for name in ("updater", "metrics", "cch"):
            self.__dict__.pop(name, None)

    def _build(self, n: int, tail: np.ndarray, head: np.ndarray, lon: np.ndarray, lat: np.ndarray,
               weights: dict[str, np.ndarray], order: np.ndarray | None) -> None:
        if order is None or len(order) != n:
            order = compute_order(n, tail, head, lon, lat)
        self.cch = rk.CCH(order.tolist(), tail.tolist(), head.tolist(), False)
        self.metrics = {p: rk.CCHMetric(self.cch, to_ms(w)) for p, w in weights.items()}
        self.updater = rk.CCHMetricPartialUpdater(self.cch)

    def update(self, arc: int, seconds_by_profile: dict[str, float]) -> None:
        """Note a new weight; it is applied before the profile's next query (any thread)."""
        with self._pending_lock:
            for profile, seconds in seconds_by_profile.items():
                self.pending[profile][arc] = to_ms(np.array([seconds]))[0]

    def _metric(self, profile: str) -> object:
        with self._pending_lock:
            updates, self.pending[profile] = self.pending[profile], {}
        if updates:
            # a live query pins its metric: let this profile's go first
            self._paths.pop(profile, None)
            self._pinned.pop(profile, None)
            self.updater.apply(self.metrics[profile], updates)
        return self.metrics[profile]

    def many_to_one(self, profile: str, sources: np.ndarray, targets: list[tuple[int, int]]) -> np.ndarray:
        """Milliseconds from each source node to the best (target node, extra ms); inf if none."""
        return self._run(self._many_to_one, profile, sources, targets)

    def _many_to_one(self, profile: str, sources: np.ndarray, targets: list[tuple[int, int]]) -> np.ndarray:
        metric = self._metric(profile)
        held = self._pinned.get(profile)
        if held is None:
            query = rk.CCHManyToOne(metric, sources.tolist())
        else:
            query, pinned = held
            if not np.array_equal(pinned, sources):
                query.repin_sources(sources.tolist())
        self._pinned[profile] = (query, sources.copy())
        ms = np.array(query.distances_to_multi(targets), dtype=np.float64)  # None becomes nan
        ms[np.isnan(ms)] = np.inf
        return ms

    def path(self, profile: str, sources: list[tuple[int, int]],
             targets: list[tuple[int, int]]) -> tuple[float, list[int]]:
        return self._run(self._path, profile, sources, targets)

    def _path(self, profile: str, sources: list[tuple[int, int]],
              targets: list[tuple[int, int]]) -> tuple[float, list[int]]:
        metric = self._metric(profile)
        query = self._paths.get(profile)
        if query is None:
            query = self._paths[profile] = rk.CCHQuery(metric)
        result = query.run_multi(sources, targets)
        distance, nodes = result.distance, result.node_path
        del result  # the query answers the next question only once its result is gone
        return (np.inf if distance is None else float(distance)), nodes
