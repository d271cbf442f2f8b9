"""The whole authorisation matrix: every endpoint in the access table x every role x every agency,
against the running app; plus the table covers every route, 401 and 403 say what is missing."""

from typing import Any

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from web.access import ACCESS, TRAINING_ONLY, Scope
from web.api_keys import AGENCIES, Role

SUBJECT = "120"  # the agency every scoped request below acts for
NOPE = "I-nope"


def device_units(c: TestClient) -> dict[str, str]:
    """One unit per agency for the vehicle-device keys; the 120 one is the requests' subject."""
    out: dict[str, str] = {}
    for u in sorted(c.app.state.backend.service.state.units.values(), key=lambda u: u.unit_id):  # type: ignore[union-attr]
        out.setdefault(u.agency, u.unit_id)
    return out


def requests_for(unit: str, lon: float, lat: float) -> dict[str, tuple[str, str, Any]]:
    """One concrete request per table entry. Bodies that would create something lasting (a
    webhook, a unit, a roster) are left invalid on purpose: past the access check they get 422,
    which is all the matrix needs to see."""
    call = {"hotline": SUBJECT, "kind": "medical_emergency", "location": {"lon": lon, "lat": lat}}
    fix = {"lon": lon, "lat": lat}
    return {
        "GET /": ("GET", "/", None),
        "GET /healthz": ("GET", "/healthz", None),
        "GET /docs": ("GET", "/docs", None),
        "GET /responder": ("GET", "/responder", None),
        "GET /v1/whoami": ("GET", "/v1/whoami", None),
        "GET /v1/centre": ("GET", "/v1/centre", None),
        "POST /v1/calls": ("POST", "/v1/calls", call),
        "GET /v1/calls/{call_id}": ("GET", "/v1/calls/C-nope", None),
        "POST /v1/calls/{call_id}/split": ("POST", "/v1/calls/C-nope/split", {"reason": "x"}),
        "POST /v1/calls/eido": ("POST", f"/v1/calls/eido?hotline={SUBJECT}", {"callComponent": "none"}),
        "GET /v1/incidents": ("GET", "/v1/incidents", None),
        "GET /v1/incidents/{incident_id}": ("GET", f"/v1/incidents/{NOPE}", None),
        "GET /v1/incidents/{incident_id}/eido": ("GET", f"/v1/incidents/{NOPE}/eido", None),
        "POST /v1/incidents/{incident_id}/merge": (
            "POST", f"/v1/incidents/{NOPE}/merge", {"source_id": "I-x", "reason": "x"}),
        "POST /v1/incidents/{incident_id}/notes": (
            "POST", f"/v1/incidents/{NOPE}/notes", {"text": ""}),
        "POST /v1/incidents/{incident_id}/check-ins": (
            "POST", f"/v1/incidents/{NOPE}/check-ins", {"agency": SUBJECT, "by": "x"}),
        "POST /v1/incidents/{incident_id}/status": (
            "POST", f"/v1/incidents/{NOPE}/status", {"status": "closed"}),
        "POST /v1/incidents/{incident_id}/tasks/{agency}/status": (
            "POST", f"/v1/incidents/{NOPE}/tasks/{SUBJECT}/status", {"status": "done"}),
        "GET /v1/incidents/{incident_id}/recommendation": (
            "GET", f"/v1/incidents/{NOPE}/recommendation", None),
        "POST /v1/incidents/{incident_id}/assign": ("POST", f"/v1/incidents/{NOPE}/assign", {}),
        "POST /v1/incidents/{incident_id}/mutual-aid": (
            "POST", f"/v1/incidents/{NOPE}/mutual-aid", {"to_agency": "119", "reason": "x"}),
        "POST /v1/mutual-aid/{request_id}/answer": (
            "POST", "/v1/mutual-aid/MA-nope/answer", {"accepted": True}),
        "GET /v1/plans": ("GET", "/v1/plans", None),
        "GET /v1/map/roads": ("GET", "/v1/map/roads", None),
        "GET /v1/roads/restrictions": ("GET", "/v1/roads/restrictions", None),
        "POST /v1/roads/restrictions": (
            "POST", "/v1/roads/restrictions", {"location": {"lon": 999, "lat": 0}}),
        "POST /v1/roads/restrictions/{restriction_id}/reopen": (
            "POST", "/v1/roads/restrictions/R-nope/reopen", {}),
        "WS /v1/live": ("WS", "/v1/live", None),
        "GET /v1/units": ("GET", "/v1/units", None),
        "GET /v1/fleet": ("GET", "/v1/fleet", None),
        "GET /v1/routes": ("GET", "/v1/routes", None),
        "GET /v1/units/{unit_id}": ("GET", f"/v1/units/{unit}", None),
        "POST /v1/units": ("POST", "/v1/units", {"unit_id": "X"}),
        "POST /v1/units/{unit_id}/status": ("POST", f"/v1/units/{unit}/status", {"status": "bogus"}),
        "POST /v1/units/{unit_id}/release": ("POST", f"/v1/units/{unit}/release", {"status": "bogus"}),
        "POST /v1/units/{unit_id}/position": ("POST", f"/v1/units/{unit}/position", fix),
        "POST /v1/positions": ("POST", "/v1/positions", {"positions": [{"unit_id": unit, **fix}]}),
        "WS /v1/units/positions/ws": ("WS", "/v1/units/positions/ws", None),
        "POST /v1/incidents/{incident_id}/whistle": (
            "POST", f"/v1/incidents/{NOPE}/whistle", {"by": "x", "agency": SUBJECT}),
        "POST /v1/whistles/{whistle_id}/ack": (
            "POST", "/v1/whistles/W-nope/ack", {"agency": SUBJECT, "by": "x"}),
        "GET /v1/whistles": ("GET", "/v1/whistles", None),
        "GET /v1/whistles/{whistle_id}": ("GET", "/v1/whistles/W-nope", None),
        "GET /v1/roster": ("GET", "/v1/roster", None),
        "GET /v1/roster/{day}": ("GET", "/v1/roster/2026-05-01", None),
        "PUT /v1/roster/{day}": ("PUT", "/v1/roster/2026-05-01", {"lead": "nobody"}),
        "GET /v1/feeds/incidents": ("GET", "/v1/feeds/incidents", None),
        "GET /v1/feeds/incidents/stream": ("GET", "/v1/feeds/incidents/stream?cursor=not-a-number", None),
        "WS /v1/eido/ws": ("WS", "/v1/eido/ws", None),
        "POST /v1/webhooks": ("POST", "/v1/webhooks", {"url": "not a url"}),
        "GET /v1/webhooks": ("GET", "/v1/webhooks", None),
        "DELETE /v1/webhooks/{webhook_id}": ("DELETE", "/v1/webhooks/wh_nope", None),
        "GET /v1/webhooks/{webhook_id}/dead-letters": ("GET", "/v1/webhooks/wh_nope/dead-letters", None),
        "GET /v1/audit": ("GET", "/v1/audit", None),
        "POST /v1/devices/messages": ("POST", "/v1/devices/messages", {"messages": []}),
        "GET /v1/devices/maintenance": ("GET", "/v1/devices/maintenance", None),
        "POST /v1/register": ("POST", "/v1/register", {"residents": "none"}),
        "GET /v1/register/residents/{resident_id}": ("GET", "/v1/register/residents/R-nope", None),
        "GET /v1/alarms": ("GET", "/v1/alarms", None),
        "GET /v1/map/homes": ("GET", "/v1/map/homes", None),
        "GET /v1/alarms/{alarm_id}": ("GET", "/v1/alarms/A-nope", None),
        "POST /v1/alarms/{alarm_id}/answer": ("POST", "/v1/alarms/A-nope/answer", {"outcome": "x"}),
        "GET /v1/responder-tasks": ("GET", "/v1/responder-tasks", None),
        "POST /v1/responder-tasks/{task_id}/report": (
            "POST", "/v1/responder-tasks/RT-nope/report", {"report": "x"}),
        "GET /v1/posts": ("GET", "/v1/posts", None),
        "GET /v1/posts/plans": ("GET", "/v1/posts/plans", None),
        # an unknown period: past the access check it is a 422, and no plan is made
        "POST /v1/posts/plans": ("POST", "/v1/posts/plans", {"period": "no-such-period"}),
        "POST /v1/posts/plans/{plan_id}/accept": ("POST", "/v1/posts/plans/PP-nope/accept", {}),
        "POST /v1/posts/plans/{plan_id}/reject": ("POST", "/v1/posts/plans/PP-nope/reject", {}),
        "GET /v1/posts/move-up": ("GET", "/v1/posts/move-up", None),
        "POST /v1/posts/move-up/confirm": ("POST", "/v1/posts/move-up/confirm", {"unit_id": unit}),
    }


