"""The joint intake API against a real Redis: calls become incidents, durably and exactly once."""

import time

from fastapi.testclient import TestClient

from tests.web.conftest import as_supervisor
from web.app import create_app

M_PER_DEG_LAT = 111_195.0


def body(centre, hotline="110", kind="traffic_crash", north_m=0.0, minute=0, number="13800000001",
         **extra):
    lon, lat = centre
    return {"hotline": hotline, "received_at": f"2026-05-01T08:{minute:02d}:00+08:00",
            "caller_number": number, "location": {"lon": lon, "lat": lat + north_m / M_PER_DEG_LAT},
            "kind": kind, "text": "taxi on its side, driver trapped", **extra}


def test_110_and_120_calls_50m_and_a_minute_apart_are_one_incident(client, centre) -> None:
    first = client.post("/v1/calls", json=body(centre, "110", "traffic_crash"))
    second = client.post("/v1/calls", json=body(centre, "120", "injured_person", 50, 1, "13800000002"))
    assert first.status_code == 201 and second.status_code == 201
    a, b = first.json(), second.json()
    assert not a["merged"] and b["merged"] and a["incident_id"] == b["incident_id"]
    assert "50 m" in b["reason"]
    inc = client.get(f"/v1/incidents/{a['incident_id']}").json()
    assert {"110", "120"} <= set(inc["tasks"])
    assert [c["call_id"] for c in inc["calls"]] == [a["call_id"], b["call_id"]]
    assert any("joined" in t["summary"] for t in inc["timeline"])


