"""The whistle: roster rotation, who may blow it, acknowledgement and the escalation chain."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch import events as ev
from dispatch.decide import ChangeIncidentStatus, ReceiveCall, Rules, decide
from dispatch.lead import roster_for
from dispatch.plans import ResponsePlans
from dispatch.rejection import Rejected
from dispatch.roster import RosterRules
from dispatch.state import DispatchState, apply
from dispatch.whistle import (
    AcknowledgeSummons,
    BlowWhistle,
    CheckDeadlines,
    PlanRosterDay,
    next_deadline,
)

ROSTER = RosterRules.load()
RULES = Rules(plans=ResponsePlans.load(), roster=ROSTER, ack_deadline_s=30)
# 2026-11-25 10:00 local (02:00 UTC): duty day 2026-11-25, whose default lead is 119
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def run(state: DispatchState, command, now: datetime = T0) -> list[ev.Event]:
    events = decide(state, command, RULES, now)
    for e in events:
        apply(state, e)
    return events


def with_incident(kind: str = "drowning") -> DispatchState:
    state = DispatchState()
    run(state, ReceiveCall("120", T0, kind, lon=119.96, lat=30.05))
    return state


# --- roster -------------------------------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)), st.integers(1, 120))
def test_every_day_has_one_lead_and_one_convener_backup_and_chief_per_agency(start, days) -> None:
    leads = []
    for i in range(days):
        day = ROSTER.default_day(start + timedelta(days=i))
        assert day.lead in ("110", "119", "120")
        assert set(day.duties) == {"110", "119", "120", "122"}
        for duty in day.duties.values():
            assert duty.convener != duty.backup  # a backup is someone else
        leads.append(day.lead)
    if days >= 3:  # the lead rotates through all three centres
        assert set(leads[:3]) == {"110", "119", "120"}


def test_duty_day_turns_at_the_shift_change_hour_local_time() -> None:
    assert ROSTER.duty_day(datetime(2026, 11, 25, 23, 30, tzinfo=UTC)) == date(2026, 11, 25)  # 07:30 +1d
    assert ROSTER.duty_day(datetime(2026, 11, 26, 0, 0, tzinfo=UTC)) == date(2026, 11, 26)  # 08:00


def test_a_planned_day_overrides_the_rotation_and_keeps_history() -> None:
    state = DispatchState()
    duties = {a: {lvl: {"name": f"{a}-{lvl}", "channel": "tel:1"} for lvl in ("convener", "backup", "chief")}
              for a in ("110", "119", "120", "122")}
    run(state, PlanRosterDay(date(2026, 11, 25), "110", duties, "supervisor"))
    day = roster_for(state, ROSTER, date(2026, 11, 25))
    assert day.lead == "110" and day.duties["120"].convener.name == "120-convener"
    assert day.planned_by == "supervisor" and len(state.roster_history) == 1
    assert roster_for(state, ROSTER, date(2026, 11, 26)).planned_by is None


def test_a_plan_missing_an_agency_names_it() -> None:
    with pytest.raises(Rejected) as err:
        decide(DispatchState(), PlanRosterDay(date(2026, 11, 25), "110", {}, "s"), RULES, T0)
    assert err.value.field == "duties.110"


# --- blowing it --------------------------------------------------------------------------------

def test_blowing_summons_every_agencys_convener_of_the_day() -> None:
    state = with_incident()
    run(state, BlowWhistle("I000001", "dr-xu", "120"))
    (w,) = state.whistles.values()
    day = ROSTER.default_day(date(2026, 11, 25))
    assert {a: s.name for a, s in w.summons.items()} == {a: d.convener.name for a, d in day.duties.items()}
    assert all(s.deadline == T0 + timedelta(seconds=30) for s in w.summons.values())


@pytest.mark.parametrize("agency, allowed", [("120", True), ("119", True), ("110", False), ("122", False)])
def test_only_120_119_or_the_days_lead_may_blow(agency, allowed) -> None:
    state = with_incident()
    if allowed:
        run(state, BlowWhistle("I000001", "d", agency))
    else:
        with pytest.raises(Rejected) as err:
            decide(state, BlowWhistle("I000001", "d", agency), RULES, T0)
        assert err.value.code == 403


def test_110_may_blow_on_a_day_it_leads() -> None:
    state = with_incident()
    lead_110_day = next(T0 + timedelta(days=i) for i in range(3)
                        if ROSTER.default_day(ROSTER.duty_day(T0 + timedelta(days=i))).lead == "110")
    run(state, ReceiveCall("110", lead_110_day, "fire", lon=119.97, lat=30.06), lead_110_day)
    run(state, BlowWhistle("I000002", "officer", "110"), lead_110_day)
    assert len(state.whistles) == 1


def test_a_kind_that_does_not_qualify_needs_an_override_reason() -> None:
    state = with_incident("theft")
    with pytest.raises(Rejected) as err:
        decide(state, BlowWhistle("I000001", "d", "120"), RULES, T0)
    assert err.value.code == 422 and err.value.field == "override_reason"
    run(state, BlowWhistle("I000001", "d", "120", override_reason="suspect armed near a school"))
    assert next(iter(state.whistles.values())).override_reason


def test_one_whistle_per_incident() -> None:
    state = with_incident()
    run(state, BlowWhistle("I000001", "d", "120"))
    with pytest.raises(Rejected):
        decide(state, BlowWhistle("I000001", "d", "119"), RULES, T0)


# --- acknowledgement and escalation -------------------------------------------------------------

def test_ack_before_the_deadline_stops_escalation() -> None:
    state = with_incident()
    run(state, BlowWhistle("I000001", "d", "120"))
    for agency in ("110", "119", "120", "122"):
        run(state, AcknowledgeSummons("W00001", agency, "someone"), T0 + timedelta(seconds=10))
    assert run(state, CheckDeadlines(), T0 + timedelta(minutes=5)) == []
    w = state.whistles["W00001"]
    assert w.all_acknowledged_at == T0 + timedelta(seconds=10)
    assert next_deadline(state) is None


def test_silence_escalates_to_backup_then_chief_then_unanswered_on_time() -> None:
    state = with_incident()
    run(state, BlowWhistle("I000001", "d", "120"))
    run(state, AcknowledgeSummons("W00001", "110", "x"), T0 + timedelta(seconds=5))
    run(state, AcknowledgeSummons("W00001", "120", "x"), T0 + timedelta(seconds=5))
    run(state, AcknowledgeSummons("W00001", "122", "x"), T0 + timedelta(seconds=5))
    assert run(state, CheckDeadlines(), T0 + timedelta(seconds=29)) == []
    first = run(state, CheckDeadlines(), T0 + timedelta(seconds=31))
    assert [(e.agency, e.level) for e in first] == [("119", "backup")]
    assert state.whistles["W00001"].summons["119"].deadline == T0 + timedelta(seconds=60)
    second = run(state, CheckDeadlines(), T0 + timedelta(seconds=95))  # a late tick
    assert [(e.agency, e.level) for e in second] == [("119", "chief")]
    assert second[0].deadline == T0 + timedelta(seconds=90)  # kept time from the missed deadline
    third = run(state, CheckDeadlines(), T0 + timedelta(seconds=96))
    assert [type(e) for e in third] == [ev.SummonsUnanswered]
    late = run(state, AcknowledgeSummons("W00001", "119", "Commander Sun"), T0 + timedelta(minutes=3))
    assert late[0].late and state.whistles["W00001"].all_acknowledged_at is not None
    steps = [lvl for _, lvl, _ in state.whistles["W00001"].summons["119"].steps]
    assert steps == ["convener", "backup", "chief"]


def test_restart_in_the_middle_of_a_whistle_resumes_its_deadlines_from_the_log() -> None:
    state = with_incident()
    log = run(state, BlowWhistle("I000001", "d", "120"))
    rebuilt = DispatchState()
    for e in [*decide(DispatchState(), ReceiveCall("120", T0, "drowning", lon=119.96, lat=30.05), RULES, T0)]:
        apply(rebuilt, e)
    for e in log:
        apply(rebuilt, ev.from_json(ev.to_json(e)))
    assert next_deadline(rebuilt) == T0 + timedelta(seconds=30)
    assert len(run(rebuilt, CheckDeadlines(), T0 + timedelta(seconds=30))) == 4


def test_closing_the_incident_ends_the_whistle() -> None:
    state = with_incident()
    run(state, BlowWhistle("I000001", "d", "120"))
    run(state, ChangeIncidentStatus("I000001", "closed", "d"))
    assert not state.whistles["W00001"].active
    assert run(state, CheckDeadlines(), T0 + timedelta(hours=1)) == []