def expected(endpoint: str, role: Role, agency: str, own_unit: bool) -> bool:
    """What the table promises for a key with one role of one agency, on the requests above
    (which all name agency 120, or the 120 device's unit)."""
    rules = ACCESS[endpoint]
    if not rules:
        return True
    if role not in rules:
        return False
    scope: Scope = rules[role]
    if scope.field is not None and scope.field.startswith("message:"):
        return True  # checked per message, once connected (test_device_rules)
    return {"any": True, "agency": agency == SUBJECT, "unit": own_unit,
            "unit_agency": agency == SUBJECT}[scope.kind]


def send(c: TestClient, method: str, url: str, body: Any, key: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if method == "WS":
        try:
            with c.websocket_connect(url, headers=headers) as ws:
                ws.close()
            return 101, {}
        except WebSocketDenialResponse as denial:
            return denial.status_code, denial.json()
    r = c.request(method, url, json=body, headers=headers)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, {}


def app_endpoints(c: TestClient) -> set[str]:
    out: set[str] = set()
    routes = list(c.app.routes)  # type: ignore[union-attr]
    while routes:
        route = routes.pop()
        if hasattr(route, "original_router"):  # an included router (no prefix in this app)
            routes.extend(route.original_router.routes)
        elif isinstance(route, APIWebSocketRoute):
            out.add(f"WS {route.path}")
        elif isinstance(route, APIRoute):
            out.update(f"{m} {route.path}" for m in route.methods if m != "HEAD")
    return out


def test_the_table_covers_every_route_and_nothing_else(app_client, centre) -> None:
    # the training controls are only on the app a replay serves (tests/scenarios check them)
    assert app_endpoints(app_client) == set(ACCESS) - TRAINING_ONLY
    assert set(requests_for("u", *centre)) == set(ACCESS) - TRAINING_ONLY


def test_every_endpoint_for_every_role_of_every_agency(app_client, make_key, centre) -> None:
    c = app_client
    units = device_units(c)
    requests = requests_for(units[SUBJECT], *centre)
    keys = {(role, agency): make_key(agency, role, unit_id=units[agency] if role == Role.VEHICLE_DEVICE
                                     else None, client_id=f"{role}-{agency}")
            for role in Role for agency in AGENCIES}
    wrong: list[str] = []
    cells = 0
    for endpoint, (method, url, body) in requests.items():
        for (role, agency), key in keys.items():
            allowed = expected(endpoint, role, agency, own_unit=units[agency] == units[SUBJECT])
            status, answer = send(c, method, url, body, key)
            refused = status in (401, 403, 429) and "missing" in answer
            cells += 1
            if allowed == refused:
                wrong.append(f"{endpoint} as {role}/{agency}: {status} {answer}")
            elif refused:
                # a 403 says what is missing: the role, the agency, or the unit
                assert status == 403 and set(answer["missing"]) & {"role", "agency", "unit"}, answer
                if "role" in answer["missing"]:
                    assert sorted(answer["missing"]["role"]) == sorted(ACCESS[endpoint]), answer
    assert not wrong, "\n".join(wrong[:30])
    assert cells == len(set(ACCESS) - TRAINING_ONLY) * len(Role) * len(AGENCIES)


def test_no_key_unknown_key_and_revoked_key_are_401_with_a_challenge(app_client, make_key, centre) -> None:
    c = app_client
    requests = requests_for("A-C-1", *centre)
    revoked = make_key("110", Role.SUPERVISOR)
    key_id = revoked.split("_")[1]
    c.portal.call(lambda: c.app.state.backend.keys.revoke(key_id, __import__("datetime").datetime.now()))  # type: ignore[union-attr]
    for endpoint, (method, url, body) in requests.items():
        for key, says in ((None, "API key is needed"), ("jd_00000000_" + "x" * 43, "unknown API key"),
                          (revoked, "revoked")):
            status, answer = send(c, method, url, body, key)
            if not ACCESS[endpoint]:
                assert status == 200, (endpoint, status)
                continue
            assert status == 401, (endpoint, key, status, answer)
            assert says in answer["error"] and "credential" in answer["missing"], answer
    r = c.get("/v1/incidents")
    assert r.headers["WWW-Authenticate"].startswith('Bearer realm="jointdispatch"')
    r = c.get("/v1/incidents", headers={"Authorization": f"Bearer {revoked}"})
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("endpoint", "role", "agency", "allowed"), [
    # spot checks written by hand, not derived from the table: the table must say these things
    ("POST /v1/calls", Role.CALL_TAKER, "120", True),
    ("POST /v1/calls", Role.CALL_TAKER, "110", False),  # a 110 call taker cannot file a 120 call
    ("POST /v1/calls", Role.FEED_READER, "120", False),
    ("POST /v1/calls", Role.VEHICLE_DEVICE, "120", False),
    ("GET /v1/incidents", Role.VEHICLE_DEVICE, "120", False),  # a device posts, nothing else
    ("GET /v1/incidents/{incident_id}", Role.FEED_READER, "120", False),  # only through its feed
    ("GET /v1/incidents/{incident_id}/eido", Role.FEED_READER, "122", True),  # its feed's, as EIDO
    ("POST /v1/calls/eido", Role.CALL_TAKER, "110", False),  # the request names hotline 120
    ("POST /v1/units/{unit_id}/position", Role.VEHICLE_DEVICE, "120", True),
    ("POST /v1/units/{unit_id}/position", Role.VEHICLE_DEVICE, "110", False),  # not its unit
    ("POST /v1/units/{unit_id}/status", Role.VEHICLE_DEVICE, "120", True),
    ("POST /v1/units/{unit_id}/release", Role.VEHICLE_DEVICE, "120", False),
    ("POST /v1/units/{unit_id}/status", Role.DISPATCHER, "119", False),  # another agency's unit
    ("POST /v1/whistles/{whistle_id}/ack", Role.CONVENER, "119", False),  # acks for its own agency
    ("POST /v1/whistles/{whistle_id}/ack", Role.SUPERVISOR, "119", True),
    ("GET /v1/feeds/incidents", Role.FEED_READER, "122", True),
    ("GET /v1/feeds/incidents", Role.DISPATCHER, "120", False),
    ("GET /v1/audit", Role.DISPATCHER, "120", False),
    ("GET /v1/audit", Role.ADMIN, "110", True),
    ("PUT /v1/roster/{day}", Role.TRAINER, "120", False),
    ("WS /v1/live", Role.FEED_READER, "120", False),
    ("WS /v1/live", Role.TRAINER, "119", True),
])
def test_hand_written_cells(app_client, make_key, centre, endpoint, role, agency, allowed) -> None:
    units = device_units(app_client)
    method, url, body = requests_for(units[SUBJECT], *centre)[endpoint]
    key = make_key(agency, role, unit_id=units[agency] if role == Role.VEHICLE_DEVICE else None)
    status, answer = send(app_client, method, url, body, key)
    assert (status == 403 and "missing" in answer) != allowed, (status, answer)


