"""Signal plans: red waiting from the plan, conflicts, district files over road-class defaults."""

from pathlib import Path

import pytest

from greenwave.signal_plan import (
    Interval,
    Phase,
    PlanError,
    SignalPlan,
    SignalPlanBook,
    default_plan,
    group_by_bearing,
    load_district_plans,
)


def two_phase() -> SignalPlan:
    # cycle 60: NS green 0-25, clear 25-30, EW green 30-55, clear 55-60
    return SignalPlan("J", (Phase(frozenset({"N", "S"}), 25), Phase(frozenset({"E", "W"}), 25)))


def test_expected_red_wait_is_red_squared_over_twice_the_cycle() -> None:
    plan = two_phase()
    assert plan.cycle_s == 60
    assert plan.expected_red_wait_s("N") == pytest.approx(35 * 35 / 120)


def test_red_wait_at_a_moment_counts_down_to_the_next_green() -> None:
    plan = two_phase()
    assert plan.red_wait_at_s("N", 10) == 0
    assert plan.red_wait_at_s("N", 40) == pytest.approx(20)
    assert plan.red_wait_at_s("E", 10) == pytest.approx(20)


def test_position_walks_green_yellow_all_red() -> None:
    plan = two_phase()
    assert plan.position_at(26).interval is Interval.YELLOW
    assert plan.position_at(29).interval is Interval.ALL_RED
    assert plan.position_at(31).phase_index == 1
    assert plan.position_at(61).phase_index == 0


def test_approaches_conflict_only_when_no_phase_serves_both() -> None:
    plan = two_phase()
    assert plan.conflicts("N", "E")
    assert not plan.conflicts("N", "S")


def test_a_green_below_the_minimum_is_rejected() -> None:
    with pytest.raises(PlanError, match="minimum green"):
        SignalPlan("J", (Phase(frozenset({"N"}), 5), Phase(frozenset({"E"}), 20)), min_green_s=7)


def test_defaults_by_road_class_give_the_main_road_more_green() -> None:
    plan = default_plan("J", [["N", "S"], ["E", "W"]], "primary")
    assert plan.cycle_s == pytest.approx(120)
    assert plan.phases[0].green_s > plan.phases[1].green_s
    assert plan.expected_red_wait_s("N") < plan.expected_red_wait_s("E")


def test_opposite_bearings_share_a_phase() -> None:
    groups = group_by_bearing({"a": 0, "b": 180, "c": 90, "d": 268})
    assert sorted(map(sorted, groups)) == [["a", "b"], ["c", "d"]]


def test_district_file_overrides_defaults(tmp_path: Path) -> None:
    f = tmp_path / "district.yaml"
    f.write_text("signals:\n  J7:\n    min_green_s: 8\n    ped_clearance_s: 15\n    phases:\n"
                 "      - {approaches: [N, S], green_s: 30}\n"
                 "      - {approaches: [E, W], green_s: 20, yellow_s: 4}\n")
    book = SignalPlanBook(load_district_plans(f))
    assert book.plan_for("J7").phases[1].yellow_s == 4
    assert book.plan_for("J7").ped_clearance_s == 15
    assert book.plan_for("J8", [["N", "S"], ["E", "W"]]).cycle_s == pytest.approx(90)


def test_district_file_names_the_bad_field(tmp_path: Path) -> None:
    f = tmp_path / "district.json"
    f.write_text('{"signals": {"J1": {"phases": [{"green_s": 20}]}}}')
    with pytest.raises(PlanError, match="signals.J1.phases"):
        load_district_plans(f)


def test_default_plans_along_an_arterial_are_offset_by_the_travel_time_between_them() -> None:
    from greenwave.network_plans import PROGRESSION_KMH, plan_book_for
    from routing.demo_city import build_demo_city

    city = build_demo_city(seed=3, scale=0.1)
    plans = plan_book_for(city.graph).all()
    offsets = [p.offset_s for p in plans.values()]
    assert len({round(o, 3) for o in offsets}) > 5  # coordinated, not all 0 (a column shares one)
    # two neighbouring junctions on one straight east-west arterial: offsets differ by the drive
    # between them at the progression speed, modulo the cycle
    g = city.graph
    sig = {d["signal_id"]: n for n, d in g.nodes(data=True) if d.get("signal_id")}
    row = sorted((sid for sid in sig if sid[1:4] == "008"), key=lambda s: int(s[4:]))
    a, b = row[0], row[1]
    if plans[a].cycle_s == plans[b].cycle_s:
        from pyproj import Geod

        metres = Geod(ellps="WGS84").inv(g.nodes[sig[a]]["lon"], g.nodes[sig[a]]["lat"],
                                         g.nodes[sig[b]]["lon"], g.nodes[sig[b]]["lat"])[2]
        gap = (plans[b].offset_s - plans[a].offset_s) % plans[a].cycle_s
        want = (metres / (PROGRESSION_KMH / 3.6)) % plans[a].cycle_s
        assert min(abs(gap - want), plans[a].cycle_s - abs(gap - want)) < 3.0
