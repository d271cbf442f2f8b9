"""Check-in timers: each agency on scene has a scene timer its crew resets by checking in; the
check-in is an event in the log (timeline, every screen, a restart), refused with a reason naming
the field when it cannot be."""

from datetime import datetime

from fastapi.testclient import TestClient

from tests.web.conftest import MakeKey, as_supervisor
from web.api_keys import Role
from web.app import create_app


def _on_scene(client: TestClient, lon: float, lat: float) -> tuple[str, str]:
    """A crash with its units sent, the first ambulance on scene: (incident, ambulance)."""
    inc = client.post("/v1/calls", json={"hotline": "120", "kind": "traffic_crash_injury",
                                         "location": {"lon": lon, "lat": lat}}).json()["incident_id"]
    sent = client.post(f"/v1/incidents/{inc}/assign", json={}).json()["assigned"]
    ambulance = next(u for u in sent if client.get(f"/v1/units/{u}").json()["agency"] == "120")
    for status in ("en_route", "on_scene"):
        assert client.post(f"/v1/units/{ambulance}/status", json={"status": status}).status_code == 200
    return inc, ambulance


def test_a_check_in_restarts_the_agencys_scene_timer_and_survives_a_restart(
        client: TestClient, settings, small_city, centre) -> None:
    inc, _ = _on_scene(client, *centre)
    task = client.get(f"/v1/incidents/{inc}").json()["tasks"]["120"]
    assert task["status"] == "on_scene" and task["check_in_since"] == task["changed_at"]
    assert task["checked_in_at"] is None
    after = client.get("/v1/centre").json()["check_in_after_s"]
    assert after == settings.check_in_minutes * 60

    done = client.post(f"/v1/incidents/{inc}/check-ins", json={"agency": "120", "by": "Dr Ma"})
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["agency"] == "120" and body["by"] == "Dr Ma"
    due = datetime.fromisoformat(body["due_at"]) - datetime.fromisoformat(body["at"])
    assert due.total_seconds() == after
    detail = client.get(f"/v1/incidents/{inc}").json()
    task = detail["tasks"]["120"]
    assert task["checked_in_at"] == body["at"] == task["check_in_since"] and task["checked_in_by"] == "Dr Ma"
    assert task["check_in_since"] > task["changed_at"]
    assert any(e["type"] == "check_in_recorded" and "120 checked in on scene by Dr Ma" in e["summary"]
               for e in detail["timeline"])

    # a restart folds the log again: the same timer
    with TestClient(create_app(settings, network=small_city)) as again:
        as_supervisor(again)
        assert again.get(f"/v1/incidents/{inc}").json()["tasks"]["120"] == task


def test_a_check_in_is_refused_naming_the_field(client: TestClient, centre) -> None:
    lon, lat = centre
    inc, _ = _on_scene(client, lon, lat)
    unknown = client.post(f"/v1/incidents/{inc}/check-ins", json={"agency": "999", "by": "x"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "agency"
    nobody = client.post(f"/v1/incidents/{inc}/check-ins", json={"agency": "120", "by": ""})
    assert nobody.status_code == 422 and nobody.json()["field"] == "by"
    missing = client.post("/v1/incidents/I-nope/check-ins", json={"agency": "120"})
    assert missing.status_code == 404 and missing.json()["field"] == "incident_id"
    tasks = client.get(f"/v1/incidents/{inc}").json()["tasks"]
    untasked = next(a for a in ("110", "119", "120", "122") if a not in tasks)
    no_task = client.post(f"/v1/incidents/{inc}/check-ins", json={"agency": untasked})
    assert no_task.status_code == 404 and no_task.json()["field"] == "agency"
    # the other agencies' units are only sent, not on scene: no timer runs for them yet
    sent = next(a for a, t in tasks.items() if t["status"] != "on_scene")
    not_there = client.post(f"/v1/incidents/{inc}/check-ins", json={"agency": sent})
    assert not_there.status_code == 409 and not_there.json()["field"] == "agency"
    assert "not on scene" in not_there.json()["error"]

    other = client.post("/v1/calls", json={"hotline": "110", "kind": "theft",
                                           "location": {"lon": lon + 0.02, "lat": lat}}).json()["incident_id"]
    joined = client.post(f"/v1/incidents/{inc}/merge", json={"source_id": other, "reason": "same"})
    assert joined.status_code == 200
    merged = client.post(f"/v1/incidents/{other}/check-ins", json={"agency": "110"})
    assert merged.status_code == 409 and merged.json()["field"] == "incident_id"
    assert inc in merged.json()["error"]
    client.post(f"/v1/incidents/{inc}/status", json={"status": "closed", "reason": "done"})
    closed = client.post(f"/v1/incidents/{inc}/check-ins", json={"agency": "120"})
    assert closed.status_code == 409 and closed.json()["field"] == "incident_id"


def test_a_dispatcher_checks_in_their_own_agency_only(
        app_client: TestClient, make_key: MakeKey, centre) -> None:
    boss = {"Authorization": f"Bearer {make_key('120', Role.SUPERVISOR)}"}
    app_client.headers.update(boss)
    inc, _ = _on_scene(app_client, *centre)
    medical = {"Authorization": f"Bearer {make_key('120', Role.DISPATCHER)}"}
    police = {"Authorization": f"Bearer {make_key('110', Role.DISPATCHER)}"}
    own = app_client.post(f"/v1/incidents/{inc}/check-ins", headers=medical, json={"by": "desk"})
    assert own.status_code == 201 and own.json()["agency"] == "120"  # the key's agency by default
    other = app_client.post(f"/v1/incidents/{inc}/check-ins", headers=police, json={"agency": "120"})
    assert other.status_code == 403 and other.json()["field"] == "agency"