def test_an_open_live_screen_is_closed_within_a_heartbeat_of_its_key_being_revoked(
        app_client, make_key, monkeypatch) -> None:
    import datetime

    from starlette.websockets import WebSocketDisconnect

    import web.live

    monkeypatch.setattr(web.live, "HEARTBEAT_S", 0.2)
    c = app_client
    key = make_key("110", Role.DISPATCHER)
    with c.websocket_connect(f"/v1/live?key={key}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        assert ws.receive_json()["type"] == "heartbeat"  # still allowed: kept open
        c.portal.call(lambda: c.app.state.backend.keys.revoke(key.split("_")[1], datetime.datetime.now()))  # type: ignore[union-attr]
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
        assert closed.value.code == 4401


def test_a_revoked_keys_live_screen_ends_while_positions_flow(app_client, make_key, centre) -> None:
    """Revocation is not only noticed when idle: positions every 50 ms, and the screen still closes."""
    import datetime
    import time

    from starlette.websockets import WebSocketDisconnect

    c = app_client
    key = make_key("120", Role.DISPATCHER)
    device = make_key("120", Role.SUPERVISOR)
    unit = device_units(c)["120"]
    lon, lat = centre
    with c.websocket_connect(f"/v1/live?key={key}", headers={"Authorization": f"Bearer {key}"}) as ws:
        assert ws.receive_json()["type"] == "snapshot"
        keys = c.app.state.backend.keys  # type: ignore[union-attr]
        c.portal.call(lambda: keys.revoke(key.split("_")[1], datetime.datetime.now()))
        frames = 0
        with pytest.raises(WebSocketDisconnect) as closed:
            for i in range(400):  # 20 s of traffic at most; it must close well before
                c.post(f"/v1/units/{unit}/position", json={"lon": lon + 1e-5 * (i % 7), "lat": lat},
                       headers={"Authorization": f"Bearer {device}"})
                ws.receive_json()
                frames += 1
                time.sleep(0.05)
        assert closed.value.code == 4401 and frames > 0  # traffic was flowing when it closed


def test_a_revoked_devices_position_stream_is_closed_busy_or_idle(app_client, make_key, centre) -> None:
    """A vehicle's tablet streaming fixes over the device websocket: revoked, it is closed (4401)
    whether it keeps sending or falls silent, and nothing it sends after is taken."""
    import datetime
    import time

    from starlette.websockets import WebSocketDisconnect

    c = app_client
    unit = device_units(c)["120"]
    lon, lat = centre
    keys = c.app.state.backend.keys  # type: ignore[union-attr]
    for busy in (True, False):
        key = make_key("120", Role.VEHICLE_DEVICE, unit_id=unit, client_id=f"tablet-{busy}")
        with c.websocket_connect("/v1/units/positions/ws", headers={"Authorization": f"Bearer {key}"}) as ws:
            ws.send_json({"unit_id": unit, "lon": lon, "lat": lat})
            assert ws.receive_json() == {"accepted": 1}
            c.portal.call(lambda k=key: keys.revoke(k.split("_")[1], datetime.datetime.now()))
            with pytest.raises(WebSocketDisconnect) as closed:
                for i in range(200):  # 10 s at most; it must close well before
                    if busy:
                        ws.send_json({"unit_id": unit, "lon": lon + 1e-5 * (i % 7), "lat": lat})
                    answer = ws.receive_json()
                    assert answer == {"accepted": 1}, answer
                    time.sleep(0.05)
            assert closed.value.code == 4401
