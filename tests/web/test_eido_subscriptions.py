"""NENA-STA-024 subscribe/notify for EIDOs over a websocket: new incidents and one incident, the
initial notification (all active incidents, or an empty one), minRate and maxRate, unsubscribe,
the error codes, expiry, a revoked key; and a subscriber that reconnects loses nothing."""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

import web.eido_notify
from tests.web.eido_oracle import assert_valid_eido
from web.api_keys import Role
from web.app import create_app


def _call(client, centre, hotline="110", kind="theft", hour=8, dx=0.0) -> dict[str, Any]:
    r = client.post("/v1/calls", json={"hotline": hotline, "kind": kind,
                                       "received_at": f"2026-05-01T{hour:02d}:00:00+08:00",
                                       "location": {"lon": centre[0] + dx, "lat": centre[1]}})
    assert r.status_code == 201, r.text
    return dict(r.json())


@contextmanager
def _socket(client, key: str | None = None) -> Iterator[WebSocketTestSession]:
    auth = key or client.headers["Authorization"].split()[1]
    with client.websocket_connect("/v1/eido/ws", headers={"Authorization": f"Bearer {auth}"}) as ws:
        yield ws


def _subscribe(ws, request_id: str = "r1", **fields: Any) -> dict[str, Any]:
    ws.send_json({"subscribe": {"requestId": request_id, **fields}})
    answer = ws.receive_json()["subscribeResponse"]
    assert answer["requestId"] == request_id
    return dict(answer)


def _event(ws, ack: bool = True) -> dict[str, Any]:
    event = ws.receive_json()["event"]
    for doc in event["notification"]:
        assert_valid_eido(doc)
    if ack:
        ws.send_json({"eventResponse": {"transactionId": event["transactionId"], "statusCode": 200,
                                        "statusText": "OK"}})
    return dict(event)


def _incidents(event: dict[str, Any]) -> list[str]:
    return [doc["incidentComponent"]["internalIncidentId"] for doc in event["notification"]]


def test_new_with_nothing_active_gets_an_empty_first_notification_then_each_new_one(client, centre) -> None:
    with _socket(client) as ws:
        answer = _subscribe(ws, requestType="EIDO", requestSubType="new")
        assert answer["statusCode"] == 200 and answer["subscriptionId"] and answer["expires"] > 0
        initial = _event(ws)
        assert initial["subscriptionId"] == answer["subscriptionId"] and initial["notification"] == []
        a = _call(client, centre, hour=8)
        assert _incidents(_event(ws)) == [a["incident_id"]]
        # a change to a known incident is not news to a `new` subscription; the next new one is
        client.post(f"/v1/incidents/{a['incident_id']}/status", json={"status": "closed"})
        b = _call(client, centre, hour=11)
        assert _incidents(_event(ws)) == [b["incident_id"]]


def test_new_gets_every_active_incident_first(client, centre) -> None:
    a = _call(client, centre, hour=8)
    b = _call(client, centre, hotline="120", kind="medical_emergency", hour=9, dx=0.002)
    c = _call(client, centre, hour=10, dx=0.004)
    client.post(f"/v1/incidents/{c['incident_id']}/status", json={"status": "closed"})
    with _socket(client) as ws:
        _subscribe(ws, requestType="EIDO", requestSubType="new")
        assert sorted(_incidents(_event(ws))) == sorted([a["incident_id"], b["incident_id"]])


def test_single_gets_the_incident_then_each_change(client, centre) -> None:
    a = _call(client, centre, hotline="120", kind="medical_emergency")
    with _socket(client) as ws:
        _subscribe(ws, requestType="EIDO", requestSubType="single", incidentId=a["incident_id"])
        [doc] = _event(ws)["notification"]
        assert doc["incidentComponent"]["incidentStatusInternalText"][0] == "open"
        assert client.post(f"/v1/incidents/{a['incident_id']}/assign", json={}).status_code == 200
        [doc] = _event(ws)["notification"]
        assert doc["incidentComponent"]["incidentStatusInternalText"][0] == "dispatched"
        assert doc["emergencyResourceComponent"]


