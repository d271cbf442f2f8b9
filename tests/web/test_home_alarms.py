"""Home alarms end to end, against a real mosquitto (per-gateway passwords and access list) and
a real Redis: alarm to incident, flapping, verification answered and unanswered, a restart in
the middle of a verification, bad messages answered with the field named, device health, a
neighbour's call joining the alarm's incident, and the care plan's field rules on every way out."""

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dispatch.clock import SimulatedClock
from web.api_keys import Role
from web.app import create_app
from web.mqtt_broker import MosquittoBroker
from web.settings import Settings

from .conftest import as_supervisor, key_maker

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
GATEWAYS = ("GW-JB01", "GW-XQ01")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    server = MosquittoBroker(Path(tmp_path_factory.mktemp("mosquitto")))
    server.passwords.kept_for_demo(list(GATEWAYS))
    server.start()
    yield server
    server.stop()


def password(broker: MosquittoBroker, gateway: str) -> str:
    return (broker.folder / "gateways" / gateway).read_text().strip()


def publish(broker: MosquittoBroker, gateway: str, topic: str, body: dict[str, Any] | str) -> None:
    """The documented way a gateway raises an alarm: mosquitto_pub, as that gateway's user."""
    payload = body if isinstance(body, str) else json.dumps(body)
    subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            "127.0.0.1",
            "-p",
            str(broker.port),
            "-u",
            gateway,
            "-P",
            password(broker, gateway),
            "-q",
            "1",
            "-t",
            topic,
            "-m",
            payload,
        ],
        check=True,
        capture_output=True,
        timeout=10,
    )


