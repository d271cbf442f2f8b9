"""The staging-post planner: from the live log to a plan a supervisor can accept.

For a period and each agency it plans for, demand per H3 cell (coordination.demand), drive times
from every candidate post to every demand cell (routing.matrix), and the placement of all the
agency's units in service that reaches its coverage goal with the fewest of them away from their
stations (coordination.placement, MEXCLP) make a set of posts; that set diffed against the posts
open now is the proposal: which to open, keep and close, each with its figures. Proposing only
writes the plan to the log (dispatch.posts): posts open and close when a supervisor accepts it.

Candidates are the agency's stations (a unit placed there simply stays home), the named places
the settings list, and the road points nearest the busiest demand cells' centres."""

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from coordination.demand import NAMED_PERIODS, CellRate, IncidentRecord, Period, expected_rates, incidents_of
from coordination.placement import covers_of, posts_by_goal
from coordination.road_router import RoadRouter
from dispatch import events as ev
from dispatch.fleet import Fleet
from dispatch.posts import Post, ProposePostPlan, open_posts
from dispatch.rejection import Rejected
from dispatch.router import profile_for
from dispatch.service import DispatchService
from dispatch.units import UnitStatus
from routing.matrix import MatrixCache
from routing.snap import Snap

# NFPA 1710's travel times (240 s for the first engine, 480 s for an ALS unit) as defaults; a
# centre sets its own local targets in the settings.
DEFAULT_TARGET_S = {"120": 480.0, "119": 240.0, "110": 300.0}
# The share of time a unit is busy (MEXCLP's q): a unit on a call covers nothing.
DEFAULT_BUSY = {"120": 0.3, "119": 0.1, "110": 0.3}


@dataclass(frozen=True)
class NamedPlace:
    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class PostRules:
    """What the settings say about posts: who is planned for, the targets and the rule."""

    agencies: tuple[str, ...] = ("120", "119")
    target_s: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TARGET_S))
    busy: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_BUSY))
    coverage_goal: float = 0.9
    places: tuple[NamedPlace, ...] = ()
    cell_candidates: int = 12  # road points at the busiest cells, per agency
    post_capacity: int = 2  # units one post holds (a station holds its own units)
    snap_max_m: float = 500.0


@dataclass(frozen=True)
class Candidate:
    post_id: str
    name: str
    lon: float
    lat: float
    station: bool
    snap: Snap
    capacity: int


@dataclass(frozen=True)
class AgencyPlan:
    """What the placement chose for one agency, and the inputs a move-up needs again."""

    agency: str
    posts: list[ev.PlannedPost]
    figures: dict[str, float]
    reason: str
    rates: dict[str, float]  # cell -> expected rate per hour


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "place"


def history_span(records: Sequence[IncidentRecord], now: datetime) -> tuple[datetime, datetime]:
    """From the first incident's hour to now: every hour of it is exposure, quiet or not."""
    start = min(r.at for r in records).replace(minute=0, second=0, microsecond=0)
    last = max(r.at for r in records) + timedelta(hours=1)
    return start, max(now, last)


