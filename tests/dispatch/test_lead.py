"""A centre that goes dark: the lead passes to the next centre in the rotation with a live
console, once, with the reason; the incoming convener is named; a plan made later decides."""

from datetime import UTC, date, datetime, timedelta

from dispatch import events as ev
from dispatch.decide import ReceiveCall, Rules, decide
from dispatch.lead import HandOverLead, roster_for, today
from dispatch.plans import ResponsePlans
from dispatch.roster import RosterRules
from dispatch.state import DispatchState, apply
from dispatch.whistle import BlowWhistle, PlanRosterDay

ROSTER = RosterRules.load()  # lead order 120, 119, 110
RULES = Rules(plans=ResponsePlans.load(), roster=ROSTER, ack_deadline_s=30)
# 2026-11-25 10:00 local: duty day 2026-11-25, whose default lead is 119
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
DARK = T0 - timedelta(minutes=3)


def run(state: DispatchState, command, now: datetime = T0) -> list[ev.Event]:
    events = decide(state, command, RULES, now)
    for e in events:
        apply(state, e)
    return events


def test_the_lead_passes_to_the_next_live_centre_in_the_rotation() -> None:
    state = DispatchState()
    assert today(state, ROSTER, T0).lead == "119"
    [handed] = run(state, HandOverLead("119", DARK, frozenset({"110", "120", "122"})))
    assert isinstance(handed, ev.LeadHandedOver)
    assert (handed.from_agency, handed.to_agency) == ("119", "110")  # after 119 comes 110
    assert "no 119 console live for 3 min (since 09:57)" in handed.reason
    assert handed.told == ROSTER.default_day(date(2026, 11, 25)).duties["110"].convener.name
    day = today(state, ROSTER, T0)
    assert day.lead == "110" and day.lead_reason == handed.reason
    # asked again (another watch, the next beat): the lead has moved, nothing more happens
    assert run(state, HandOverLead("119", DARK, frozenset({"110", "120"}))) == []


def test_a_dark_successor_is_passed_over_and_the_traffic_centre_never_leads() -> None:
    state = DispatchState()
    [handed] = run(state, HandOverLead("119", DARK, frozenset({"120", "122"})))
    assert handed.to_agency == "120"  # type: ignore[attr-defined]


def test_nothing_happens_while_the_lead_is_live_or_when_nobody_is() -> None:
    state = DispatchState()
    assert run(state, HandOverLead("119", DARK, frozenset({"119", "110"}))) == []
    assert run(state, HandOverLead("119", DARK, frozenset({"122"}))) == []
    assert run(state, HandOverLead("119", DARK, frozenset())) == []
    assert today(state, ROSTER, T0).lead == "119" and today(state, ROSTER, T0).lead_reason is None


def test_a_whistle_blown_after_the_hand_over_names_the_new_lead() -> None:
    state = DispatchState()
    run(state, ReceiveCall("120", T0, "drowning", lon=119.96, lat=30.05))
    run(state, HandOverLead("119", DARK, frozenset({"110"})))
    blown = run(state, BlowWhistle(next(iter(state.incidents)), by="dr", by_agency="120"))
    assert next(e for e in blown if isinstance(e, ev.WhistleBlown)).lead == "110"


def test_a_plan_made_after_the_hand_over_decides_the_day() -> None:
    state = DispatchState()
    run(state, HandOverLead("119", DARK, frozenset({"110"})))
    duties = {a: {lvl: {"name": f"{a}-{lvl}", "channel": "tel:1"} for lvl in ("convener", "backup", "chief")}
              for a in ("110", "119", "120", "122")}
    run(state, PlanRosterDay(date(2026, 11, 25), "120", duties, "supervisor"))
    day = roster_for(state, ROSTER, date(2026, 11, 25))
    assert day.lead == "120" and day.lead_reason is None