def test_max_rate_sends_what_changed_meanwhile_together(client, centre) -> None:
    a = _call(client, centre, hotline="120", kind="medical_emergency", hour=8)
    with _socket(client) as ws:
        _subscribe(ws, requestType="EIDO", requestSubType="single", incidentId=a["incident_id"], maxRate=4)
        _event(ws)
        for _ in range(2):  # two more calls about it, well within the 4 s
            r = client.post("/v1/calls", json={"hotline": "120", "kind": "medical_emergency",
                                               "received_at": "2026-05-01T08:01:00+08:00",
                                               "location": {"lon": centre[0], "lat": centre[1]}})
            assert r.json()["incident_id"] == a["incident_id"]
        [doc] = _event(ws)["notification"]
        assert len(doc["callComponent"]) == 3  # one notification, the incident as it stands


def test_min_rate_sends_the_incident_as_it_stands_when_nothing_changes(client, centre) -> None:
    a = _call(client, centre)
    with _socket(client) as ws:
        _subscribe(ws, requestType="EIDO", requestSubType="single", incidentId=a["incident_id"], minRate=1)
        first = _event(ws)
        again = _event(ws)  # nothing changed, yet one came
        assert again["transactionId"] != first["transactionId"]
        assert _incidents(again) == [a["incident_id"]]
    with _socket(client) as ws:
        _subscribe(ws, requestType="EIDO", requestSubType="new", minRate=1)
        _event(ws)
        assert _event(ws)["notification"] == []  # `new`: an empty one


def test_unsubscribe_ends_only_that_subscription(client, centre) -> None:
    with _socket(client) as ws:
        old = _subscribe(ws, requestType="EIDO", requestSubType="new")["subscriptionId"]
        _event(ws)
        ws.send_json({"unsubscribe": {"requestId": "u1", "subscriptionId": old}})
        assert ws.receive_json()["unsubscribeResponse"] == {
            "requestId": "u1", "subscriptionId": old, "statusCode": 200, "statusText": "OK"}
        new = _subscribe(ws, "r2", requestType="EIDO", requestSubType="new")["subscriptionId"]
        _event(ws)
        a = _call(client, centre)
        event = _event(ws)
        assert event["subscriptionId"] == new and _incidents(event) == [a["incident_id"]]
        ws.send_json({"unsubscribe": {"requestId": "u2", "subscriptionId": old}})
        assert ws.receive_json()["unsubscribeResponse"]["statusCode"] == 481


def test_a_subscriber_that_reconnects_loses_nothing(client, centre, settings, small_city) -> None:
    key = client.headers["Authorization"].split()[1]
    with _socket(client) as ws:
        sid = _subscribe(ws, requestType="EIDO", requestSubType="new")["subscriptionId"]
        _event(ws)
        a = _call(client, centre, hour=8)
        assert _incidents(_event(ws, ack=False)) == [a["incident_id"]]  # seen, never acknowledged
    b = _call(client, centre, hour=10)  # while nobody listens
    c = _call(client, centre, hour=12)
    with _socket(client) as ws:
        answer = _subscribe(ws, subscriptionId=sid)
        assert answer["statusCode"] == 200 and answer["subscriptionId"] == sid
        got = _incidents(_event(ws))
        assert got == [a["incident_id"], b["incident_id"], c["incident_id"]]
    d = _call(client, centre, hour=14)
    with _socket(client) as ws:  # acknowledged ones are not sent again
        _subscribe(ws, subscriptionId=sid)
        assert _incidents(_event(ws)) == [d["incident_id"]]
    e = _call(client, centre, hour=16)
    # another server process on the same Redis picks the subscription up where it was left
    with TestClient(create_app(settings, network=small_city)) as other, _socket(other, key) as ws:
        assert _subscribe(ws, subscriptionId=sid)["statusCode"] == 200
        assert _incidents(_event(ws)) == [e["incident_id"]]


