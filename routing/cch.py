"""The fast engine: RoutingKit's customizable contraction hierarchies (PyPI `routingkit-cch`).

Optional: when the binding is not installed, `routing.index` answers with scipy's Dijkstra
alone. The hierarchy is built once from the topology (nested-dissection order from node
coordinates); each speed profile is one customisation; a closed or slowed road is a partial
re-customisation of the arcs it touches. Weights are whole milliseconds."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

rk: Any  # the module, or None where it is not installed
try:
    import routingkit_cch as _routingkit

    rk = _routingkit
except ImportError:  # the scipy engine carries on alone
    rk = None

INF_MS = 2_147_483_647  # RoutingKit's "no arc"


def available() -> bool:
    return rk is not None


def to_ms(seconds: np.ndarray) -> list[int]:
    ms = np.rint(seconds * 1000.0)
    ms[~np.isfinite(ms) | (ms >= INF_MS)] = INF_MS
    out: list[int] = ms.astype(np.int64).tolist()
    return out


def compute_order(n: int, tail: np.ndarray, head: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The nested-dissection node order: the slow, topology-only step (a few seconds at 100k
    nodes), so an imported network keeps it in its cache and the server does not redo it.

    Over every node, shape points included: ordering the junctions alone (streets' shape points
    first) took a fifth of the time but made ranking 25 % slower (0.85 -> 1.07 ms at 100k)."""
    assert rk is not None
    order = rk.compute_order_inertial(n, tail.tolist(), head.tolist(), lat.tolist(), lon.tolist())
    return np.asarray(order, dtype=np.int32)


class CCHEngine:
    """The hierarchy and one customised metric per speed profile; callers serialise queries.

    RoutingKit's query and updater objects may only be used (and dropped) by the thread that
    made them, and a live query blocks updates to its metric. So each question makes its query
    object and lets it go before returning (0.05 ms for a route, 0.12 ms to pin 500 units), and
    an update makes its updater where it applies it: any thread may ask, with nothing handed
    between threads (a hand-over cost 0.1-0.4 ms on this VM). The hierarchy and the metrics are
    shared safely."""

    def __init__(self, n: int, tail: np.ndarray, head: np.ndarray, lon: np.ndarray, lat: np.ndarray,
                 weights: dict[str, np.ndarray], order: np.ndarray | None = None) -> None:
        assert rk is not None
        if order is None or len(order) != n:
            order = compute_order(n, tail, head, lon, lat)
        self.cch = rk.CCH(order.tolist(), tail.tolist(), head.tolist(), False)
        self.metrics = {p: rk.CCHMetric(self.cch, to_ms(w)) for p, w in weights.items()}
        # Re-customising costs ms per profile on a big graph: do it for a profile when it is
        # next asked, so a closure costs one profile's update, not all four at once.
        self.pending: dict[str, dict[int, int]] = {p: {} for p in weights}
        self._pending_lock = threading.Lock()

    def update(self, arc: int, seconds_by_profile: dict[str, float]) -> None:
        """Note a new weight; it is applied before the profile's next query."""
        with self._pending_lock:
            for profile, seconds in seconds_by_profile.items():
                self.pending[profile][arc] = to_ms(np.array([seconds]))[0]

    def _metric(self, profile: str) -> Any:
        with self._pending_lock:
            updates, self.pending[profile] = self.pending[profile], {}
        if updates:
            rk.CCHMetricPartialUpdater(self.cch).apply(self.metrics[profile], updates)
        return self.metrics[profile]

    def many_to_one(self, profile: str, sources: np.ndarray, targets: list[tuple[int, int]]) -> np.ndarray:
        """Milliseconds from each source node to the best (target node, extra ms); inf if none."""
        query = rk.CCHManyToOne(self._metric(profile), sources.tolist())
        ms = np.array(query.distances_to_multi(targets), dtype=np.float64)  # None becomes nan
        del query  # before any update: a live query pins the metric
        ms[np.isnan(ms)] = np.inf
        return ms

    def path(self, profile: str, sources: list[tuple[int, int]],
             targets: list[tuple[int, int]]) -> tuple[float, list[int]]:
        query = rk.CCHQuery(self._metric(profile))
        result = query.run_multi(sources, targets)
        distance, nodes = result.distance, result.node_path
        del result, query
        return (np.inf if distance is None else float(distance)), nodes