class PostPlanner:
    def __init__(self, service: DispatchService, router: RoadRouter, fleet: Fleet, rules: PostRules) -> None:
        self.service, self.router, self.fleet, self.rules = service, router, fleet, rules
        self.matrices = MatrixCache(router.index)

    def period(self, name: str) -> Period:
        found = NAMED_PERIODS.get(name)
        if found is None:
            raise Rejected(422, "period", f"unknown period {name!r}; known: {', '.join(NAMED_PERIODS)}")
        return found

    async def propose(self, period_name: str, by: str) -> str:
        """Build a plan for the period from the log as it stands, and put it in the log."""
        period = self.period(period_name)
        state = self.service.state
        # read what the plan rests on here, on the loop, then search and solve off it
        records = incidents_of(state)
        now = self.service.clock.now()
        units = {a: [u.station_id for u in state.units.values() if u.agency == a
                     and u.status != UnitStatus.OUT_OF_SERVICE] for a in self.rules.agencies}
        posts_now = open_posts(state)
        plans = await asyncio.to_thread(self.plan, period, records, now, units)
        command = self.diff(period, by, plans, posts_now, len(records))
        events = await self.service.execute(command)
        return next(e.plan_id for e in events if isinstance(e, ev.PostPlanProposed))

    def plan(self, period: Period, records: Sequence[IncidentRecord], now: datetime,
             units: dict[str, list[str]]) -> list[AgencyPlan]:
        """`units`: per agency, the home station of each unit in service."""
        if not records:
            return [AgencyPlan(a, [], {"incidents": 0.0, "units": 0.0}, "no incidents in the log", {})
                    for a in self.rules.agencies]
        start, end = history_span(records, now)
        return [self.plan_agency(a, period, records, start, end, units.get(a, []))
                for a in self.rules.agencies]

    def candidates(self, agency: str, rates: Sequence[CellRate], homes: Sequence[str]) -> list[Candidate]:
        """The agency's stations (each holding the units based there), the named places and the
        busiest cells' road points (each holding `post_capacity`)."""
        stations = [s for s in self.fleet.stations.values() if s.agency == agency]
        spots: list[tuple[str, str, float, float, bool, int]] = [
            (s.station_id, s.name, s.lon, s.lat, True, homes.count(s.station_id)) for s in stations]
        spots += [(f"{agency}-{_slug(p.name)}", p.name, p.lon, p.lat, False, self.rules.post_capacity)
                  for p in self.rules.places]
        busiest = sorted(rates, key=lambda r: (-r.rate_per_hour, r.cell))[:self.rules.cell_candidates]
        spots += [(f"{agency}-{r.cell}", f"road point in cell {r.cell}", r.lon, r.lat, False,
                   self.rules.post_capacity) for r in busiest]
        snaps = self.router.snapper.snap_many([(s[2], s[3]) for s in spots], self.rules.snap_max_m)
        out: list[Candidate] = []
        seen: set[str] = set()
        for (post_id, name, lon, lat, station, cap), snap in zip(spots, snaps, strict=True):
            if snap is None or post_id in seen:
                continue  # off the roads: no unit can stand there
            seen.add(post_id)
            out.append(Candidate(post_id, name, lon, lat, station, snap, cap))
        return out

    def plan_agency(self, agency: str, period: Period, records: Sequence[IncidentRecord], start: datetime,
                    end: datetime, homes: Sequence[str]) -> AgencyPlan:
        rates = expected_rates(records, period, start, end, agency=agency)
        cell_snaps = self.router.snapper.snap_many([(r.lon, r.lat) for r in rates], self.rules.snap_max_m)
        served = [(r, s) for r, s in zip(rates, cell_snaps, strict=True) if s is not None]
        incidents = float(sum(r.incidents for r, _ in served))
        rate_of = {r.cell: r.rate_per_hour for r, _ in served}
        base = {"incidents": incidents, "units": 0.0, "cells": float(len(served))}
        if not served or incidents == 0 or not homes:
            why = (f"no {agency} incidents in {period.name}" if not incidents
                   else f"no {agency} unit in service")
            return AgencyPlan(agency, [], base, why, rate_of)
        cands = self.candidates(agency, [r for r, _ in served], homes)
        profile = profile_for(next((u.kind for u in self.fleet.units if u.agency == agency), ""))
        cost = self.matrices.get([c.snap for c in cands], [s for _, s in served], profile)
        demand = np.array([r.rate_per_hour for r, _ in served])
        target, busy = self.rules.target_s.get(agency, 480.0), self.rules.busy.get(agency, 0.3)
        capacity = [c.capacity for c in cands]
        # every unit stands somewhere: at home, or at a post (a unit whose station is off the
        # roads is not placed)
        n_units = sum(c.capacity for c in cands if c.station)
        if n_units == 0:
            return AgencyPlan(agency, [], base, f"no {agency} station on the roads", rate_of)
        moved, placement, home, why = posts_by_goal(self.rules.coverage_goal, demand, cost, target, busy,
                                                    n_units, capacity, [not c.station for c in cands])
        covers = covers_of(cost, target)
        total = float(demand.sum())
        posts: list[ev.PlannedPost] = []
        for j, n in sorted(placement.units_at.items()):
            c = cands[j]
            if c.station:
                continue
            reach = np.flatnonzero(covers[j])
            cells = tuple(served[i][0].cell for i in reach)
            rate = float(demand[reach].sum())
            share = rate / total if total else 0.0
            posts.append(ev.PlannedPost(
                post_id=c.post_id, name=c.name, lon=round(c.lon, 6), lat=round(c.lat, 6), agency=agency,
                units=n, cells=cells, rate_per_hour=round(rate, 6), coverage=round(share, 4),
                reason=(f"{n} unit{'s' if n > 1 else ''} here reach {len(cells)} cells within "
                        f"{target / 60:.0f} min, {rate:.3f} incidents/h expected in {period.name} "
                        f"({share:.0%} of {agency} demand)")))
        figures = {**base, "units": float(n_units), "units_at_posts": float(moved),
                   "expected_coverage": round(placement.expected_coverage, 4),
                   "covered_once": round(placement.covered_once, 4),
                   "stations_only_coverage": round(home.expected_coverage, 4),
                   "gap": placement.gap, "target_s": target, "busy": busy,
                   "rate_per_hour": round(total, 6)}
        return AgencyPlan(agency, posts, figures, why, rate_of)

    def diff(self, period: Period, by: str, plans: list[AgencyPlan], posts_now: list[Post],
             incidents: int) -> ProposePostPlan:
        chosen = {p.post_id: p for plan in plans for p in plan.posts}
        rates = {a.agency: a.rates for a in plans}
        opens = tuple(p for pid, p in chosen.items() if pid not in {q.post_id for q in posts_now})
        keeps = tuple(chosen[q.post_id] for q in posts_now if q.post_id in chosen)
        closes: list[ev.PlannedClosing] = []
        for q in posts_now:
            if q.post_id in chosen or q.spec.agency not in rates:
                continue
            was = q.spec.rate_per_hour
            now = sum(rates[q.spec.agency].get(c, 0.0) for c in q.spec.cells)
            if now < was:
                why = f"expected rate in its cells fell from {was:.3f} to {now:.3f} per hour ({period.name})"
            else:
                why = (f"not needed in {period.name}: the plan covers its cells otherwise (expected rate "
                       f"{was:.3f} then, {now:.3f} per hour now)")
            closes.append(ev.PlannedClosing(q.post_id, round(was, 6), round(now, 6), why))
        if not incidents:
            reason = f"the log holds no incident with a place: nothing to plan {period.name} on"
        else:
            reason = "; ".join(f"{a.agency}: {a.reason}" for a in plans)
        return ProposePostPlan(period=period.name, by=by, opens=opens, keeps=keeps, closes=tuple(closes),
                               base=tuple(sorted(q.post_id for q in posts_now)),
                               figures={a.agency: a.figures for a in plans}, reason=reason)