@pytest.mark.parametrize(("subscribe", "code"), [
    ({"requestType": "EIDO", "requestSubType": "new"}, 400),  # no requestId
    ({"requestId": "x", "requestType": "EIDO", "requestSubType": "resource"}, 400),
    ({"requestId": "x", "requestType": "CAP", "requestSubType": "new"}, 400),
    ({"requestId": "x", "requestType": "EIDO", "requestSubType": "single"}, 400),  # which one?
    ({"requestId": "x", "requestType": "EIDO", "requestSubType": "single", "incidentId": "I-nope"}, 404),
    ({"requestId": "x", "requestType": "EIDO", "requestSubType": "new", "requestAccepts": "text/xml"}, 406),
    ({"requestId": "x", "requestType": "EIDO", "requestSubType": "new", "minRate": "soon"}, 400),
    ({"requestId": "x", "subscriptionId": "urn:nobody"}, 481),
])
def test_a_subscribe_that_cannot_be_served_says_why(client, subscribe, code) -> None:
    with _socket(client) as ws:
        ws.send_json({"subscribe": subscribe})
        answer = ws.receive_json()["subscribeResponse"]
        assert answer["statusCode"] == code and answer["statusText"], answer
        assert "subscriptionId" not in answer


def test_unknown_messages_are_501_and_non_json_closes(client) -> None:
    with _socket(client) as ws:
        ws.send_json({"hello": {"requestId": "h1"}})
        assert ws.receive_json() == {"response": {"requestId": "h1", "statusCode": 501,
                                                  "statusText": "Not implemented"}}
        ws.send_text("not json")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1007


def test_an_incident_not_in_the_keys_feed_is_404_and_a_subscription_is_the_keys_own(
        app_client, make_key, centre) -> None:
    c = app_client
    c.headers["Authorization"] = f"Bearer {make_key('110', Role.SUPERVISOR)}"
    theft = _call(c, centre)
    fire_reader, police_reader = make_key("119", Role.FEED_READER), make_key("110", Role.FEED_READER)
    with _socket(c, fire_reader) as ws:
        answer = _subscribe(ws, requestType="EIDO", requestSubType="single", incidentId=theft["incident_id"])
        assert answer["statusCode"] == 404
        sid = _subscribe(ws, "r2", requestType="EIDO", requestSubType="new")["subscriptionId"]
        assert _event(ws)["notification"] == []  # the theft is not 119's
    with _socket(c, police_reader) as ws:
        assert _subscribe(ws, subscriptionId=sid)["statusCode"] == 403


def test_expiry_terminates_and_revocation_closes(client, make_key, centre, monkeypatch) -> None:
    monkeypatch.setattr(web.eido_notify, "EXPIRES_S", (1, 3600, 86400))
    with _socket(client) as ws:
        sid = _subscribe(ws, requestType="EIDO", requestSubType="new", expires=1)["subscriptionId"]
        _event(ws)
        terminate = ws.receive_json()["terminate"]
        assert terminate["subscriptionId"] == sid and terminate["requestId"]
        ws.send_json({"terminateResponse": {"requestId": terminate["requestId"], "subscriptionId": sid,
                                            "statusCode": 200, "statusText": "OK"}})
        assert _subscribe(ws, "r2", subscriptionId=sid)["statusCode"] == 481
    key = make_key("120", Role.FEED_READER)
    with _socket(client, key) as ws:
        _subscribe(ws, requestType="EIDO", requestSubType="new")
        _event(ws)
        client.portal.call(lambda: client.app.state.backend.keys.revoke(  # type: ignore[union-attr]
            key.split("_")[1], datetime.datetime.now()))
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
        assert closed.value.code == 4401
