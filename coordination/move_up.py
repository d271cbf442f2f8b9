"""Move-up: when committed units leave an area's expected coverage below the goal, which free
unit to move to which open post, with the coverage it gains, its drive there and what it leaves.

The choice is pure over matrices (`best_moves`): cells' demand, which places reach which cells
in time, where each free unit stands. A free unit covers from where it stands (its post, else its
station); a committed unit covers nothing. A move never leaves a cell without cover when a move
that does not exists: among the moves that gain, those leaving no demand cell uncovered come
first, then the largest gain, then the shortest drive. Expected coverage is MEXCLP's
(coordination.placement), so the move and the plan are judged by the same measure.

`MoveUp` reads the live state for it: demand of the period the last accepted plan was made for,
the agency's open posts as targets, drive times from the routing index (cached, dropped on a
closure). Confirming a move is a UnitPosted event (dispatch.posts)."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from coordination.demand import CellRate, expected_rates, incidents_of
from coordination.placement import covers_of
from coordination.posts import PostPlanner, history_span
from dispatch import events as ev
from dispatch.posts import Post, PostUnit, open_posts
from dispatch.rejection import Rejected
from dispatch.router import profile_for
from dispatch.units import UnitStatus
from routing.snap import Snap


@dataclass(frozen=True)
class FreeUnit:
    unit_id: str
    at: int  # the place (row of `covers`) it stands at
    travel_s: np.ndarray  # seconds to each target place (the same order as `targets`)


@dataclass(frozen=True)
class Move:
    unit_id: str
    source: int
    target: int  # a row of `covers`
    travel_s: float
    coverage_before: float
    coverage_after: float
    leaves: tuple[int, ...]  # demand cells only this unit covered that the move leaves uncovered
    leaves_demand: float

    @property
    def gained(self) -> float:
        return self.coverage_after - self.coverage_before


def standing_counts(n_places: int, units: Sequence[FreeUnit]) -> np.ndarray:
    x = np.zeros(n_places)
    for u in units:
        x[u.at] += 1
    return x


def coverage_of(demand: np.ndarray, covers: csr_matrix, counts: np.ndarray, busy: float) -> float:
    total = float(demand.sum())
    if total <= 0:
        return 0.0
    n = covers.T @ counts
    return float((demand * (1 - busy ** n)).sum() / total)


def best_moves(demand: np.ndarray, covers: np.ndarray | csr_matrix, units: Sequence[FreeUnit],
               targets: Sequence[int], busy: float, top: int = 3) -> list[Move]:
    """The best moves of one free unit to one target place, best first (none that gain nothing).

    For a unit leaving place a the counts without it are n - cover_a, and moving it to p adds
    cover_p, so q^(n - cover_a + cover_p) = q^(n - cover_a) (1 - (1-q) cover_p): the gains of every
    (source place, target) pair are one matrix product. A cell only a's unit covers (n = 1 there)
    is left uncovered unless p reaches it: a second, smaller product over those cells alone."""
    total = float(demand.sum())
    if total <= 0 or not units or not targets:
        return []
    cov = (covers.toarray() if isinstance(covers, csr_matrix) else np.asarray(covers)).astype(np.float64)
    counts = standing_counts(cov.shape[0], units)
    n = counts @ cov
    qn = busy ** n
    before = float((demand * (1 - qn)).sum() / total)
    tgt = np.asarray(targets, dtype=np.int64)
    cov_t = cov[tgt]
    sources, row_of_unit = np.unique(np.array([u.at for u in units]), return_inverse=True)
    cov_a = cov[sources]
    # One unit more or less changes a cell's term by at most d q^(n-1): cells covered so many
    # times that this is below 1e-18 of all demand cannot change any decision (the gains are
    # compared at 1e-12), so the product runs over the others only. With a busy fraction of 0, a
    # cell covered twice is never changed by moving one unit.
    live = np.flatnonzero(demand * busy ** np.maximum(n - 1, 0) >= 1e-18 * total)
    qa = busy ** (n[None, live] - cov_a[:, live])
    stay = ((qn[None, live] - qa) * demand[live]).sum(axis=1)  # <= 0: what leaving each place costs
    reach_live = cov_t[:, live]
    weighted = qa * demand[live]
    # sparse where few places reach a cell in time (a tight target): the product costs its nonzeros
    sparse = reach_live.size > 0 and float(reach_live.mean()) < 0.1
    added = np.asarray(csr_matrix(reach_live) @ weighted.T).T if sparse else weighted @ reach_live.T
    gain = (stay[:, None] + (1 - busy) * added) / total  # sources x targets
    single = np.flatnonzero((n == 1) & (demand > 0))
    lonely = cov_a[:, single]  # sources x single cells: covered by the source's one unit only
    reach = cov_t[:, single]
    reach_s = csr_matrix(reach) if sparse else reach
    left_cells = lonely.sum(axis=1)[:, None] - np.asarray(reach_s @ lonely.T).T
    left_demand = (lonely @ demand[single])[:, None] - np.asarray(reach_s @ (lonely * demand[single]).T).T
    # every unit's moves: its place's row, its own drive times
    g = gain[row_of_unit]
    leaves = left_cells[row_of_unit] > 0.5
    travel = np.stack([u.travel_s for u in units])
    valid = (g > 1e-12) & (sources[row_of_unit][:, None] != tgt[None, :])
    harmless = valid & ~leaves
    pool = harmless if harmless.any() else valid
    ui, ti = np.nonzero(pool)
    if not len(ui):
        return []
    order = np.lexsort((tgt[ti], ui, travel[ui, ti], -np.round(g[ui, ti], 12)))[:top]
    out: list[Move] = []
    for k in order:
        u, t = int(ui[k]), int(ti[k])
        r = int(row_of_unit[u])
        cells = tuple(int(single[i]) for i in np.flatnonzero((lonely[r] > 0) & (reach[t] <= 0)))
        out.append(Move(units[u].unit_id, int(sources[r]), int(tgt[t]), float(travel[u, t]), before,
                        before + float(g[u, t]), cells, float(max(left_demand[r, t], 0.0)) if cells else 0.0))
    return out


@dataclass(frozen=True)
class UnitNow:
    """A unit as the move-up reads it off the state (copied on the loop, used off it)."""

    unit_id: str
    agency: str
    kind: str
    call_sign: str
    station_id: str
    status: UnitStatus
    post_id: str | None


@dataclass(frozen=True)
class AgencyMoveUp:
    agency: str
    coverage: float
    goal: float
    committed: int
    free: int
    moves: list[dict[str, object]]

    def view(self) -> dict[str, object]:
        return {"coverage": round(self.coverage, 4), "goal": self.goal, "committed": self.committed,
                "free": self.free, "below_goal": self.coverage < self.goal, "moves": len(self.moves)}


class MoveUp:
    def __init__(self, planner: PostPlanner) -> None:
        self.planner = planner

    def _period_name(self) -> str:
        accepted = [p for p in self.planner.service.state.post_plans.values() if p.status == "accepted"]
        return accepted[-1].period if accepted else "all"

    async def recommend(self) -> list[AgencyMoveUp]:
        """Per agency planned for: coverage now, and the best moves when it is below the goal."""
        svc = self.planner.service
        state = svc.state
        records = incidents_of(state)
        if not records:
            return []
        period = self.planner.period(self._period_name())
        start, end = history_span(records, svc.clock.now())
        posts = open_posts(state)
        units = [UnitNow(u.unit_id, u.agency, u.kind, u.call_sign, u.station_id, u.status,
                         state.unit_posts.get(u.unit_id)) for u in state.units.values()]
        out = []
        for agency in self.planner.rules.agencies:
            rates = expected_rates(records, period, start, end, agency=agency)
            mine = [p for p in posts if p.spec.agency == agency]
            out.append(await asyncio.to_thread(self._agency, agency, rates, mine, units))
        return out

    def _agency(self, agency: str, rates: list[CellRate], posts: list[Post],
                units: list[UnitNow]) -> AgencyMoveUp:
        rules, router, fleet = self.planner.rules, self.planner.router, self.planner.fleet
        goal = rules.coverage_goal
        mine = [u for u in units if u.agency == agency]
        free = [u for u in mine if u.status == UnitStatus.AVAILABLE]
        committed = sum(1 for u in mine if u.status not in (UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE))
        snaps = router.snapper.snap_many([(r.lon, r.lat) for r in rates], rules.snap_max_m)
        served = [(r, s) for r, s in zip(rates, snaps, strict=True) if s is not None]
        if not served or not free:
            return AgencyMoveUp(agency, 0.0, goal, committed, len(free), [])
        # places: the agency's stations, then its open posts (the targets)
        spots = [(s.station_id, s.name, s.lon, s.lat) for s in fleet.stations.values() if s.agency == agency]
        spots += [(p.post_id, p.spec.name, p.spec.lon, p.spec.lat) for p in posts]
        places: list[tuple[str, str]] = []
        psnaps: list[Snap] = []
        spot_snaps = router.snapper.snap_many([(x[2], x[3]) for x in spots], rules.snap_max_m)
        for (place_id, name, _, _), snap in zip(spots, spot_snaps, strict=True):
            if snap is not None:
                places.append((place_id, name))
                psnaps.append(snap)
        row_of = {place_id: i for i, (place_id, _) in enumerate(places)}
        targets = [row_of[p.post_id] for p in posts if p.post_id in row_of]
        profile = profile_for(free[0].kind)
        covers = covers_of(self.planner.matrices.get(psnaps, [s for _, s in served], profile),
                           rules.target_s.get(agency, 480.0))
        demand = np.array([r.rate_per_hour for r, _ in served])
        busy = rules.busy.get(agency, 0.3)
        travel = self.planner.matrices.get(psnaps, [psnaps[t] for t in targets], profile)
        standing = [FreeUnit(u.unit_id, row_of[where], travel[row_of[where]]) for u in free
                    for where in [u.post_id if u.post_id in row_of else u.station_id] if where in row_of]
        coverage = coverage_of(demand, csr_matrix(covers, dtype=np.float64),
                               standing_counts(len(places), standing), busy)
        moves: list[dict[str, object]] = []
        if coverage < goal:
            call_sign = {u.unit_id: u.call_sign for u in free}
            for m in best_moves(demand, covers, standing, targets, busy):
                moves.append(_explained(m, agency, committed, goal, call_sign[m.unit_id], places,
                                        [served[i][0].cell for i in m.leaves]))
        return AgencyMoveUp(agency, coverage, goal, committed, len(free), moves)

    async def confirm(self, unit_id: str, post_id: str, by: str) -> ev.UnitPosted:
        """The dispatcher's yes: the unit is posted there (travel time from the recommendation)."""
        if post_id not in self.planner.service.state.posts:
            raise Rejected(404, "post_id", f"no post {post_id}")
        found = next((m for a in await self.recommend() for m in a.moves
                      if m["unit_id"] == unit_id and m["post_id"] == post_id), None)
        travel = found["travel_s"] if found is not None else None
        reason = str(found["reason"]) if found is not None else "move-up confirmed by the dispatcher"
        travel_s = float(travel) if isinstance(travel, float) else None
        events = await self.planner.service.execute(PostUnit(unit_id, post_id, by, reason, travel_s))
        return next(e for e in events if isinstance(e, ev.UnitPosted))


def _explained(m: Move, agency: str, committed: int, goal: float, call_sign: str,
               places: list[tuple[str, str]], left: list[str]) -> dict[str, object]:
    """A move as the dispatcher reads it, worded like a unit recommendation's reason."""
    name_from, (post_id, name_to) = places[m.source][1], places[m.target]
    leaves = (f"leaves {len(left)} cells uncovered ({m.leaves_demand:.3f} incidents/h)" if left
              else "every cell it covered stays covered")
    return {"unit_id": m.unit_id, "call_sign": call_sign, "agency": agency, "post_id": post_id,
            "post_name": name_to, "travel_s": round(m.travel_s, 1),
            "coverage_before": round(m.coverage_before, 4),
            "coverage_after": round(m.coverage_after, 4), "gained": round(m.gained, 4), "leaves": left,
            "leaves_rate_per_hour": round(m.leaves_demand, 6),
            "reason": (f"with {committed} {agency} units committed, expected coverage "
                       f"{m.coverage_before:.0%} is below the goal {goal:.0%}; {call_sign} from {name_from} "
                       f"to {name_to}, {m.travel_s / 60:.1f} min by road, makes it {m.coverage_after:.0%} "
                       f"(+{m.gained:.1%}); {leaves}")}
