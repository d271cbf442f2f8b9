"""Staging posts in the pure core: a plan changes nothing until accepted, a stale plan is refused,
closing a post takes its units off it, units are posted only free and to their agency's posts,
and every post event reads back from the log as it was written."""

from datetime import UTC, datetime

import pytest

from dispatch import events as ev
from dispatch.decide import RegisterUnit, Rejected, Rules, decide
from dispatch.plans import ResponsePlans
from dispatch.posts import AcceptPostPlan, LeavePost, PostUnit, ProposePostPlan, RejectPostPlan
from dispatch.state import DispatchState, apply

T0 = datetime(2026, 7, 4, 18, tzinfo=UTC)
RULES = Rules(plans=ResponsePlans.load())


def run(state: DispatchState, command) -> list[ev.Event]:
    events = decide(state, command, RULES, T0)
    for e in events:
        apply(state, ev.from_json(ev.to_json(e)))  # as the log gives it back
    return events


def post(post_id: str, agency: str = "120", rate: float = 0.5) -> ev.PlannedPost:
    return ev.PlannedPost(post_id, f"post {post_id}", 119.95, 30.05, agency, 1, ("88309a0001fffff",), rate,
                          0.4, "near the river")


def plan(state: DispatchState, opens=(), closes=()) -> str:
    base = tuple(sorted(p.post_id for p in state.posts.values() if p.open))
    [e] = run(state, ProposePostPlan("summer_weekends", "sup", tuple(opens), (), tuple(closes), base,
                                     {"120": {"expected_coverage": 0.8}}, "test"))
    assert isinstance(e, ev.PostPlanProposed)
    return e.plan_id


def world() -> DispatchState:
    state = DispatchState()
    run(state, RegisterUnit("A1", "120", "ambulance", "Ambulance 1", "AS", 3))
    run(state, RegisterUnit("E1", "119", "fire_engine", "Engine 1", "FS", 5))
    return state


def test_a_plan_opens_nothing_until_accepted_then_closes_with_its_figures() -> None:
    state = world()
    first = plan(state, opens=[post("120-river")])
    assert not state.posts and state.post_plans[first].status == "pending"
    events = run(state, AcceptPostPlan(first, "sup", "120", "console"))
    assert [type(e) for e in events] == [ev.PostPlanAccepted, ev.PostOpened]
    run(state, PostUnit("A1", "120-river", "dispatcher", "move-up", travel_s=210.0))
    assert state.unit_posts == {"A1": "120-river"} and state.posts["120-river"].units == ["A1"]
    closing = ev.PlannedClosing("120-river", 0.5, 0.0, "expected rate in its cells fell from 0.500 to 0.000")
    second = plan(state, closes=[closing])
    events = run(state, AcceptPostPlan(second, "sup", "120", "console"))
    assert [type(e) for e in events] == [ev.PostPlanAccepted, ev.UnitLeftPost, ev.PostClosed]
    assert not state.posts["120-river"].open and state.unit_posts == {}
    closed = events[-1]
    assert isinstance(closed, ev.PostClosed) and closed.rate_was_per_hour == 0.5
    assert "fell from" in closed.reason


def test_a_plan_made_on_other_posts_than_those_open_is_refused() -> None:
    state = world()
    stale = plan(state, opens=[post("120-market")])
    newer = plan(state, opens=[post("120-river")])
    with pytest.raises(Rejected) as e:
        run(state, AcceptPostPlan(stale, "sup", "120", "c"))
    assert e.value.code == 409 and "superseded" in e.value.message
    run(state, AcceptPostPlan(newer, "sup", "120", "c"))
    # a plan proposed before the river post opened, answered after
    state2 = world()
    early = plan(state2, opens=[post("120-market")])
    apply(state2, ev.PostOpened(at=T0, post=post("120-river"), plan_id="PP-other", reason="x"))
    with pytest.raises(Rejected) as e:
        run(state2, AcceptPostPlan(early, "sup", "120", "c"))
    assert e.value.field == "plan_id" and "propose again" in e.value.message


def test_units_are_posted_only_free_and_to_their_own_agencys_posts() -> None:
    state = world()
    run(state, AcceptPostPlan(plan(state, opens=[post("120-river")]), "sup", "120", "c"))
    with pytest.raises(Rejected) as e:
        run(state, PostUnit("E1", "120-river", "d", "x"))
    assert e.value.field == "unit_id" and e.value.code == 409
    with pytest.raises(Rejected) as e:
        run(state, PostUnit("A1", "120-nowhere", "d", "x"))
    assert e.value.field == "post_id" and e.value.code == 404
    with pytest.raises(Rejected):
        run(state, LeavePost("A1", "d", "x"))  # stands at no post
    run(state, PostUnit("A1", "120-river", "d", "x"))
    assert [type(e) for e in run(state, LeavePost("A1", "d", "back to station"))] == [ev.UnitLeftPost]


def test_rejecting_keeps_who_and_why_and_a_bad_plan_names_its_field() -> None:
    state = world()
    pid = plan(state, opens=[post("120-river")])
    run(state, RejectPostPlan(pid, "sup Li", "120", "console", "river closed for works"))
    p = state.post_plans[pid]
    assert (p.status, p.answered_by, p.answer_reason) == ("rejected", "sup Li", "river closed for works")
    with pytest.raises(Rejected) as e:
        run(state, ProposePostPlan("all", "s", (post("x", agency="999"),), (), (), (), {}, ""))
    assert e.value.field == "opens.agency"
    with pytest.raises(Rejected) as e:
        run(state, ProposePostPlan(" ", "s", (), (), (), (), {}, ""))
    assert e.value.field == "period"


def test_post_events_read_back_from_the_log_as_written() -> None:
    closing = ev.PlannedClosing("120-river", 0.5, 0.1, "fell")
    for e in (ev.PostPlanProposed(at=T0, plan_id="PP00001", period="all", by="s", opens=(post("a"),),
                                  keeps=(post("b"),), closes=(closing,), base=("b", "c"),
                                  figures={"120": {"expected_coverage": 0.9}}, reason="r"),
              ev.PostOpened(at=T0, post=post("a"), plan_id="PP00001", reason="r"),
              ev.UnitPosted(at=T0, unit_id="A1", post_id="a", by="d", reason="move-up", travel_s=12.5)):
        assert ev.from_json(ev.to_json(e)) == e
