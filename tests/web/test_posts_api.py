"""Staging posts through the API on a real Redis: a plan proposed from the log's calls, accepted
by a supervisor only, posts that survive a restart, an honest empty plan, and bad input named."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from routing.network import RoadNetwork
from tests.web.conftest import as_supervisor, key_maker
from web.api_keys import Role
from web.app import create_app
from web.settings import Settings

# A cluster of medical calls in the city's south-west, far from every ambulance station, each
# more than the merge radius from the next so each is its own incident.
HOT = (119.932, 30.030)
STEP = 0.005  # about 480 m east-west, 550 m north-south


@pytest.fixture
def post_settings(settings: Settings) -> Settings:
    # a tight target (2 min) and a 90 % goal: the stations' eleven ambulances fall short of it
    # for the cluster, and a post must open
    return settings.model_copy(update={"post_agencies": ["120"], "post_target_s": {"120": 120.0},
                                       "post_coverage_goal": 0.9})


@pytest.fixture
def posts_client(post_settings: Settings, small_city: RoadNetwork) -> Iterator[TestClient]:
    with TestClient(create_app(post_settings, network=small_city)) as c:
        yield as_supervisor(c)


def _calls(c: TestClient, n: int = 6) -> None:
    for i in range(n):
        lon, lat = HOT[0] + STEP * (i % 3), HOT[1] + STEP * (i // 3)
        r = c.post("/v1/calls", json={"hotline": "120", "kind": "medical_emergency",
                                      "location": {"lon": lon, "lat": lat}})
        assert r.status_code == 201, r.text


def test_a_plan_changes_nothing_until_accepted_and_its_posts_survive_a_restart(
        posts_client, post_settings, small_city) -> None:
    c = posts_client
    _calls(c)
    r = c.post("/v1/posts/plans", json={"period": "all", "by": "sup Wang"})
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["status"] == "pending" and plan["period"] == "all"
    assert plan["opens"], plan  # the cluster is beyond every station's two minutes
    first = plan["opens"][0]
    assert first["agency"] == "120" and first["units"] >= 1 and first["cells"]
    assert "incidents/h expected in all" in first["reason"]
    assert plan["figures"]["120"]["incidents"] == 6
    assert plan["figures"]["120"]["expected_coverage"] > plan["figures"]["120"]["stations_only_coverage"]
    # proposed only: no post is open
    layer = c.get("/v1/posts").json()
    assert layer["type"] == "FeatureCollection" and layer["features"] == []
    assert layer["pending_plan_id"] == plan["plan_id"]
    preview = c.get("/v1/posts", params={"plan_id": plan["plan_id"]}).json()
    changes = {f["properties"]["change"] for f in preview["features"] if f["properties"]["kind"] == "post"}
    assert changes == {"open"}

    r = c.post(f"/v1/posts/plans/{plan['plan_id']}/accept", json={"by": "sup Wang"})
    assert r.status_code == 200, r.text
    accepted = r.json()
    assert accepted["status"] == "accepted" and accepted["answered_agency"] == "120"
    layer = c.get("/v1/posts").json()
    points = [f for f in layer["features"] if f["properties"]["kind"] == "post"]
    cells = [f for f in layer["features"] if f["properties"]["kind"] == "cell"]
    assert {p["id"] for p in points} == {p["post_id"] for p in plan["opens"]}
    assert points[0]["geometry"]["type"] == "Point" and points[0]["properties"]["coverage"] > 0
    assert cells and all(f["geometry"]["type"] == "Polygon" for f in cells)
    ring = cells[0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7  # a closed hexagon, [lon, lat]
    assert 119.9 < ring[0][0] < 120.0 and 30.0 < ring[0][1] < 30.1
    # accepted once: a second answer is refused, naming the plan
    again = c.post(f"/v1/posts/plans/{plan['plan_id']}/reject", json={"reason": "late"})
    assert again.status_code == 409 and again.json()["field"] == "plan_id"

    # a second app on the same namespace (a restart, or another node) sees the same posts
    with TestClient(create_app(post_settings, network=small_city)) as other:
        as_supervisor(other)
        assert other.get("/v1/posts").json()["features"] == layer["features"]
        plans = other.get("/v1/posts/plans").json()
        assert plans["plans"][0]["status"] == "accepted" and plans["count"] == 1


def test_a_new_plan_on_quieter_demand_closes_the_post_with_the_figures(posts_client) -> None:
    c = posts_client
    _calls(c)
    plan = c.post("/v1/posts/plans", json={"period": "all"}).json()
    assert c.post(f"/v1/posts/plans/{plan['plan_id']}/accept", json={}).status_code == 200
    opened = {p["post_id"] for p in plan["opens"]}
    # the same log seen through a period none of its calls fall in: nothing there any more
    quiet = "summer" if c.get("/v1/centre").json()["now"][5:7] not in ("06", "07", "08") else "year_end"
    later = c.post("/v1/posts/plans", json={"period": quiet}).json()
    assert later["opens"] == [] and {x["post_id"] for x in later["closes"]} == opened
    closing = later["closes"][0]
    assert closing["rate_now_per_hour"] == 0 and closing["rate_was_per_hour"] > 0
    assert "fell from" in closing["reason"]
    assert c.post(f"/v1/posts/plans/{later['plan_id']}/accept", json={}).status_code == 200
    assert c.get("/v1/posts").json()["features"] == []


def test_an_empty_log_gets_an_honest_empty_plan(posts_client) -> None:
    r = posts_client.post("/v1/posts/plans", json={"period": "summer_weekends"})
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["opens"] == plan["keeps"] == plan["closes"] == []
    assert "no incident" in plan["reason"]
    assert plan["figures"]["120"]["incidents"] == 0


def test_a_bad_period_is_a_422_naming_period(posts_client) -> None:
    r = posts_client.post("/v1/posts/plans", json={"period": "monsoon"})
    assert r.status_code == 422 and r.json()["field"] == "period"
    assert "summer_weekends" in r.json()["error"]
    assert posts_client.get("/v1/posts/plans").json()["count"] == 0  # nothing half-made


def test_only_a_supervisor_proposes_accepts_or_rejects(posts_client) -> None:
    c = posts_client
    _calls(c, 3)
    plan = c.post("/v1/posts/plans", json={"period": "all"}).json()
    dispatcher = {"Authorization": f"Bearer {key_maker(c)('120', Role.DISPATCHER)}"}
    for path, body in (("/v1/posts/plans", {"period": "all"}),
                       (f"/v1/posts/plans/{plan['plan_id']}/accept", {}),
                       (f"/v1/posts/plans/{plan['plan_id']}/reject", {})):
        r = c.post(path, json=body, headers=dispatcher)
        assert r.status_code == 403 and r.json()["missing"]["role"] == ["supervisor"], r.text
    assert c.get("/v1/posts/plans", headers=dispatcher).json()["plans"][0]["status"] == "pending"
    # a newer plan supersedes the pending one, which can then no longer be accepted
    newer = c.post("/v1/posts/plans", json={"period": "all"}).json()
    r = c.post(f"/v1/posts/plans/{plan['plan_id']}/accept", json={})
    assert r.status_code == 409 and "superseded" in r.json()["error"]
    r = c.post(f"/v1/posts/plans/{newer['plan_id']}/reject", json={"reason": "not today"})
    assert r.json()["status"] == "rejected" and r.json()["answer_reason"] == "not today"
    assert c.get("/v1/posts").json()["features"] == []


def test_move_up_when_committed_units_leave_the_post_uncovered_and_the_dispatcher_confirms(
        posts_client) -> None:
    c = posts_client
    _calls(c)
    plan = c.post("/v1/posts/plans", json={"period": "all"}).json()
    assert c.post(f"/v1/posts/plans/{plan['plan_id']}/accept", json={}).status_code == 200
    post_id = plan["opens"][0]["post_id"]
    # nobody stands at the post yet: the stations alone leave coverage below the goal
    r = c.get("/v1/posts/move-up")
    assert r.status_code == 200, r.text
    answer = r.json()
    figures = answer["agencies"]["120"]
    assert figures["below_goal"] and figures["coverage"] < figures["goal"]
    best = answer["moves"][0]
    assert best["post_id"] == post_id and best["gained"] > 0 and best["travel_s"] > 0
    assert best["coverage_after"] > best["coverage_before"] == figures["coverage"]
    assert "below the goal" in best["reason"] and "min by road" in best["reason"]
    dispatcher = {"Authorization": f"Bearer {key_maker(c)('120', Role.DISPATCHER)}"}
    r = c.post("/v1/posts/move-up/confirm", headers=dispatcher,
               json={"unit_id": best["unit_id"], "post_id": post_id, "by": "disp"})
    assert r.status_code == 201, r.text
    assert r.json()["travel_s"] == best["travel_s"] and r.json()["reason"] == best["reason"]
    layer = c.get("/v1/posts").json()
    [point] = [f for f in layer["features"] if f["id"] == post_id]
    assert point["properties"]["units"] == [best["unit_id"]]
    after = c.get("/v1/posts/move-up").json()["agencies"]["120"]
    assert after["coverage"] > figures["coverage"]
    # the posted unit is sent to a call: committed, it covers nothing, and coverage falls back
    inc = c.post("/v1/calls", json={"hotline": "120", "kind": "medical_emergency",
                                    "location": {"lon": HOT[0] + 0.02, "lat": HOT[1] + 0.02}}).json()
    sent = c.post(f"/v1/incidents/{inc['incident_id']}/assign", json={"units": [best["unit_id"]], "by": "d"})
    assert sent.status_code in (200, 201), sent.text
    again = c.get("/v1/posts/move-up").json()
    assert again["agencies"]["120"]["committed"] == 1
    assert again["agencies"]["120"]["coverage"] < after["coverage"]  # (the new call is demand too)
    assert again["moves"] and again["moves"][0]["unit_id"] != best["unit_id"]
    # a 110 dispatcher cannot move a 120 unit; a bad body names its field
    police = {"Authorization": f"Bearer {key_maker(c)('110', Role.DISPATCHER)}"}
    r = c.post("/v1/posts/move-up/confirm", headers=police,
               json={"unit_id": again["moves"][0]["unit_id"], "post_id": post_id})
    assert r.status_code == 403
    r = c.post("/v1/posts/move-up/confirm", json={"unit_id": "A-C-1"})
    assert r.status_code == 422 and r.json()["field"] == "post_id"
