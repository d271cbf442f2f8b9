"""Merging calls into joint incidents, and the dispatcher's split and merge."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch import events as ev
from dispatch.decide import (
    ChangeIncidentStatus,
    MergeIncidents,
    ReceiveCall,
    Rejected,
    Rules,
    SplitCall,
    decide,
)
from dispatch.geo import haversine_m
from dispatch.merging import MergeRules
from dispatch.plans import ResponsePlans
from dispatch.state import DispatchState, apply

T0 = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
LON, LAT = 119.96, 30.05
RULES = Rules(plans=ResponsePlans.load())
M_PER_DEG_LAT = 111_195.0


def north(metres: float) -> float:
    return LAT + metres / M_PER_DEG_LAT


def run(state: DispatchState, command, now: datetime = T0) -> list[ev.Event]:
    events = decide(state, command, RULES, now)
    for e in events:
        apply(state, e)
    return events


def call(hotline: str, kind: str, minutes: float = 0, lat: float = LAT, lon: float = LON,
         number: str | None = None, **kw) -> ReceiveCall:
    return ReceiveCall(hotline=hotline, received_at=T0 + timedelta(minutes=minutes), kind=kind,
                       lon=lon, lat=lat, caller_number=number, **kw)


def test_110_and_120_calls_50m_and_a_minute_apart_form_one_incident_with_both_tasks() -> None:
    state = DispatchState()
    run(state, call("110", "traffic_crash", number="13800000001"))
    events = run(state, call("120", "injured_person", minutes=1, lat=north(50), number="13800000002"))
    assert len(state.incidents) == 1
    inc = next(iter(state.incidents.values()))
    assert inc.call_ids == ["C000001", "C000002"]
    assert {"110", "120", "122"} <= set(inc.tasks)
    merged = next(e for e in events if isinstance(e, ev.CallMerged))
    assert "50 m" in merged.reason and "casualty" in merged.reason


def test_second_call_beyond_radius_opens_its_own_incident() -> None:
    state = DispatchState()
    run(state, call("110", "traffic_crash"))
    run(state, call("120", "injured_person", minutes=1, lat=north(350)))
    assert len(state.incidents) == 2


def test_second_call_after_the_window_opens_its_own_incident() -> None:
    state = DispatchState()
    run(state, call("110", "traffic_crash"))
    run(state, call("110", "traffic_crash", minutes=16))
    assert len(state.incidents) == 2


def test_burglary_and_fire_at_one_place_stay_apart() -> None:
    state = DispatchState()
    run(state, call("110", "burglary"))
    run(state, call("119", "fire", minutes=2))
    assert len(state.incidents) == 2


def test_same_number_calling_again_is_a_repeat_call() -> None:
    state = DispatchState()
    run(state, call("120", "medical_emergency", number="13900000000"))
    run(state, call("120", "medical_emergency", minutes=3, number="13900000000"))
    inc = state.incidents["I000001"]
    assert inc.repeat_calls == 1
    assert state.calls["C000002"].repeat


def test_more_severe_call_reclassifies_and_adds_tasks() -> None:
    state = DispatchState()
    run(state, call("110", "traffic_crash"))
    run(state, call("119", "person_trapped", minutes=2, lat=north(20)))
    inc = state.incidents["I000001"]
    assert inc.kind == "person_trapped" and inc.severity == 5 and inc.whistle_qualifies
    assert set(inc.tasks) == {"110", "119", "120", "122"}


def test_calls_without_coordinates_merge_only_on_the_same_address() -> None:
    state = DispatchState()
    run(state, ReceiveCall("110", T0, "fight", address="Riverside Rd 12, night market"))
    run(state, ReceiveCall("120", T0 + timedelta(minutes=2), "injured_person",
                           address="riverside rd 12  night market"))
    run(state, ReceiveCall("120", T0 + timedelta(minutes=2), "injured_person", address="Bridge St 3"))
    assert len(state.incidents) == 2
    assert state.calls["C000002"].incident_id == "I000001"


def test_dispatcher_splits_a_wrongly_merged_call_into_a_new_incident() -> None:
    state = DispatchState()
    run(state, call("110", "traffic_crash"))
    run(state, call("120", "injured_person", minutes=1))
    events = run(state, SplitCall("C000002", "different crash on the other carriageway", "d1"))
    assert [type(e) for e in events][:2] == [ev.CallSplit, ev.IncidentOpened]
    assert state.incidents["I000001"].call_ids == ["C000001"]
    assert state.calls["C000002"].incident_id == "I000002"
    assert "split out of I000001" in state.calls["C000002"].reason


def test_split_of_a_lone_call_is_refused() -> None:
    state = DispatchState()
    run(state, call("110", "theft"))
    with pytest.raises(Rejected) as err:
        decide(state, SplitCall("C000001", "x", "d1"), RULES, T0)
    assert err.value.code == 409


def test_dispatcher_merges_two_incidents() -> None:
    state = DispatchState()
    run(state, call("110", "traffic_crash"))
    run(state, call("120", "injured_person", minutes=1, lat=north(900)))
    run(state, MergeIncidents("I000001", "I000002", "same crash, caller misplaced it", "d1"))
    target, source = state.incidents["I000001"], state.incidents["I000002"]
    assert target.call_ids == ["C000001", "C000002"] and "120" in target.tasks
    assert source.status == "merged" and source.merged_into == "I000001"
    assert state.calls["C000002"].incident_id == "I000001"


def test_illegal_status_change_names_the_allowed_ones() -> None:
    state = DispatchState()
    run(state, call("110", "theft"))
    with pytest.raises(Rejected) as err:
        decide(state, ChangeIncidentStatus("I000001", "on_scene", "d1"), RULES, T0)
    assert err.value.code == 409 and "closed, dispatched" in err.value.message


def test_closed_incident_takes_no_more_calls() -> None:
    state = DispatchState()
    run(state, call("110", "theft"))
    run(state, ChangeIncidentStatus("I000001", "closed", "d1"))
    run(state, call("110", "theft", minutes=1))
    assert state.calls["C000002"].incident_id == "I000002"


def test_events_survive_serialisation() -> None:
    state = DispatchState()
    events = run(state, call("110", "traffic_crash", number="1"))
    for e in events:
        assert ev.from_json(ev.to_json(e)) == e


# --- properties -------------------------------------------------------------------------------

KINDS = sorted(RULES.plans.kinds)
calls_strategy = st.lists(
    st.tuples(
        st.sampled_from(["110", "119", "120"]),
        st.sampled_from(KINDS),
        st.floats(0, 40),  # minutes after T0
        st.floats(-0.006, 0.006),  # degrees: up to ~600 m
        st.floats(-0.006, 0.006),
        st.sampled_from([None, "13800000001", "13800000002"]),
    ),
    min_size=1, max_size=25,
)


def _build(calls) -> DispatchState:
    state = DispatchState()
    for hotline, kind, minutes, dlon, dlat, number in sorted(calls, key=lambda c: c[2]):
        run(state, call(hotline, kind, minutes, lat=LAT + dlat, lon=LON + dlon, number=number))
    return state


@settings(max_examples=150, deadline=None)
@given(calls_strategy)
def test_every_call_is_in_exactly_one_incident(calls) -> None:
    state = _build(calls)
    seen = [c for inc in state.incidents.values() for c in inc.call_ids]
    assert sorted(seen) == sorted(state.calls)
    for c in state.calls.values():
        assert c.call_id in state.incidents[c.incident_id].call_ids


@settings(max_examples=150, deadline=None)
@given(calls_strategy)
def test_merged_calls_were_near_recent_and_compatible(calls) -> None:
    state = _build(calls)
    for c in state.calls.values():
        if not c.merged:
            continue
        inc = state.incidents[c.incident_id]
        earlier = [state.calls[o] for o in inc.call_ids if o != c.call_id
                   and state.calls[o].received_at <= c.received_at]
        def limits(o, c=c):  # type: ignore[no-untyped-def]
            person = RULES.plans[c.kind].person or RULES.plans[o.kind].person
            if person and not (c.caller_number and c.caller_number == o.caller_number):
                return RULES.merge.person_radius_m, RULES.merge.person_window_min
            return RULES.merge.radius_m, RULES.merge.window_min

        assert any(
            haversine_m(c.lon, c.lat, o.lon, o.lat) <= limits(o)[0]
            and (c.received_at - o.received_at) <= timedelta(minutes=limits(o)[1])
            and RULES.plans.compatible(c.kind, o.kind)
            for o in earlier
        )


@settings(max_examples=100, deadline=None)
@given(calls_strategy)
def test_incident_has_a_task_for_every_agency_its_calls_need(calls) -> None:
    state = _build(calls)
    for inc in state.incidents.values():
        needed = {a for cid in inc.call_ids for a in RULES.plans[state.calls[cid].kind].agencies}
        took = {state.calls[cid].hotline for cid in inc.call_ids}
        assert needed | took <= set(inc.tasks)


@settings(max_examples=100, deadline=None)
@given(calls_strategy)
def test_folding_the_log_again_gives_the_same_state(calls) -> None:
    state = DispatchState()
    log: list[ev.Event] = []
    for hotline, kind, minutes, dlon, dlat, number in sorted(calls, key=lambda c: c[2]):
        log += run(state, call(hotline, kind, minutes, lat=LAT + dlat, lon=LON + dlon, number=number))
    again = DispatchState()
    for e in log:
        apply(again, ev.from_json(ev.to_json(e)))
    assert again == state


# --- calls about one person are kept apart -------------------------------------------------

def test_a_patient_at_home_200_m_from_a_crash_13_min_later_is_her_own_incident() -> None:
    state = DispatchState()
    run(state, call("110", "traffic_crash_injury", number="13800000001"))
    events = run(state, call("120", "medical_emergency", minutes=13.5, lat=north(200), number="13900000009"))
    assert len(state.incidents) == 2
    opened = next(e for e in events if isinstance(e, ev.IncidentOpened))
    assert set(state.incidents[opened.incident_id].tasks) == {"120"}


def test_a_bystander_calling_about_the_patient_nearby_still_joins() -> None:
    state = DispatchState()
    run(state, call("110", "traffic_crash_injury", number="13800000001"))
    events = run(state, call("120", "injured_person", minutes=2, lat=north(60), number="13800000002"))
    merged = next(e for e in events if isinstance(e, ev.CallMerged))
    assert merged.confidence is not None and 0.0 < merged.confidence < 1.0
    assert f"confidence {merged.confidence:.2f}" in merged.reason


def test_the_same_caller_about_one_patient_joins_at_the_ordinary_limits() -> None:
    state = DispatchState()
    run(state, call("120", "medical_emergency", number="13900000009"))
    events = run(state, call("120", "medical_emergency", minutes=12, lat=north(250), number="13900000009"))
    merged = next(e for e in events if isinstance(e, ev.CallMerged))
    assert merged.repeat and merged.confidence is not None and merged.confidence >= 0.9
    assert len(state.incidents) == 1


def test_a_second_patient_call_from_another_number_a_street_away_is_kept_apart() -> None:
    state = DispatchState()
    run(state, call("120", "medical_emergency", number="13900000001"))
    run(state, call("120", "medical_emergency", minutes=3, lat=north(150), number="13900000002"))
    assert len(state.incidents) == 2


def test_the_centre_that_took_the_call_has_a_task_when_its_call_joins_another_agencys_incident() -> None:
    state = DispatchState()
    run(state, call("110", "traffic_crash", number="13800000001"))
    events = run(state, call("120", "traffic_crash", minutes=1, lat=north(40), number="13800000002"))
    assert any(isinstance(e, ev.CallMerged) for e in events)
    task = next(e for e in events if isinstance(e, ev.TaskCreated))
    assert task.agency == "120"
    assert set(next(iter(state.incidents.values())).tasks) == {"110", "120", "122"}


def test_working_alone_each_centre_acts_on_its_own_call_only() -> None:
    alone = Rules(plans=RULES.plans, merge=MergeRules(across_hotlines=False))
    assert alone.task_agencies("drowning", "110") == ("110",)
    assert RULES.task_agencies("drowning", "110") == ("119", "120", "110")
