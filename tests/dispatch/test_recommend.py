"""Recommendation: per agency and unit kind, free units fastest first; diversions explained."""

from datetime import UTC, datetime, timedelta

from dispatch.decide import Assignment, AssignUnits, ReceiveCall, RegisterUnit, Rules, decide
from dispatch.plans import ResponsePlans
from dispatch.recommend import recommend
from dispatch.state import DispatchState, apply
from dispatch.telemetry import Position

T0 = datetime(2026, 5, 1, tzinfo=UTC)
PLANS = ResponsePlans.load()
RULES = Rules(plans=PLANS)


def run(state, command) -> None:
    for e in decide(state, command, RULES, T0):
        apply(state, e)


def fresh(unit_id: str) -> Position:
    return Position(unit_id, 119.96, 30.05, T0 - timedelta(seconds=5))


def fleet() -> DispatchState:
    state = DispatchState()
    for uid, agency, kind in [("A1", "120", "ambulance"), ("A2", "120", "ambulance"),
                              ("A3", "120", "ambulance"), ("P1", "110", "patrol_car"),
                              ("P2", "110", "patrol_car"), ("R1", "119", "rescue_truck"),
                              ("E1", "119", "fire_engine"), ("T1", "122", "traffic_police_car")]:
        run(state, RegisterUnit(uid, agency, kind, uid, "S", 2))
    return state


def test_each_needed_kind_gets_its_fastest_free_unit() -> None:
    state = fleet()
    run(state, ReceiveCall("120", T0, "person_trapped", lon=119.96, lat=30.05))
    eta = {"A1": 600, "A2": 200, "A3": 400, "P1": 300, "P2": 100, "R1": 500, "E1": 50, "T1": 700}
    needs = recommend(state, state.incidents["I000001"], PLANS, eta,
                      {u: fresh(u) for u in eta}, T0)
    picks = {(n.agency, n.kind): n.pick.unit_id for n in needs if n.pick}
    assert picks == {("110", "patrol_car"): "P2", ("119", "rescue_truck"): "R1",
                     ("120", "ambulance"): "A2", ("122", "traffic_police_car"): "T1"}
    ambulance = next(n for n in needs if n.kind == "ambulance")
    assert [c.unit_id for c in ambulance.candidates] == ["A2", "A3", "A1"]
    # brute force: the pick is the minimum over every free unit of that agency and kind
    for n in needs:
        brute = min((u for u in state.units.values() if u.agency == n.agency and u.kind == n.kind),
                    key=lambda u: eta[u.unit_id])
        assert n.pick.unit_id == brute.unit_id


def test_stale_positions_rank_after_fresh_ones_and_say_so() -> None:
    state = fleet()
    run(state, ReceiveCall("120", T0, "medical_emergency", lon=119.96, lat=30.05))
    eta = {"A1": 100, "A2": 200, "A3": 300}
    positions = {"A1": Position("A1", 119.96, 30.05, T0 - timedelta(minutes=10)),
                 "A2": fresh("A2"), "A3": fresh("A3")}
    (need,) = recommend(state, state.incidents["I000001"], PLANS, eta, positions, T0)
    assert [c.unit_id for c in need.candidates] == ["A2", "A3", "A1"]
    assert "stale" in need.candidates[-1].reason


def test_much_closer_unit_on_a_lesser_incident_is_proposed_with_the_reason() -> None:
    state = fleet()
    run(state, ReceiveCall("120", T0, "medical_emergency", lon=119.90, lat=30.00))  # severity 3
    run(state, AssignUnits("I000001", (Assignment("A1"),), "d"))
    run(state, ReceiveCall("119", T0, "drowning", lon=119.96, lat=30.05))  # severity 5
    eta = {"A1": 60, "A2": 900, "A3": 1000, "P1": 100, "R1": 100}
    needs = recommend(state, state.incidents["I000002"], PLANS, eta, {u: fresh(u) for u in eta}, T0)
    amb = next(n for n in needs if n.kind == "ambulance")
    assert amb.pick.unit_id == "A1" and amb.pick.divert_from == "I000001"
    assert "committed to I000001" in amb.pick.reason


def test_units_already_sent_are_not_asked_for_again() -> None:
    state = fleet()
    run(state, ReceiveCall("120", T0, "medical_emergency", lon=119.96, lat=30.05))
    run(state, AssignUnits("I000001", (Assignment("A2"),), "d"))
    assert recommend(state, state.incidents["I000001"], PLANS, {"A1": 1, "A3": 2},
                     {}, T0) == []