def until(check: Callable[[], Any], what: str, timeout_s: float = 15.0) -> Any:
    """Wait for a condition the server reaches asynchronously (an MQTT message taken in)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
def home_settings(settings: Settings, broker: MosquittoBroker) -> Settings:
    return settings.model_copy(update={"mqtt_url": broker.url, "device_watch_s": 0.2})


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


def started(home_settings: Settings, small_city, clock: SimulatedClock) -> TestClient:
    c = TestClient(create_app(home_settings, network=small_city, clock=clock))
    c.__enter__()
    until(lambda: c.app.state.backend.mqtt.subscribed.is_set(), "subscribed to the broker")  # type: ignore[union-attr]
    return as_supervisor(c)


@pytest.fixture
def homes(home_settings: Settings, small_city, clock: SimulatedClock) -> Iterator[TestClient]:
    c = started(home_settings, small_city, clock)
    try:
        yield c
    finally:
        c.__exit__(None, None, None)


def alarms(c: TestClient, **query: str) -> list[dict[str, Any]]:
    r = c.get("/v1/alarms", params=query)
    assert r.status_code == 200, r.text
    return r.json()["alarms"]


def smoke(at: datetime = T0, message_id: str = "sm-1") -> dict[str, Any]:
    return {"kind": "smoke", "at": at.isoformat(), "message_id": message_id}


def test_a_smoke_alarm_over_mqtt_becomes_one_incident_for_119_and_120(homes, broker) -> None:
    publish(broker, "GW-JB01", "homes/GW-JB01/SM-R001/alarm", smoke())
    [alarm] = until(lambda: alarms(homes, status="escalated"), "the alarm escalated")
    assert alarm["via"] == "mqtt" and alarm["device_kind"] == "smoke_alarm"
    incident = homes.get(f"/v1/incidents/{alarm['incident_id']}").json()
    assert incident["kind"] == "home_fire_alarm"
    assert set(incident["tasks"]) == {"119", "120"}
    [task] = alarm["responder_tasks"]
    assert task["responder_id"] == "CR-JB" and "covers the home's area" in task["reason"]


def test_a_flapping_device_makes_one_alarm_with_a_count(homes, broker) -> None:
    for i in range(5):
        publish(broker, "GW-JB01", "homes/GW-JB01/SM-R001/alarm", smoke(T0 + timedelta(seconds=i), f"f{i}"))
    publish(broker, "GW-JB01", "homes/GW-JB01/SM-R001/alarm", smoke(T0, "f4"))  # redelivered: counts once
    publish(broker, "GW-JB01", "homes/GW-JB01/SM-R001/alarm", smoke(T0 + timedelta(seconds=9), "f9"))
    until(lambda: [a for a in alarms(homes) if a["count"] == 6], "six alarms counted")
    assert len(alarms(homes)) == 1
    assert homes.get("/v1/incidents").json()["count"] == 1


def error_reader(broker: MosquittoBroker, gateway: str, count: int) -> subprocess.Popen[str]:
    reader = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(broker.port),
            "-u",
            gateway,
            "-P",
            password(broker, gateway),
            "-t",
            f"homes/{gateway}/errors",
            "-C",
            str(count),
            "-W",
            "15",
            "-q",
            "1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # subscribed before the bad messages go out
    return reader


def test_bad_messages_are_answered_on_the_gateways_error_topic_with_the_field(homes, broker) -> None:
    reader = error_reader(broker, "GW-JB01", 4)
    publish(broker, "GW-JB01", "homes/GW-JB01/SM-R001/alarm", {"kind": "smok", "at": T0.isoformat()})
    publish(broker, "GW-JB01", "homes/GW-JB01/SM-R001/alarm", "not json")
    publish(broker, "GW-JB01", "homes/GW-JB01/NOPE-1/heartbeat", {"at": T0.isoformat()})
    publish(broker, "GW-JB01", "homes/GW-JB01/SM-R002/alarm", smoke())  # another gateway's device
    out, _ = reader.communicate(timeout=20)
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["field"] for a in answers] == ["kind", "body", "device_id", "gateway_id"]
    assert answers[0]["topic"] == "homes/GW-JB01/SM-R001/alarm"
    assert homes.app.state.backend.mqtt.refused == 4  # type: ignore[union-attr]
    assert alarms(homes) == []


def test_a_gateway_cannot_publish_for_another_gateway(homes, broker) -> None:
    # The access list drops it at the broker: the coordinator never sees it.
    publish(broker, "GW-XQ01", "homes/GW-JB01/SM-R001/alarm", smoke())
    publish(
        broker,
        "GW-JB01",
        "homes/GW-JB01/WB-R001/alarm",
        {"kind": "heart_rate", "at": T0.isoformat(), "value": 70},
    )
    until(lambda: alarms(homes), "the second alarm arrived")
    assert [a["device_id"] for a in alarms(homes)] == ["WB-R001"]


def test_http_push_refuses_a_bad_message_naming_it_and_takes_good_ones(homes) -> None:
    bad = homes.post(
        "/v1/devices/messages",
        json={
            "messages": [
                {"type": "alarm", "device_id": "SOS-R002", "kind": "sos", "at": T0.isoformat()},
                {"type": "alarm", "device_id": "SOS-R002", "kind": "panic", "at": T0.isoformat()},
            ]
        },
    )
    assert bad.status_code == 422 and bad.json()["field"].startswith("messages.1.alarm.kind")
    unknown = homes.post(
        "/v1/devices/messages",
        json={"messages": [{"type": "heartbeat", "device_id": "NOPE", "at": T0.isoformat()}]},
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "messages[0].device_id"
    assert alarms(homes) == []  # nothing half done
    ok = homes.post(
        "/v1/devices/messages",
        json={
            "messages": [
                {
                    "type": "alarm",
                    "device_id": "SOS-R002",
                    "kind": "sos",
                    "at": T0.isoformat(),
                    "message_id": "p1",
                },
                {"type": "battery", "device_id": "SOS-R002", "at": T0.isoformat(), "level": 9},
            ]
        },
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["results"][0]["alarm_id"] and ok.json()["results"][0]["repeat"] is False
    [alarm] = alarms(homes)
    assert alarm["status"] == "verifying" and alarm["steps"][0]["action"] == "call_resident"
    [visit] = homes.get("/v1/devices/maintenance").json()["tasks"]
    assert visit["reason"] == "low_battery" and visit["device_id"] == "SOS-R002"
    assert homes.get("/v1/incidents").json()["count"] == 0  # a flat battery is never an emergency


def test_verification_answered_needs_help_calls_120(homes) -> None:
    homes.post(
        "/v1/devices/messages",
        json={"messages": [{"type": "alarm", "device_id": "SOS-R002", "kind": "sos", "at": T0.isoformat()}]},
    )
    [alarm] = alarms(homes)
    r = homes.post(
        f"/v1/alarms/{alarm['alarm_id']}/answer", json={"outcome": "needs_help", "by": "operator 3"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "escalated"
    incident = homes.get(f"/v1/incidents/{r.json()['incident_id']}").json()
    assert incident["kind"] == "home_sos" and list(incident["tasks"]) == ["120"]
    again = homes.post(f"/v1/alarms/{alarm['alarm_id']}/answer", json={"outcome": "all_well", "by": "x"})
    assert again.status_code == 409 and again.json()["field"] == "alarm_id"


def test_a_restart_in_the_middle_of_a_verification_resumes_its_deadlines(
    home_settings, small_city, clock, broker
) -> None:
    first = started(home_settings, small_city, clock)
    try:
        publish(broker, "GW-JB01", "homes/GW-JB01/WB-R001/alarm", {"kind": "fall", "at": T0.isoformat()})
        [alarm] = until(lambda: alarms(first, status="verifying"), "the fall alarm verifying")
    finally:
        first.__exit__(None, None, None)
    clock.advance(61)  # the resident's call-back deadline passed while no server ran
    second = started(home_settings, small_city, clock)
    try:

        def step() -> str:
            return alarms(second)[0]["steps"][-1]["action"]

        until(lambda: step() == "call_contact", "the contact is called after the restart")
        [now] = alarms(second)
        assert now["steps"][0]["outcome"] == "timed_out"
        assert now["steps"][1]["deadline"] == (T0 + timedelta(seconds=180)).isoformat()
        clock.advance(120)
        [done] = until(lambda: alarms(second, status="escalated"), "no answer from the contact: 120")
        assert done["alarm_id"] == alarm["alarm_id"]
        assert second.get(f"/v1/incidents/{done['incident_id']}").json()["kind"] == "home_fall"
    finally:
        second.__exit__(None, None, None)


def test_a_neighbours_119_call_joins_the_alarms_incident_with_the_reason(homes, broker) -> None:
    publish(broker, "GW-JB01", "homes/GW-JB01/SM-R001/alarm", smoke())
    [alarm] = until(lambda: alarms(homes, status="escalated"), "the alarm escalated")
    r = homes.post(
        "/v1/calls",
        json={
            "hotline": "119",
            "kind": "fire",
            "text": "smoke from the old man's flat",
            "received_at": (T0 + timedelta(minutes=2)).isoformat(),
            "location": {"lon": 119.9606, "lat": 30.0509},
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["incident_id"] == alarm["incident_id"]
    incident = homes.get(f"/v1/incidents/{alarm['incident_id']}").json()
    [_, neighbour] = incident["calls"]
    assert neighbour["merged"] and neighbour["reason"]


def test_the_care_plan_shows_only_to_120_supervisors_and_the_responder_sent(homes, broker) -> None:
    publish(broker, "GW-JB01", "homes/GW-JB01/SM-R001/alarm", smoke())
    [alarm] = until(lambda: alarms(homes, status="escalated"), "the alarm escalated")
    make = key_maker(homes)
    backend = homes.app.state.backend  # type: ignore[union-attr]

    def responder_key(responder_id: str) -> str:
        plain, _ = homes.portal.call(
            lambda: backend.keys.create(
                f"responder-{responder_id}",
                "110",
                [Role.COMMUNITY_RESPONDER],
                datetime.now(UTC),
                responder_id=responder_id,
            )
        )
        return plain

    def read(key: str, path: str) -> dict[str, Any]:
        r = homes.get(path, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        return r.json()

    resident = "/v1/register/residents/R-001"
    for key, sees in (
        (make("120", Role.DISPATCHER), True),
        (make("110", Role.SUPERVISOR), True),
        (make("110", Role.DISPATCHER), False),
        (make("119", Role.DISPATCHER), False),
        (responder_key("CR-JB"), True),
    ):
        record = read(key, resident)
        assert ("care" in record["details"]) == sees, record
        assert "assigned_responders" not in record
        assert record["name"] and record["contacts"]  # who to call is not medical
    # a responder not sent there reads nothing of the home, not even who lives in it
    elsewhere = homes.get(resident, headers={"Authorization": f"Bearer {responder_key('CR-XQ')}"})
    assert elsewhere.status_code == 403 and elsewhere.json()["field"] == "resident_id"
    for key, sees in ((make("120", Role.DISPATCHER), True), (make("119", Role.DISPATCHER), False)):
        view = read(key, f"/v1/alarms/{alarm['alarm_id']}")
        assert ("care" in view["resident"]["details"]) == sees
        calls = read(key, f"/v1/incidents/{alarm['incident_id']}")["calls"]
        assert all("care" not in c["details"] for c in calls)  # the alarm's call carries no care plan
        feed = read(make("119", Role.FEED_READER), "/v1/feeds/incidents")["items"]
        assert all("care" not in json.dumps(item) for item in feed)
    audit = homes.get("/v1/audit", params={"kind": "read"}).json()["entries"]
    reads = [e for e in audit if "R-001" in e.get("revealed", {})]
    assert reads and all(e["revealed"]["R-001"] == ["details.care"] for e in reads)
    assert {e["action"] for e in reads} >= {
        "GET /v1/register/residents/{resident_id}",
        "GET /v1/alarms/{alarm_id}",
    }


def test_a_responder_sees_and_reports_their_own_task_and_it_reaches_the_incident(homes, broker) -> None:
    publish(broker, "GW-JB01", "homes/GW-JB01/SM-R001/alarm", smoke())
    [alarm] = until(lambda: alarms(homes, status="escalated"), "the alarm escalated")
    backend = homes.app.state.backend  # type: ignore[union-attr]
    plain, _ = homes.portal.call(
        lambda: backend.keys.create(
            "grid-worker", "110", [Role.COMMUNITY_RESPONDER], datetime.now(UTC), responder_id="CR-JB"
        )
    )
    other, _ = homes.portal.call(
        lambda: backend.keys.create(
            "village-team", "110", [Role.COMMUNITY_RESPONDER], datetime.now(UTC), responder_id="CR-XQ"
        )
    )
    me, them = {"Authorization": f"Bearer {plain}"}, {"Authorization": f"Bearer {other}"}
    [task] = homes.get("/v1/responder-tasks", headers=me).json()["tasks"]
    assert homes.get("/v1/responder-tasks", headers=them).json()["tasks"] == []
    refused = homes.post(
        f"/v1/responder-tasks/{task['task_id']}/report", headers=them, json={"report": "accepted"}
    )
    assert refused.status_code == 403 and refused.json()["field"] == "task_id"
    for body in (
        {"report": "accepted"},
        {"report": "arrived"},
        {"report": "outcome", "outcome": "needs_help", "note": "resident out, door forced"},
    ):
        r = homes.post(f"/v1/responder-tasks/{task['task_id']}/report", headers=me, json=body)
        assert r.status_code == 200, r.text
    assert r.json()["accepted_at"] and r.json()["arrived_at"] and r.json()["outcome"] == "needs_help"
    timeline = homes.get(f"/v1/incidents/{alarm['incident_id']}").json()["timeline"]
    assert sum(1 for line in timeline if line["type"] == "responder_reported") == 3


def test_a_silent_device_becomes_a_visit_and_is_closed_when_heard_again(homes, clock, broker) -> None:
    clock.advance(700)  # past two 5-minute heartbeats since the register was imported
    listed = until(
        lambda: (
            homes.get("/v1/devices/maintenance").json()["count"] == 6
            and homes.get("/v1/devices/maintenance").json()
        ),
        "six silent devices to visit",
    )
    assert {t["reason"] for t in listed["tasks"]} == {"silent"}
    publish(
        broker, "GW-JB01", "homes/GW-JB01/SM-R001/heartbeat", {"at": clock.now().isoformat(), "battery": 90}
    )
    until(lambda: homes.get("/v1/devices/maintenance").json()["count"] == 5, "heard again: closed")
    closed = homes.get("/v1/devices/maintenance", params={"open": "false"}).json()["tasks"]
    assert any(t["device_id"] == "SM-R001" and t["close_reason"] == "heard again" for t in closed)
    assert homes.get("/v1/incidents").json()["count"] == 0


def test_a_welfare_check_reported_from_the_responders_page_calls_120_and_ends_care_access(homes) -> None:
    page = homes.get("/responder", headers={"Authorization": ""})
    assert page.status_code == 200 and "responder.js" in page.text  # the page needs no key
    pushed = homes.post("/v1/devices/messages", json={"messages": [
        {"type": "alarm", "device_id": "MS-R001", "kind": "no_motion", "at": T0.isoformat(), "value": 13}]})
    assert pushed.status_code == 200, pushed.text
    backend = homes.app.state.backend  # type: ignore[union-attr]
    plain, _ = homes.portal.call(
        lambda: backend.keys.create(
            "grid-worker", "110", [Role.COMMUNITY_RESPONDER], datetime.now(UTC), responder_id="CR-JB"
        )
    )
    me = {"Authorization": f"Bearer {plain}"}
    assert homes.get("/v1/whoami", headers=me).json()["responder_id"] == "CR-JB"
    [task] = homes.get("/v1/responder-tasks", headers=me).json()["tasks"]
    assert task["alarm_kind"] == "no_motion" and task["home"]["address"] == "江滨路12号3单元201"
    assert "care" not in json.dumps(task)  # the list carries no care plan; the record is read on purpose
    record = homes.get(f"/v1/register/residents/{task['resident_id']}", headers=me).json()
    assert record["details"]["care"]["medication"]  # sent there, the visit open: the care plan shows

    def say(**body: str) -> Any:
        return homes.post(f"/v1/responder-tasks/{task['task_id']}/report", headers=me, json=body)

    assert say(report="outcome", outcome="other").json()["field"] == "note"
    for body in ({"report": "accepted"}, {"report": "arrived"},
                 {"report": "outcome", "outcome": "needs_120", "note": "on the floor, confused"}):
        r = say(**body)
        assert r.status_code == 200, r.text
    assert say(report="outcome", outcome="all_well").status_code == 409
    [alarm] = alarms(homes)
    assert alarm["status"] == "escalated"
    incident = homes.get(f"/v1/incidents/{alarm['incident_id']}").json()
    assert incident["kind"] == "medical_emergency" and list(incident["tasks"]) == ["120"]
    assert any("needs 120" in line["summary"] and "on the floor" in line["summary"]
               for line in incident["timeline"]), incident["timeline"]
    after = homes.get(f"/v1/register/residents/{task['resident_id']}", headers=me).json()
    assert "care" not in after["details"]  # the visit is over: the care plan is 120's now
    audit = homes.get("/v1/audit", params={"kind": "read"}).json()["entries"]
    assert [e["revealed"] for e in audit if e["client_id"] == "grid-worker"] == [{"R-001": ["details.care"]}]


def test_the_map_shows_homes_and_the_alarms_in_hand_but_never_a_care_plan(homes, broker) -> None:
    publish(broker, "GW-JB01", "homes/GW-JB01/SM-R001/alarm", smoke())
    homes.post("/v1/devices/messages", json={"messages": [
        {"type": "alarm", "device_id": "SOS-R002", "kind": "sos", "at": T0.isoformat()}]})
    until(lambda: len(alarms(homes)) == 2, "both alarms in")
    layer = homes.get("/v1/map/homes").json()
    assert {h["resident_id"] for h in layer["residents"]} == {"R-001", "R-002"}
    by_kind = {a["kind"]: a for a in layer["alarms"]}
    assert by_kind["smoke"]["status"] == "escalated" and by_kind["smoke"]["incident_id"]
    assert by_kind["sos"]["status"] == "verifying" and by_kind["sos"]["step"] == "call_resident"
    assert "care" not in json.dumps(layer) and "amlodipine" not in json.dumps(layer)
    sos = by_kind["sos"]["alarm_id"]
    homes.post(f"/v1/alarms/{sos}/answer", json={"outcome": "all_well", "by": "operator 2"})
    assert [a["kind"] for a in homes.get("/v1/map/homes").json()["alarms"]] == ["smoke"]  # resolved: off
    reader = key_maker(homes)("119", Role.FEED_READER)
    refused = homes.get("/v1/map/homes", headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403
