"""Drive-time matrices: seconds from every candidate post to every demand cell, on the turn graph
of the routing index, and a cache of them that a closure or a slowed road invalidates.

With RoutingKit the cells' ways in are pinned once as the targets of a one-to-many query and each
post is one sweep; without it, one scipy Dijkstra per post. Either way a post leaves its place
ahead or turned round and a cell's point is entered from either direction of its road, exactly as
unit ranking does (routing.index), so the matrix agrees with the times dispatch ranks by."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routing.index import UNREACHABLE, RoutingIndex, _Start, real_seconds
from routing.snap import Snap


@dataclass(frozen=True)
class _Ways:
    """The cells' ways in, flattened: entry k leads into cell cell_of[k] from vertex[k]."""

    vertex: np.ndarray
    seconds: np.ndarray
    cell_of: np.ndarray
    first: np.ndarray  # entries of cell c are first[c]:first[c+1]


def _ways_in(index: RoutingIndex, cells: Sequence[Snap], profile: str) -> _Ways:
    vertex: list[int] = []
    seconds: list[float] = []
    cell_of: list[int] = []
    first = [0]
    for c, snap in enumerate(cells):
        for x in index._entries(snap, profile):
            vertex.append(x.vertex)
            seconds.append(x.seconds)
            cell_of.append(c)
        first.append(len(vertex))
    return _Ways(np.asarray(vertex, dtype=np.int64), np.asarray(seconds, dtype=np.float64),
                 np.asarray(cell_of, dtype=np.int64), np.asarray(first, dtype=np.int64))


def _per_cell(ways: _Ways, reached: np.ndarray, n_cells: int) -> np.ndarray:
    """The best way into each cell, from the seconds to every entry's vertex."""
    total = reached + ways.seconds
    out = np.full(n_cells, np.inf)
    np.minimum.at(out, ways.cell_of, total)
    return out


def drive_time_matrix(index: RoutingIndex, posts: Sequence[Snap], cells: Sequence[Snap],
                      profile: str) -> np.ndarray:
    """Seconds (posts x cells) to drive from each post to each cell; inf where unreachable."""
    out = np.full((len(posts), len(cells)), np.inf)
    if not posts or not cells:
        return out
    ways = _ways_in(index, cells, profile)
    starts = [index._starts(p, profile) for p in posts]
    if len(ways.vertex):
        if index.cch is not None:
            out = _cch_rows(index, starts, ways, len(cells), profile)
        else:
            out = _scipy_rows(index, starts, ways, len(cells), profile)
    _direct(index, cells, starts, profile, out)
    return real_seconds(np.where(out < UNREACHABLE, out, np.inf))


def _cch_rows(index: RoutingIndex, starts: list[list[_Start]], ways: _Ways, n_cells: int,
              profile: str) -> np.ndarray:
    import routingkit_cch as rk  # present whenever index.cch is

    assert index.cch is not None
    out = np.full((len(starts), n_cells), np.inf)
    with index._lock:
        metric = index.cch._metric(profile)
        query = rk.CCHOneToMany(metric, ways.vertex.tolist())
        try:
            for row, st in enumerate(starts):
                if not st:
                    continue
                ms = np.array(query.distances_from_multi(
                    [(s.vertex, int(round(s.seconds * 1000))) for s in st]), dtype=np.float64)
                ms[np.isnan(ms)] = np.inf
                out[row] = _per_cell(ways, ms / 1000.0, n_cells)
        finally:
            del query  # a live query pins the metric against updates
    return out


def _scipy_rows(index: RoutingIndex, starts: list[list[_Start]], ways: _Ways, n_cells: int,
                profile: str) -> np.ndarray:
    out = np.full((len(starts), n_cells), np.inf)
    for row, st in enumerate(starts):
        if not st:
            continue
        with index._lock:
            dist, _ = index.forward.search(profile, [(s.vertex, s.seconds) for s in st])
        out[row] = _per_cell(ways, dist[ways.vertex], n_cells)
    return out


def _direct(index: RoutingIndex, cells: Sequence[Snap], starts: list[list[_Start]], profile: str,
            out: np.ndarray) -> None:
    """A post on a cell's own stretch, short of it, drives straight there with no turn: the
    searches above only see ways in from other stretches."""
    by_stretch: dict[int, list[int]] = {}
    for c, snap in enumerate(cells):
        i = index._edge(*snap.edge)
        for e in (i, int(index.twin[i])):
            if e >= 0:
                by_stretch.setdefault(int(index.stretch_of[e]), []).append(c)
    for row, st in enumerate(starts):
        for s in st:
            for c in by_stretch.get(int(index.stretch_of[s.edge]), ()):
                direct = index._direct(_Start(s.vertex, 0.0, s.edge, s.fraction), cells[c], profile)[0]
                out[row, c] = min(out[row, c], direct)


class MatrixCache:
    """Matrices by (profile, posts, cells), kept while the graph is the same: every live change
    to the index (a closure, a slowed road, a reopening) bumps its version and so drops them."""

    def __init__(self, index: RoutingIndex, limit: int = 16) -> None:
        self.index, self.limit = index, limit
        self._version = index.version
        self._held: dict[tuple[str, tuple[Snap, ...], tuple[Snap, ...]], np.ndarray] = {}
        self.computed = 0  # how many were searched for, not served from the cache

    def get(self, posts: Sequence[Snap], cells: Sequence[Snap], profile: str) -> np.ndarray:
        if self.index.version != self._version:
            self._held.clear()
            self._version = self.index.version
        key = (profile, tuple(posts), tuple(cells))
        found = self._held.get(key)
        if found is None:
            if len(self._held) >= self.limit:
                self._held.pop(next(iter(self._held)))
            found = drive_time_matrix(self.index, posts, cells, profile)
            found.setflags(write=False)
            self._held[key] = found
            self.computed += 1
        return found
