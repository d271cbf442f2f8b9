"""The fast engine: RoutingKit's customizable contraction hierarchies (PyPI `routingkit-cch`).

Optional: when the binding is not installed, `routing.index` answers with scipy's Dijkstra
alone. The hierarchy is built once from the topology (nested-dissection order from node
coordinates); each speed profile is one customisation; a closed or slowed road is a partial
re-customisation of the arcs it touches. Weights are whole milliseconds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

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
    """The nested-dissection node order: the slow, topology-only step (seconds at 100k nodes),
    so an imported network keeps it in its cache and the server does not redo it."""
    assert rk is not None
    order = rk.compute_order_inertial(n, tail.tolist(), head.tolist(), lat.tolist(), lon.tolist())
    return np.asarray(order, dtype=np.int32)


class CCHEngine:
    """The hierarchy, one customised metric per speed profile, and the queries asked of them.

    RoutingKit's query objects may only be used by the thread that made them, and a live query
    blocks updates to its metric. So one thread owns the engine: it builds it, runs every query
    and applies every update, whichever thread asks (the web server asks from a pool). Handing a
    question over costs tens of microseconds; it buys query objects kept between questions."""

    def __init__(self, n: int, tail: np.ndarray, head: np.ndarray, lon: np.ndarray, lat: np.ndarray,
                 weights: dict[str, np.ndarray], order: np.ndarray | None = None) -> None:
        assert rk is not None
        self._owner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cch")
        # Re-customising costs tens of ms per profile on a big graph: do it for a profile when it
        # is next asked, so a closure costs one profile's update, not all four at once.
        self.pending: dict[str, dict[int, int]] = {p: {} for p in weights}
        self._pending_lock = threading.Lock()
        # Kept between questions: a query allocates arrays the size of the graph, and a
        # many-to-one whose units have not moved keeps its pinned sources.
        self._paths: dict[str, object] = {}
        self._pinned: dict[str, tuple[object, np.ndarray]] = {}
        self._run(self._build, n, tail, head, lon, lat, weights, order)

    def _run(self, work: Callable[..., T], *args: object) -> T:
        return self._owner.submit(work, *args).result()

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
