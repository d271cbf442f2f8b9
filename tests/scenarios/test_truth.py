"""The replay's figures held to the scenario's truth (its `event:` tags): a merge of two events is
scored and flagged, the merged-in event is not served by units sent to the other, and a need never
met stays in the mean."""

from pathlib import Path

import pytest

import scenarios
from scenarios.model import LoadedScenario
from scenarios.replay import Replay
from scenarios.world import City
from tests.scenarios.conftest import SMALL

# Two cars burning 120 m and two minutes apart, told apart only by the truth; one ambulance only,
# and it goes out of service for the rest of the day before a third event's call.
TWO_FIRES = SMALL.split("timeline:")[0].replace("count: 2, crew: 3", "crew: 3") + """\
timeline:
  - {at: 0, call: {hotline: "119", kind: fire, place: crash, caller: "+86 139 0000 0001", event: car_a}}
  - {at: 120, call: {hotline: "119", kind: fire, place: {lon: 119.9792, lat: 30.0646},
                     caller: "+86 139 0000 0002", event: car_b}}
  - {at: "0:40:00", unit_out_of_service: {unit: A}}
  - {at: "0:41:00", call: {hotline: "120", kind: medical_emergency, place: home, event: late}}
"""


@pytest.fixture(scope="module")
def two_fires(tmp_path_factory: pytest.TempPathFactory) -> LoadedScenario:
    path: Path = tmp_path_factory.mktemp("truth") / "two_fires.yaml"
    path.write_text(TWO_FIRES, encoding="utf-8")
    return scenarios.load(path)


async def test_a_merge_of_two_events_is_scored_flagged_and_costs_the_second_its_units(
        two_fires: LoadedScenario, redis) -> None:  # type: ignore[no-untyped-def]
    result = await Replay(two_fires, "joint", City.of(two_fires), redis, namespace="truth:joint").run()
    q = result.kpis["merge_quality"]
    assert q["pairs_merged"] == 1 and q["pairs_right"] == 0 and q["precision"] == 0.0
    assert q["recall"] == 1.0  # no event was split
    [false] = q["false_merges"]
    assert false["events"] == ["car_a", "car_b"]
    assert false["calls"][0]["event"] == "car_b" and false["calls"][0]["confidence"] > 0
    # the engine sent to car a was there before car b's call joined: it does not serve car b
    rows = {r["event"]: r for r in result.kpis["per_event"]}
    assert rows["car_a"]["agencies"]["119"]["response_s"] > 0
    b = rows["car_b"]["agencies"]["119"]
    assert b["response_s"] is None or b["response_s"] > 0
    assert false["effect"]["car_b"]["119"] == b["response_s"]


async def test_a_need_never_met_is_counted_in_the_mean_up_to_the_end_of_the_run(
        two_fires: LoadedScenario, redis) -> None:  # type: ignore[no-untyped-def]
    result = await Replay(two_fires, "joint", City.of(two_fires), redis, namespace="truth:late").run()
    medical = result.kpis["agencies"]["120"]
    late = {r["event"]: r for r in result.kpis["per_event"]}["late"]["agencies"]["120"]
    assert late["missed"] and late["response_s"] is None
    assert medical["missed"] >= 1
    assert medical["response_s"]["n"] == medical["needed"]  # every need, served or not
    assert medical["response_served_s"]["n"] == medical["served"] == medical["needed"] - medical["missed"]
    first_call_late = 41 * 60
    assert medical["response_s"]["mean"] * medical["needed"] >= result.end_s - first_call_late - 1
