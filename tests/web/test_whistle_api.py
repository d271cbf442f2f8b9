"""The whistle over HTTP: one click summons, sends units, and silence escalates on time."""

import time

from fastapi.testclient import TestClient

from tests.web.conftest import as_supervisor
from web.app import create_app


def drowning(client, centre) -> str:
    r = client.post("/v1/calls", json={"hotline": "120", "kind": "drowning",
                                       "location": {"lon": centre[0], "lat": centre[1]}})
    return r.json()["incident_id"]


def test_blowing_summons_conveners_and_sends_units(client, centre) -> None:
    incident = drowning(client, centre)
    r = client.post(f"/v1/incidents/{incident}/whistle", json={"by": "dr-xu", "agency": "120"})
    assert r.status_code == 201, r.text
    body = r.json()
    roster = client.get("/v1/roster").json()
    assert {a: s["name"] for a, s in body["whistle"]["summons"].items()} == {
        a: d["convener"]["name"] for a, d in roster["duties"].items()}
    assert len(body["assigned"]) >= 3 and body["routes"]
    wid = body["whistle"]["whistle_id"]
    ack = client.post(f"/v1/whistles/{wid}/ack", json={"agency": "110", "by": "Officer"})
    assert ack.json()["summons"]["110"]["acknowledged_at"]
    again = client.post(f"/v1/whistles/{wid}/ack", json={"agency": "110", "by": "Officer"})
    assert again.status_code == 409


def test_a_dispatcher_of_a_centre_that_does_not_lead_today_gets_403(client, centre) -> None:
    incident = drowning(client, centre)
    lead = client.get("/v1/roster").json()["lead"]
    outsider = next(a for a in ("110", "122") if a != lead)
    r = client.post(f"/v1/incidents/{incident}/whistle", json={"by": "x", "agency": outsider})
    assert r.status_code == 403 and r.json()["field"] == "by_agency"


def test_roster_can_be_planned_ahead_and_shows_its_history(client) -> None:
    duties = {a: {lvl: {"name": f"{a} {lvl}", "channel": "tel:1"} for lvl in ("convener", "backup", "chief")}
              for a in ("110", "119", "120", "122")}
    r = client.put("/v1/roster/2031-01-02", json={"lead": "110", "duties": duties, "by": "sup"})
    assert r.status_code == 200 and r.json()["lead"] == "110" and len(r.json()["history"]) == 1
    bad = client.put("/v1/roster/2031-01-03", json={"lead": "122", "duties": duties})
    assert bad.status_code == 422 and bad.json()["field"] == "lead"
    assert client.get("/v1/roster/not-a-day").status_code == 422


def test_an_unanswered_summons_escalates_on_time_in_a_live_server(settings, small_city, centre) -> None:
    fast = settings.model_copy(update={"ack_deadline_s": 0.5})
    with TestClient(create_app(fast, network=small_city)) as client:
        as_supervisor(client)
        incident = drowning(client, centre)
        wid = client.post(f"/v1/incidents/{incident}/whistle",
                          json={"by": "d", "agency": "119"}).json()["whistle"]["whistle_id"]
        for agency in ("119", "120", "122"):
            client.post(f"/v1/whistles/{wid}/ack", json={"agency": agency, "by": "x"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            s = client.get(f"/v1/whistles/{wid}").json()["summons"]["110"]
            if s["unanswered"]:
                break
            time.sleep(0.1)
        assert [step["level"] for step in s["steps"]] == ["convener", "backup", "chief"]
        assert s["unanswered"] and s["acknowledged_at"] is None


def test_whistle_asks_the_signals_for_a_green_wave_and_release_gives_them_back(client, centre) -> None:
    incident = drowning(client, centre)
    body = client.post(f"/v1/incidents/{incident}/whistle", json={"by": "d", "agency": "119"}).json()
    waves = body["green_waves"]
    assert waves and set(waves) == set(body["routes"])
    with_signals = {u: w for u, w in waves.items() if w["signals"]}
    assert with_signals, "no assigned route crossed a signal"
    for w in with_signals.values():  # two units crossing one junction: the later one may be queued
        assert w["eta_green_s"] < w["eta_s"] and w["granted"] + w["queued"] >= 1
    assert any(w["granted"] >= 1 for w in with_signals.values())
    detail = client.get(f"/v1/incidents/{incident}").json()
    corridors = {c["unit_id"]: c for c in detail["corridors"]}
    uid = next(iter(with_signals))
    assert [s["signal_id"] for s in corridors[uid]["signals"]] == sorted(
        (s["signal_id"] for s in corridors[uid]["signals"]),
        key=lambda sid: next(s["eta"] for s in corridors[uid]["signals"] if s["signal_id"] == sid))
    assert any(s["status"] == "granted" for s in corridors[uid]["signals"])
    assert any("green wave requested" in t["summary"] for t in detail["timeline"])
    client.post(f"/v1/units/{uid}/status", json={"status": "en_route"})
    client.post(f"/v1/units/{uid}/release", json={"status": "returning", "reason": "stood down"})
    after = {c["unit_id"]: c for c in client.get(f"/v1/incidents/{incident}").json()["corridors"]}
    assert all(s["status"] in ("released", "refused") for s in after[uid]["signals"])
