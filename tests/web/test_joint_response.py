"""The joint response as one workflow, in the order dispatchers work: send units, whistle later;
tasks that follow units; agencies that send only their own units; transport to hospital; routes
that every process and a restart see."""

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.web.conftest import as_supervisor, key_maker
from web.api_keys import Role
from web.app import create_app


def _call(client: TestClient, centre: tuple[float, float], kind: str = "drowning",
          hotline: str = "120") -> str:
    r = client.post("/v1/calls", json={"hotline": hotline, "kind": kind,
                                       "location": {"lon": centre[0], "lat": centre[1]}})
    assert r.status_code == 201, r.text
    return str(r.json()["incident_id"])


def _incident(client: TestClient, incident: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/incidents/{incident}").json())


def _whistle(client: TestClient, incident: str) -> dict[str, Any]:
    r = client.post(f"/v1/incidents/{incident}/whistle", json={"by": "dr-xu", "agency": "120"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _signalled(client: TestClient, incident: str, units: list[str]) -> list[str]:
    routes = client.get("/v1/routes").json()
    return [u for u in units if routes[u]["signals"]]


def test_units_sent_before_the_whistle_get_their_green_wave_when_it_blows(client, centre) -> None:
    incident = _call(client, centre)
    sent = client.post(f"/v1/incidents/{incident}/assign", json={}).json()
    assert sent["assigned"] and set(sent["routes"]) == set(sent["assigned"])
    assert _incident(client, incident)["corridors"] == []  # not whistled: no green wave yet
    crossing = _signalled(client, incident, sent["assigned"])
    assert crossing, "no route crossed a signal"
    body = _whistle(client, incident)
    corridors = {c["unit_id"]: c for c in _incident(client, incident)["corridors"]}
    assert set(crossing) <= set(corridors)
    assert set(body["green_waves"]) >= set(crossing)
    for uid in crossing:
        assert corridors[uid]["whistle_id"] == body["whistle"]["whistle_id"] and corridors[uid]["active"]


def test_a_unit_sent_after_the_whistle_gets_a_corridor_at_once(client, centre) -> None:
    incident = _call(client, centre)
    body = _whistle(client, incident)
    sent = set(body["assigned"])
    units = client.get("/v1/units", params={"agency": "120", "status": "available"}).json()["units"]
    extra = next(u["unit_id"] for u in units if u["unit_id"] not in sent)
    r = client.post(f"/v1/incidents/{incident}/assign", json={"units": [extra], "reason": "a second crew"})
    assert r.status_code == 200, r.text
    route = r.json()["routes"][extra]
    corridors = {c["unit_id"]: c for c in _incident(client, incident)["corridors"]}
    if route["signals"]:
        assert corridors[extra]["whistle_id"] == body["whistle"]["whistle_id"]
        assert len(corridors[extra]["signals"]) == len(route["signals"])
    else:
        assert extra not in corridors  # nothing to hold green on a route with no signal


def test_tasks_follow_their_units_and_close_with_the_incident(client, centre) -> None:
    incident = _call(client, centre, kind="medical_emergency")
    sent = client.post(f"/v1/incidents/{incident}/assign", json={}).json()["assigned"]
    amb = next(u for u in sent if client.get(f"/v1/units/{u}").json()["agency"] == "120")

    def task() -> str:
        return str(_incident(client, incident)["tasks"]["120"]["status"])

    assert task() == "dispatched"
    client.post(f"/v1/units/{amb}/status", json={"status": "en_route"})
    assert task() == "en_route"
    client.post(f"/v1/units/{amb}/status", json={"status": "on_scene"})
    assert task() == "on_scene"
    client.post(f"/v1/units/{amb}/status", json={"status": "returning"})
    assert task() == "done"
    closed = client.post(f"/v1/incidents/{incident}/status", json={"status": "closed"}).json()
    assert closed["status"] == "closed"
    assert all(t["status"] in ("done", "cancelled") for t in closed["tasks"].values())


def test_closing_a_whistled_incident_closes_tasks_frees_units_and_gives_back_every_junction(
        client, centre) -> None:
    incident = _call(client, centre)
    body = _whistle(client, incident)
    assert any(w["signals"] for w in body["green_waves"].values())
    client.post(f"/v1/incidents/{incident}/status", json={"status": "closed", "reason": "done"})
    detail = _incident(client, incident)
    assert all(t["status"] in ("done", "cancelled") for t in detail["tasks"].values())
    assert all(not c["active"] for c in detail["corridors"])
    assert all(s["status"] in ("released", "refused") for c in detail["corridors"] for s in c["signals"])
    assert all(client.get(f"/v1/units/{u}").json()["status"] == "returning" for u in body["assigned"])
    assert not set(body["assigned"]) & set(client.get("/v1/routes").json())
    feed = client.get("/v1/feeds/incidents", params={"limit": 1000}).json()["items"]
    mine = [i for i in feed if i["incident"]["incident_id"] == incident]
    last = mine[-1]
    # closing is not a retraction: one closing Update, what follows it is after the close
    assert [i["msg_type"] for i in mine if i["closing"]] == ["Update"]
    assert last["msg_type"] == "Update" and (last["closing"] or last["after_close"])
    assert all(t["status"] in ("done", "cancelled") for t in last["incident"]["tasks"].values())


def test_a_dispatcher_sends_only_their_own_agencys_units_unless_whistled_or_lent(app_client, centre) -> None:
    c = app_client
    make = key_maker(c)
    police = _auth(make("110", Role.DISPATCHER))
    medical = _auth(make("120", Role.DISPATCHER))
    supervisor = _auth(make("120", Role.SUPERVISOR))
    r = c.post("/v1/calls", headers=_auth(make("110", Role.CALL_TAKER)),
               json={"hotline": "110", "kind": "fight", "location": {"lon": centre[0], "lat": centre[1]}})
    incident = r.json()["incident_id"]
    assert set(c.get(f"/v1/incidents/{incident}", headers=supervisor).json()["tasks"]) == {"110"}
    free = c.get("/v1/units", headers=supervisor, params={"agency": "120", "status": "available"}).json()
    amb = [u["unit_id"] for u in free["units"]]
    refused = c.post(f"/v1/incidents/{incident}/assign", headers=police,
                     json={"units": [amb[0]], "reason": "injured"})
    assert refused.status_code == 403 and refused.json()["field"] == "units"
    assert "120" in refused.json()["error"]
    assert "120" not in c.get(f"/v1/incidents/{incident}", headers=supervisor).json()["tasks"]
    # mutual aid: 110 asks, 120 accepts, then the 110 dispatcher may send the ambulance
    ask = c.post(f"/v1/incidents/{incident}/mutual-aid", headers=police,
                 json={"to_agency": "120", "reason": "one ambulance, a man hurt"})
    assert ask.status_code == 201, ask.text
    request_id = ask.json()["request_id"]
    wrong = c.post(f"/v1/mutual-aid/{request_id}/answer", headers=police, json={"accepted": True})
    assert wrong.status_code == 403 and wrong.json()["field"] == "agency"
    assert c.post(f"/v1/incidents/{incident}/assign", headers=police,
                  json={"units": [amb[0]], "reason": "injured"}).status_code == 403
    yes = c.post(f"/v1/mutual-aid/{request_id}/answer", headers=medical, json={"accepted": True})
    assert yes.status_code == 200 and yes.json()["state"] == "accepted"
    lent = c.post(f"/v1/incidents/{incident}/assign", headers=police, json={"units": [amb[0]], "reason": "x"})
    assert lent.status_code == 200, lent.text
    detail = c.get(f"/v1/incidents/{incident}", headers=supervisor).json()
    assert detail["tasks"]["120"]["status"] == "dispatched"
    assert [m["state"] for m in detail["mutual_aid"]] == ["accepted"]
    # a supervisor sends any agency's unit, and the agency gets its task
    fire = c.get("/v1/units", headers=supervisor, params={"agency": "119", "status": "available"}).json()
    engine = fire["units"][0]["unit_id"]
    by_sup = c.post(f"/v1/incidents/{incident}/assign", headers=supervisor,
                    json={"units": [engine], "reason": "smoke seen"})
    assert by_sup.status_code == 200, by_sup.text
    assert "119" in c.get(f"/v1/incidents/{incident}", headers=supervisor).json()["tasks"]


def test_a_whistled_incident_lets_any_centre_send_any_agencys_units(app_client, centre) -> None:
    c = app_client
    make = key_maker(c)
    incident = _call(as_supervisor(c), centre)
    _whistle(c, incident)
    police = _auth(make("110", Role.DISPATCHER))
    free = c.get("/v1/units", params={"agency": "120", "status": "available"}).json()["units"]
    r = c.post(f"/v1/incidents/{incident}/assign", headers=police,
               json={"units": [free[0]["unit_id"]], "reason": "second ambulance"})
    assert r.status_code == 200, r.text


def test_transporting_names_the_hospital_routes_there_and_tells_the_feed(client, centre) -> None:
    incident = _call(client, centre, kind="medical_emergency")
    sent = client.post(f"/v1/incidents/{incident}/assign", json={}).json()["assigned"]
    amb = next(u for u in sent if client.get(f"/v1/units/{u}").json()["kind"] == "ambulance")
    recommended = client.get(f"/v1/incidents/{incident}/recommendation").json()["hospital"]
    for status in ("en_route", "on_scene"):
        client.post(f"/v1/units/{amb}/status", json={"status": status})
    r = client.post(f"/v1/units/{amb}/status", json={"status": "transporting"})
    assert r.status_code == 200, r.text
    route = r.json()["route"]
    assert route["purpose"] == "to_hospital" and route["hospital_id"] == recommended["hospital_id"]
    assert route["coords"] and route["eta_s"] > 0
    feed = client.get("/v1/feeds/incidents", params={"limit": 1000}).json()["items"]
    routed = [i for i in feed if i["event"] == "unit_routed" and i["incident"]["incident_id"] == incident]
    units = {u["unit_id"]: u for u in routed[-1]["incident"]["units"]}
    assert units[amb]["route"]["hospital_id"] == recommended["hospital_id"]
    assert units[amb]["status"] == "transporting" and units[amb]["route"]["arrive_by"]
    client.post(f"/v1/units/{amb}/status", json={"status": "at_hospital"})
    assert amb not in client.get("/v1/routes").json()


def test_the_crew_may_name_another_hospital_and_an_unknown_one_is_refused(client, centre) -> None:
    incident = _call(client, centre, kind="medical_emergency")
    sent = client.post(f"/v1/incidents/{incident}/assign", json={}).json()["assigned"]
    amb = next(u for u in sent if client.get(f"/v1/units/{u}").json()["kind"] == "ambulance")
    for status in ("en_route", "on_scene"):
        client.post(f"/v1/units/{amb}/status", json={"status": status})
    recommended = client.get(f"/v1/incidents/{incident}/recommendation").json()["hospital"]["hospital_id"]
    other = next(h["hospital_id"] for h in client.get("/v1/fleet").json()["hospitals"]
                 if h["hospital_id"] != recommended)
    bad = client.post(f"/v1/units/{amb}/status", json={"status": "transporting", "hospital_id": "H-nope"})
    assert bad.status_code == 422 and bad.json()["field"] == "hospital_id"
    assert client.get(f"/v1/units/{amb}").json()["status"] == "on_scene"  # nothing half-done
    ok = client.post(f"/v1/units/{amb}/status", json={"status": "transporting", "hospital_id": other})
    assert ok.json()["route"]["hospital_id"] == other


def test_a_second_process_and_a_restarted_one_see_the_same_routes_and_reroute_on_a_closure(
        client, settings, small_city, centre) -> None:
    incident = _call(client, centre, kind="medical_emergency")
    sent = client.post(f"/v1/incidents/{incident}/assign", json={}).json()
    uid = next(u for u in sent["assigned"] if len(sent["routes"][u]["coords"]) > 3)
    coords = sent["routes"][uid]["coords"]
    with TestClient(create_app(settings, network=small_city)) as other:
        as_supervisor(other)
        assert other.get(f"/v1/units/{uid}").json()["route"]["coords"] == coords
        k = len(coords) // 2 - 1
        a, b = coords[k], coords[k + 1]
        closed = other.post("/v1/roads/restrictions", json={
            "location": {"lon": (a[0] + b[0]) / 2, "lat": (a[1] + b[1]) / 2}, "reason": "burst main"})
        assert closed.status_code == 201, closed.text
        rerouted = other.get(f"/v1/units/{uid}").json()["route"]
        assert rerouted["coords"] != coords and closed.json()["restriction_id"] in rerouted["reason"]
    deadline = time.monotonic() + 5
    while client.get(f"/v1/units/{uid}").json()["route"]["coords"] != rerouted["coords"]:
        assert time.monotonic() < deadline, "the first process never saw the new route"
        time.sleep(0.05)
    with TestClient(create_app(settings, network=small_city)) as restarted:
        as_supervisor(restarted)
        assert restarted.get("/v1/routes").json()[uid]["coords"] == rerouted["coords"]
        # off-route checks work on a process that never routed the unit
        far = rerouted["coords"][0]
        restarted.post(f"/v1/units/{uid}/position", json={"lon": far[0] + 0.01, "lat": far[1] + 0.008})
        again = restarted.get(f"/v1/units/{uid}").json()["route"]
        assert again["coords"] != rerouted["coords"] and "off its route" in again["reason"]
