"""Demand from the log: where, when and of what kind incidents happen, as an expected rate per H3
cell and period, with how much history each rate rests on.

Pure functions over folded state (or events folded on the spot): the live log and a replay's log
give the same figures. A period is a rule over time (seasons, weekdays, hours, a date span) so a
named period such as "summer weekends" is data, not code. Rates are smoothed towards the cell's
neighbours (a Gamma-Poisson shrinkage): a cell seen twice in a year is not given twice the rate of
its empty neighbour, and a cell with long history keeps its own."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import h3

from dispatch import events as ev
from dispatch.incidents import IncidentStatus
from dispatch.state import DispatchState, apply

# Resolution 8 hexagons are about 0.74 km² (edge ~460 m): a few minutes' drive across, the scale
# at which a post serves a neighbourhood; 9 (~0.1 km²) for a dense centre.
DEFAULT_RESOLUTION = 8
# Prior weight of the neighbourhood rate, in hours of observation: a cell needs about this much
# history of its own before its own count dominates.
PRIOR_HOURS = 200.0

SEASONS = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
           6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}


@dataclass(frozen=True)
class Period:
    """A recurring span of time: every hour matching all the given conditions (None: any)."""

    name: str
    seasons: frozenset[str] | None = None
    weekdays: frozenset[int] | None = None  # 0 Monday .. 6 Sunday
    hours: frozenset[int] | None = None  # hour of day, local time of the clock
    months_days: tuple[tuple[int, int], tuple[int, int]] | None = None  # (month, day) from..to, wraps

    def contains(self, t: datetime) -> bool:
        if self.seasons is not None and SEASONS[t.month] not in self.seasons:
            return False
        if self.weekdays is not None and t.weekday() not in self.weekdays:
            return False
        if self.hours is not None and t.hour not in self.hours:
            return False
        if self.months_days is not None:
            (m0, d0), (m1, d1) = self.months_days
            here, start, end = (t.month, t.day), (m0, d0), (m1, d1)
            inside = start <= here <= end if start <= end else (here >= start or here <= end)
            if not inside:
                return False
        return True


def _hours(a: int, b: int) -> frozenset[int]:
    """Hours of day from a up to b (exclusive), wrapping past midnight."""
    return frozenset(h % 24 for h in range(a, b if b > a else b + 24))


# The patterns of the field reports: the river in summer (weekends above all), the night market
# in summer and autumn evenings, the industrial park at year end (wage disputes before the New Year).
NAMED_PERIODS: dict[str, Period] = {p.name: p for p in (
    Period("all"),
    Period("summer", seasons=frozenset({"summer"})),
    Period("summer_weekends", seasons=frozenset({"summer"}), weekdays=frozenset({5, 6})),
    Period("summer_autumn_evenings", seasons=frozenset({"summer", "autumn"}), hours=_hours(18, 2)),
    Period("year_end", months_days=((12, 1), (2, 10))),
    Period("weekday_daytime", weekdays=frozenset(range(5)), hours=_hours(8, 18)),
    Period("nights", hours=_hours(22, 6)),
)}


def hour_of_week(t: datetime) -> int:
    return t.weekday() * 24 + t.hour


def season_of(t: datetime) -> str:
    return SEASONS[t.month]


@dataclass(frozen=True)
class IncidentRecord:
    """One incident as demand: where, when the first call came, what, and which agencies acted."""

    incident_id: str
    at: datetime
    lon: float
    lat: float
    kind: str
    agencies: tuple[str, ...]


def incidents_of(state: DispatchState) -> list[IncidentRecord]:
    """Every incident with a place; a merged one is counted in the incident it joined."""
    return [IncidentRecord(i.incident_id, i.reported_at, i.lon, i.lat, i.kind, tuple(sorted(i.tasks)))
            for i in state.incidents.values()
            if i.status != IncidentStatus.MERGED and i.lon is not None and i.lat is not None]


def incidents_from_events(events: Iterable[ev.Event]) -> list[IncidentRecord]:
    """The same, from a log read back (a replay's, or an export)."""
    state = DispatchState()
    for e in events:
        apply(state, e)
    return incidents_of(state)


def cell_of(lon: float, lat: float, resolution: int = DEFAULT_RESOLUTION) -> str:
    return str(h3.latlng_to_cell(lat, lon, resolution))


def cell_centre(cell: str) -> tuple[float, float]:
    """(lon, lat) of a cell's centre."""
    lat, lon = h3.cell_to_latlng(cell)
    return (float(lon), float(lat))


@dataclass(frozen=True)
class BucketKey:
    cell: str
    kind: str
    agency: str
    hour_of_week: int
    season: str


def buckets(records: Iterable[IncidentRecord], resolution: int = DEFAULT_RESOLUTION) -> Counter[BucketKey]:
    """Counts by cell, kind, agency, hour of week and season: every question of demand is a sum
    over these. An incident with tasks for two agencies counts once for each."""
    out: Counter[BucketKey] = Counter()
    for r in records:
        cell, how, season = cell_of(r.lon, r.lat, resolution), hour_of_week(r.at), season_of(r.at)
        for agency in r.agencies or ("",):
            out[BucketKey(cell, r.kind, agency, how, season)] += 1
    return out


def period_hours(period: Period, start: datetime, end: datetime) -> float:
    """Hours from start to end that fall in the period: the exposure a rate is counted over."""
    t = start.replace(minute=0, second=0, microsecond=0)
    n = 0
    while t < end:
        if period.contains(t):
            n += 1
        t += timedelta(hours=1)
    return float(n)


@dataclass(frozen=True)
class CellRate:
    cell: str
    lon: float  # the cell's centre
    lat: float
    rate_per_hour: float  # smoothed expected incidents an hour in the period
    incidents: int  # the cell's own incidents in the period the rate rests on
    hours_observed: float  # hours of the period in the history (the same for every cell)
    neighbour_rate_per_hour: float  # what the cell was shrunk towards


def expected_rates(records: Iterable[IncidentRecord], period: Period, start: datetime, end: datetime,
                   resolution: int = DEFAULT_RESOLUTION, agency: str | None = None,
                   kind: str | None = None, prior_hours: float = PRIOR_HOURS) -> list[CellRate]:
    """Smoothed expected rate per cell for a period, over history from start to end.

    Each cell's rate is (own count + prior_hours * neighbourhood rate) / (hours + prior_hours),
    the neighbourhood being the cell and its six neighbours. Cells with no incident but a busy
    neighbour get a small rate of their own: where a post would serve them, that counts."""
    counts: Counter[str] = Counter()
    for r in records:
        if not start <= r.at < end or not period.contains(r.at):
            continue
        if kind is not None and r.kind != kind:
            continue
        if agency is not None and agency not in r.agencies:
            continue
        counts[cell_of(r.lon, r.lat, resolution)] += 1
    hours = period_hours(period, start, end)
    if hours <= 0 or not counts:
        return []
    cells = set(counts)
    for c in list(counts):
        cells.update(str(n) for n in h3.grid_disk(c, 1))
    out = []
    for c in sorted(cells):
        ring = [str(n) for n in h3.grid_disk(c, 1)]
        neighbour = sum(counts.get(n, 0) for n in ring) / (len(ring) * hours)
        own = counts.get(c, 0)
        rate = (own + prior_hours * neighbour) / (hours + prior_hours)
        lon, lat = cell_centre(c)
        out.append(CellRate(c, lon, lat, rate, own, hours, neighbour))
    return out