def test_same_idempotency_key_gives_the_same_answer_and_one_call(client, centre) -> None:
    headers = {"Idempotency-Key": "hotline-120-000042"}
    first = client.post("/v1/calls", json=body(centre, "120", "medical_emergency"), headers=headers)
    version = client.get("/healthz").json()["log_version"]
    again = client.post("/v1/calls", json=body(centre, "120", "medical_emergency"), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert client.get("/healthz").json()["log_version"] == version  # nothing new in the log
    other = client.post("/v1/calls", json=body(centre, "120", "fire"), headers=headers)
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"


def test_a_retry_without_received_at_gets_the_first_answer(client, centre) -> None:
    """A client whose first try got an ambiguous answer re-sends it a moment later: the server's
    own receipt time is not part of what makes it the same call."""
    headers = {"Idempotency-Key": "hotline-110-000077"}
    sent = {k: v for k, v in body(centre, "110", "theft").items() if k != "received_at"}
    first = client.post("/v1/calls", json=sent, headers=headers)
    time.sleep(0.01)
    again = client.post("/v1/calls", json=sent, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["call_id"] == first.json()["call_id"]
    changed = client.post("/v1/calls", json={**sent, "text": "a different call"}, headers=headers)
    assert changed.status_code == 409


def test_bad_input_names_the_field_and_loses_nothing(client, centre) -> None:
    assert client.post("/v1/calls", json=body(centre)).status_code == 201
    cases = [
        ({**body(centre), "hotline": "999"}, "hotline"),
        ({**body(centre), "kind": "alien_landing"}, "kind"),
        ({**body(centre), "received_at": "yesterday"}, "received_at"),
        ({**body(centre), "received_at": "2026-05-01T08:00:00"}, "received_at"),
        ({**body(centre), "location": {"lon": 500, "lat": 30}}, "location.lon"),
        ({**body(centre), "location": {}}, "location"),
        ({k: v for k, v in body(centre).items() if k != "hotline"}, "hotline"),
    ]
    for payload, field in cases:
        r = client.post("/v1/calls", json=payload)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["field"].startswith(field), (field, r.json())
    assert client.get("/v1/incidents").json()["count"] == 1


def test_location_outside_the_served_area_is_refused_clearly(client) -> None:
    r = client.post("/v1/calls", json=body((116.40, 39.90)))
    assert r.status_code == 422
    assert r.json()["field"] == "location" and "outside the served area" in r.json()["error"]


def test_oversized_body_is_refused(client, centre) -> None:
    r = client.post("/v1/calls", json=body(centre, text="x" * 200_000))
    assert r.status_code == 413


def test_address_only_call_is_taken(client) -> None:
    r = client.post("/v1/calls", json={"hotline": "110", "kind": "noise",
                                        "location": {"address": "Binjiang Rd 8"}})
    assert r.status_code == 201 and r.json()["incident_id"]


def test_list_filters_by_status_agency_and_time(client, centre) -> None:
    client.post("/v1/calls", json=body(centre, "110", "theft", minute=0))
    fire = client.post("/v1/calls", json=body(centre, "119", "fire", 2000, 5)).json()
    assert [i["incident_id"] for i in client.get("/v1/incidents?agency=119").json()["incidents"]] == [
        fire["incident_id"]]
    late = client.get("/v1/incidents", params={"since": "2026-05-01T08:03:00+08:00"}).json()
    assert [i["incident_id"] for i in late["incidents"]] == [fire["incident_id"]]
    client.post(f"/v1/incidents/{fire['incident_id']}/status", json={"status": "closed"})
    open_ids = [i["incident_id"] for i in client.get("/v1/incidents?status=open").json()["incidents"]]
    assert fire["incident_id"] not in open_ids and len(open_ids) == 1
    assert client.get("/v1/incidents?status=bogus").status_code == 422


def test_dispatcher_split_and_merge_over_the_api(client, centre) -> None:
    a = client.post("/v1/calls", json=body(centre, "110", "traffic_crash")).json()
    b = client.post("/v1/calls", json=body(centre, "120", "injured_person", 30, 1, "139")).json()
    assert b["merged"]
    split = client.post(f"/v1/calls/{b['call_id']}/split", json={"reason": "other crash"})
    assert split.status_code == 200 and split.json()["incident_id"] != a["incident_id"]
    merged = client.post(f"/v1/incidents/{a['incident_id']}/merge",
                         json={"source_id": split.json()["incident_id"], "reason": "same after all"})
    assert merged.status_code == 200 and merged.json()["call_count"] == 2
    assert client.post(f"/v1/incidents/{a['incident_id']}/merge",
                       json={"source_id": "I999999", "reason": "x"}).status_code == 404
    assert client.post("/v1/calls/C999999/split", json={"reason": "x"}).status_code == 404


def test_illegal_status_change_is_409_naming_allowed(client, centre) -> None:
    a = client.post("/v1/calls", json=body(centre, "110", "theft")).json()
    r = client.post(f"/v1/incidents/{a['incident_id']}/status", json={"status": "on_scene"})
    assert r.status_code == 409 and "dispatched" in r.json()["error"]


def test_state_is_rebuilt_from_the_log_by_a_new_process(settings, small_city, centre) -> None:
    with TestClient(create_app(settings, network=small_city)) as first:
        as_supervisor(first)
        ids = [first.post("/v1/calls", json=body(centre, "110", "theft", i * 1000, i)).json()
               for i in range(3)]
    with TestClient(create_app(settings, network=small_city)) as second:
        second.headers.update(first.headers)  # the key is in Redis: the new process knows it
        listed = second.get("/v1/incidents").json()
        assert {i["incident_id"] for i in listed["incidents"]} == {x["incident_id"] for x in ids}


def test_two_processes_sharing_one_log_never_lose_or_duplicate(settings, small_city, centre) -> None:
    with TestClient(create_app(settings, network=small_city)) as one, \
            TestClient(create_app(settings, network=small_city)) as two:
        as_supervisor(one, two)
        answers = []
        for i in range(10):
            c = one if i % 2 else two
            answers.append(c.post("/v1/calls", json=body(centre, "110", "theft", (i - 5) * 400, i,
                                                           f"1380000{i:04d}")).json())
        assert len({a["call_id"] for a in answers}) == 10
        assert one.get("/v1/incidents").json()["count"] == two.get("/v1/incidents").json()["count"]


def test_live_websocket_sends_snapshot_then_events_and_resumes(client, centre) -> None:
    client.post("/v1/calls", json=body(centre, "110", "theft"))
    with client.websocket_connect("/v1/live") as ws:
        snap = ws.receive_json()
        assert snap["type"] == "snapshot" and len(snap["incidents"]) == 1
        seq = snap["seq"]
        client.post("/v1/calls", json=body(centre, "120", "fire", 3000, 1))
        seen = []
        while not seen or seen[-1]["seq"] < seq + 5:  # call, incident, three tasks
            seen.append(ws.receive_json())
        assert [m["seq"] for m in seen] == list(range(seq + 1, seq + 6))
        assert seen[1]["event"]["type"] == "incident_opened" and seen[1]["incidents"]
    with client.websocket_connect(f"/v1/live?since={seq}") as ws:
        replay = [ws.receive_json() for _ in range(len(seen))]
        assert [m["seq"] for m in replay] == [m["seq"] for m in seen]
