"""Unit lifecycle and assignment rules: only legal moves, never one unit on two incidents."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.decide import (
    Assignment,
    AssignUnits,
    ChangeIncidentStatus,
    ChangeUnitStatus,
    ReceiveCall,
    RegisterUnit,
    Rejected,
    Rules,
    decide,
)
from dispatch.plans import ResponsePlans
from dispatch.state import DispatchState, apply
from dispatch.units import UNIT_TRANSITIONS, UnitStatus
from web.timeline_text import describe

T0 = datetime(2026, 5, 1, tzinfo=UTC)
RULES = Rules(plans=ResponsePlans.load())


def run(state: DispatchState, command) -> list:
    events = decide(state, command, RULES, T0)
    for e in events:
        apply(state, e)
    return events


def world() -> DispatchState:
    state = DispatchState()
    run(state, RegisterUnit("A1", "120", "ambulance", "Ambulance 1", "H1", 3))
    run(state, RegisterUnit("P1", "110", "patrol_car", "Patrol 1", "PS1", 2))
    run(state, ReceiveCall("120", T0, "traffic_crash_injury", lon=119.96, lat=30.05))
    run(state, ReceiveCall("110", T0, "theft", lon=119.99, lat=30.07))
    return state


def test_assignment_dispatches_unit_task_and_incident() -> None:
    state = world()
    run(state, AssignUnits("I000001", (Assignment("A1", eta_s=300),), "d120"))
    unit, inc = state.units["A1"], state.incidents["I000001"]
    assert unit.status == "dispatched" and unit.incident_id == "I000001"
    assert inc.status == "dispatched" and inc.tasks["120"].status == "dispatched"
    told = inc.timeline[-1]
    assert told.type == "unit_assigned" and told.facts["call_sign"] == unit.call_sign
    assert "ETA 5.0 min" in describe(told)


def test_a_unit_is_never_given_to_two_incidents() -> None:
    state = world()
    run(state, AssignUnits("I000001", (Assignment("A1"),), "d1"))
    with pytest.raises(Rejected) as err:
        decide(state, AssignUnits("I000002", (Assignment("A1"),), "d2"), RULES, T0)
    assert err.value.code == 409 and "dispatched to I000001" in err.value.message


def test_assignment_is_all_or_nothing() -> None:
    state = world()
    run(state, AssignUnits("I000002", (Assignment("P1"),), "d1"))
    with pytest.raises(Rejected):
        decide(state, AssignUnits("I000001", (Assignment("A1"), Assignment("P1")), "d2"), RULES, T0)
    assert state.units["A1"].status == "available"


def test_choosing_other_than_recommended_needs_a_reason() -> None:
    state = world()
    with pytest.raises(Rejected) as err:
        decide(state, AssignUnits("I000001", (Assignment("A1", recommended=False),), "d"), RULES, T0)
    assert err.value.field == "reason"


def test_illegal_status_is_409_with_the_allowed_ones() -> None:
    state = world()
    with pytest.raises(Rejected) as err:
        decide(state, ChangeUnitStatus("A1", "transporting", "crew"), RULES, T0)
    assert err.value.code == 409 and "dispatched, out_of_service" in err.value.message


def test_closing_an_incident_frees_its_units() -> None:
    state = world()
    run(state, AssignUnits("I000001", (Assignment("A1"),), "d"))
    run(state, ChangeUnitStatus("A1", "en_route", "crew"))
    run(state, ChangeIncidentStatus("I000001", "closed", "d"))
    assert state.units["A1"].status == "returning" and state.units["A1"].incident_id is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([s.value for s in UnitStatus]), max_size=30))
def test_any_sequence_of_requests_only_ever_takes_legal_steps(requests) -> None:
    state = world()
    for wanted in requests:
        before = state.units["A1"].status
        if wanted == "dispatched" and before in ("available", "returning"):
            run(state, AssignUnits("I000001", (Assignment("A1"),), "d"))
            continue
        try:
            run(state, ChangeUnitStatus("A1", wanted, "crew"))
        except Rejected as err:
            assert err.code == 409
            assert state.units["A1"].status == before
            continue
        assert UnitStatus(wanted) in UNIT_TRANSITIONS[before]
    history = [s for _, s in state.units["A1"].history]
    for a, b in zip(["available", *history], history, strict=False):
        assert UnitStatus(b) in UNIT_TRANSITIONS[UnitStatus(a)]


def test_divert_takes_a_unit_off_a_less_severe_incident_only() -> None:
    state = world()  # I000001 crash with injuries (4), I000002 theft (2)
    run(state, AssignUnits("I000002", (Assignment("P1"),), "d"))
    run(state, AssignUnits("I000001", (Assignment("P1", divert=True),), "d", "closer"))
    assert state.units["P1"].incident_id == "I000001"
    with pytest.raises(Rejected):
        decide(state, AssignUnits("I000002", (Assignment("P1", divert=True),), "d"), RULES, T0)
