"""Demand from the log: incidents bucketed into H3 cells by kind, agency and time, and rates
smoothed with the history they rest on."""

from datetime import UTC, datetime, timedelta

import pytest

from coordination.demand import (
    NAMED_PERIODS,
    CellRate,
    IncidentRecord,
    buckets,
    cell_of,
    expected_rates,
    hour_of_week,
    incidents_from_events,
    period_hours,
)
from dispatch import events as ev

T0 = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday in summer
RIVER = (119.95, 30.05)
MARKET = (119.99, 30.07)


def _rec(i: int, at: datetime, place: tuple[float, float], kind: str = "drowning",
         agencies: tuple[str, ...] = ("119", "120")) -> IncidentRecord:
    return IncidentRecord(f"I{i}", at, place[0], place[1], kind, agencies)


def test_summer_weekends_are_a_named_period() -> None:
    p = NAMED_PERIODS["summer_weekends"]
    assert p.contains(datetime(2026, 7, 4, 15, tzinfo=UTC))  # Saturday in July
    assert not p.contains(datetime(2026, 7, 6, 15, tzinfo=UTC))  # Monday
    assert not p.contains(datetime(2026, 10, 3, 15, tzinfo=UTC))  # Saturday in autumn
    evenings = NAMED_PERIODS["summer_autumn_evenings"]
    assert evenings.contains(datetime(2026, 9, 1, 1, tzinfo=UTC)) and not evenings.contains(
        datetime(2026, 9, 1, 12, tzinfo=UTC))
    assert NAMED_PERIODS["year_end"].contains(datetime(2027, 1, 20, tzinfo=UTC))
    assert not NAMED_PERIODS["year_end"].contains(datetime(2026, 6, 20, tzinfo=UTC))
    # one summer week: two weekend days of 24 hours
    assert period_hours(p, T0, T0 + timedelta(days=7)) == 48


def test_buckets_count_by_cell_kind_agency_and_hour_of_week() -> None:
    sat = datetime(2026, 6, 6, 14, tzinfo=UTC)
    recs = [_rec(1, sat, RIVER), _rec(2, sat + timedelta(minutes=5), RIVER),
            _rec(3, sat, MARKET, "fight", ("110",))]
    b = buckets(recs)
    river = cell_of(*RIVER)
    assert {k.agency for k in b if k.cell == river} == {"119", "120"}
    key = next(k for k in b if k.cell == river and k.agency == "120")
    assert b[key] == 2 and key.hour_of_week == hour_of_week(sat) == 5 * 24 + 14 and key.season == "summer"
    assert sum(n for k, n in b.items() if k.kind == "fight") == 1


def test_rates_are_smoothed_and_say_what_they_rest_on() -> None:
    start, end = T0, T0 + timedelta(days=28)
    recs = [_rec(i, T0 + timedelta(days=5, hours=i % 10), RIVER) for i in range(20)]
    recs.append(_rec(99, T0 + timedelta(days=5), MARKET))
    rates = {r.cell: r for r in expected_rates(recs, NAMED_PERIODS["summer_weekends"], start, end)}
    river, market = rates[cell_of(*RIVER)], rates[cell_of(*MARKET)]
    assert river.incidents == 20 and river.hours_observed == 8 * 24
    assert river.rate_per_hour > market.rate_per_hour > 0
    # shrunk: below its raw rate, towards its (quieter) neighbourhood
    assert river.neighbour_rate_per_hour < river.rate_per_hour < 20 / river.hours_observed
    # a neighbour with no incident of its own gets a little of the river's
    quiet_neighbours = [r for r in rates.values() if r.incidents == 0]
    assert quiet_neighbours and all(r.rate_per_hour > 0 for r in quiet_neighbours)
    # filters: no police demand at the river
    assert all(r.cell != river.cell or r.incidents == 0
               for r in expected_rates(recs, NAMED_PERIODS["all"], start, end, agency="110"))


def test_rates_over_more_history_trust_the_cell_more() -> None:
    short = [_rec(i, T0 + timedelta(days=5, hours=i), RIVER) for i in range(4)]
    a = expected_rates(short, NAMED_PERIODS["all"], T0, T0 + timedelta(days=7))
    b = expected_rates(short * 1, NAMED_PERIODS["all"], T0, T0 + timedelta(days=70))
    ra = next(r for r in a if r.incidents == 4)
    rb = next(r for r in b if r.incidents == 4)
    assert rb.hours_observed == pytest.approx(10 * ra.hours_observed)

    def share_own(r: CellRate) -> float:  # how far from the neighbourhood towards its own count
        prior = r.neighbour_rate_per_hour
        return (r.rate_per_hour - prior) / (4 / r.hours_observed - prior)

    assert share_own(rb) > share_own(ra)


def test_demand_reads_the_log_itself() -> None:
    at = datetime(2026, 7, 4, 16, tzinfo=UTC)
    log: list[ev.Event] = [
        ev.CallReceived(at=at, call_id="C1", hotline="120", received_at=at, caller_number=None,
                        lon=RIVER[0], lat=RIVER[1], address=None, kind="drowning", text="in the river"),
        ev.IncidentOpened(at=at, incident_id="I1", call_id="C1", kind="drowning", severity=1, lon=RIVER[0],
                          lat=RIVER[1], address=None, whistle_qualifies=True, reason="new"),
        ev.TaskCreated(at=at, incident_id="I1", agency="120", reason="plan"),
        ev.TaskCreated(at=at, incident_id="I1", agency="119", reason="plan")]
    recs = incidents_from_events(log)
    assert recs == [IncidentRecord("I1", at, RIVER[0], RIVER[1], "drowning", ("119", "120"))]
