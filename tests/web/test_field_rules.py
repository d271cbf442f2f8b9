"""The field rules, walked for every rule x viewer, wherever a call leaves the server (call view,
incident view, feed, live websocket); the device rule; audit of sensitive reads and of changes;
rate limits."""

import pytest

from web.api_keys import AGENCIES, Role
from web.field_rules import FIELD_RULES, mask_number

NUMBER = "+86 138 0013 8000"
DETAILS = {"patient_condition": "unconscious", "patient_name": "Li Wei", "patient_age": 67,
           "police_notes": "known to officers", "floor": 3}
VIEWERS = [(a, r) for a in AGENCIES for r in (Role.DISPATCHER, Role.SUPERVISOR, Role.FEED_READER)]


def post_call(c, key: str, hotline: str, centre, kind: str = "medical_emergency") -> dict:
    r = c.post("/v1/calls", headers={"Authorization": f"Bearer {key}"}, json={
        "hotline": hotline, "kind": kind, "caller_number": NUMBER, "details": DETAILS,
        "location": {"lon": centre[0], "lat": centre[1]}, "text": "collapsed on the street"})
    assert r.status_code == 201, r.text
    return r.json()


def field_of(call: dict, path: str):
    return call.get("details", {}).get(path[8:]) if path.startswith("details.") else call.get(path)


def hand_expectation(rule: str, agency: str, role: Role, hotline: str) -> bool:
    """The issue's words, written out again by hand rather than read from the table."""
    if rule == "medical":
        return agency == "120" or role == Role.SUPERVISOR
    if rule == "caller_number":
        return agency == hotline
    if rule == "police_notes":
        return agency == "110"
    raise AssertionError(f"a rule the test does not know: {rule}")


@pytest.mark.parametrize("hotline", ["110", "120"])
def test_every_rule_for_every_viewer_on_call_incident_and_feed(app_client, make_key, centre, hotline) -> None:
    c = app_client
    call = post_call(c, make_key(hotline, Role.CALL_TAKER), hotline, centre)
    for agency, role in VIEWERS:
        auth = {"Authorization": f"Bearer {make_key(agency, role)}"}
        seen = []
        if role != Role.FEED_READER:
            seen.append(c.get(f"/v1/calls/{call['call_id']}", headers=auth).json())
            seen.append(c.get(f"/v1/incidents/{call['incident_id']}", headers=auth).json()["calls"][0])
        feed = c.get("/v1/feeds/incidents", headers=auth).json()["items"] if role in (
            Role.FEED_READER, Role.SUPERVISOR) else []
        seen.extend(it["incident"]["calls"][0] for it in feed)
        assert seen or role == Role.FEED_READER  # a reader of an agency not in it sees nothing
        for view in seen:
            assert view["details"]["floor"] == 3  # not sensitive: everyone who sees the call sees it
            for rule in FIELD_RULES:
                may = hand_expectation(rule.name, agency, role, hotline)
                assert rule.sees(make_viewer(agency, role), {"hotline": hotline}) == may
                for path in rule.fields:
                    value = field_of(view, path)
                    original = field_of({"caller_number": NUMBER, "details": DETAILS}, path)
                    if may:
                        assert value == original, (rule.name, agency, role, path, view)
                    elif rule.otherwise == "mask":
                        assert value == mask_number(original) and value.endswith("8000") \
                            and "138" not in value, value
                    else:
                        assert value is None, (rule.name, agency, role, path, view)


def make_viewer(agency: str, role: Role):
    from web.api_keys import ApiKey

    return ApiKey("k", "c", agency, (role,), "2026-01-01T00:00:00+00:00")


def test_feed_readers_get_only_incidents_their_agency_is_in(app_client, make_key, centre) -> None:
    c = app_client
    theft = post_call(c, make_key("110", Role.CALL_TAKER), "110", centre, "theft")
    reader = {"Authorization": f"Bearer {make_key('119', Role.FEED_READER)}"}
    assert c.get("/v1/feeds/incidents", headers=reader).json()["items"] == []
    police = {"Authorization": f"Bearer {make_key('110', Role.FEED_READER)}"}
    items = c.get("/v1/feeds/incidents", headers=police).json()["items"]
    assert {i["incident"]["incident_id"] for i in items} == {theft["incident_id"]}


def test_live_websocket_applies_the_field_rules(app_client, make_key, centre) -> None:
    c = app_client
    fire = make_key("119", Role.DISPATCHER)
    with c.websocket_connect(f"/v1/live?key={fire}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        post_call(c, make_key("120", Role.CALL_TAKER), "120", centre)
        event = ws.receive_json()
        while event["event"]["type"] != "call_received":
            event = ws.receive_json()
        call = event["event"]
        assert call["caller_number"] == mask_number(NUMBER)
        assert "patient_name" not in call["details"] and "police_notes" not in call["details"]


def test_a_device_posts_its_own_unit_and_nothing_else(app_client, make_key, centre) -> None:
    c = app_client
    state = c.app.state.backend.service.state  # type: ignore[union-attr]
    own = next(u for u in sorted(state.units) if state.units[u].agency == "120")
    other = next(u for u in sorted(state.units) if u != own)
    auth = {"Authorization": f"Bearer {make_key('120', Role.VEHICLE_DEVICE, unit_id=own)}"}
    fix = {"lon": centre[0], "lat": centre[1]}
    assert c.post(f"/v1/units/{own}/position", json=fix, headers=auth).status_code == 200
    r = c.post(f"/v1/units/{other}/position", json=fix, headers=auth)
    assert r.status_code == 403 and r.json()["missing"] == {"unit": other}
    r = c.post("/v1/positions", headers=auth, json={"positions": [{"unit_id": own, **fix},
                                                                   {"unit_id": other, **fix}]})
    assert r.status_code == 403 and r.json()["field"] == "positions.unit_id"
    assert c.post(f"/v1/units/{own}/status", json={"status": "available"}, headers=auth).status_code \
        in (200, 409)
    assert c.get("/v1/units", headers=auth).status_code == 403
    with c.websocket_connect("/v1/units/positions/ws", headers=auth) as ws:
        ws.send_json({"unit_id": own, **fix})
        assert ws.receive_json() == {"accepted": 1}
        ws.send_json({"unit_id": other, **fix})
        answer = ws.receive_json()
        assert answer["field"] == "unit_id" and other in answer["error"]
        ws.send_json({"unit_id": own, **fix})  # a refused message does not close the stream
        assert ws.receive_json() == {"accepted": 1}


def test_sensitive_reads_and_changes_are_audited_with_who_when_and_where(app_client, make_key,
                                                                         centre) -> None:
    c = app_client
    taker = make_key("120", Role.CALL_TAKER)
    call = post_call(c, taker, "120", centre)
    medic = make_key("120", Role.DISPATCHER)
    c.get(f"/v1/calls/{call['call_id']}", headers={"Authorization": f"Bearer {medic}"})
    c.post("/v1/calls", headers={"Authorization": f"Bearer {make_key('110', Role.FEED_READER)}"},
           json={"hotline": "110"})
    audit = {"Authorization": f"Bearer {make_key('110', Role.ADMIN)}"}
    entries = c.get("/v1/audit", headers=audit).json()["entries"]
    change = next(e for e in entries if e["kind"] == "change" and e["status"] == 201)
    assert change["action"] == "POST /v1/calls" and change["agency"] == "120"
    assert change["roles"] == ["call_taker"] and change["from"].startswith("testclient")
    assert change["key_id"] == taker.split("_")[1] and change["at"]
    read = next(e for e in entries if e["kind"] == "read" and e["action"] == "GET /v1/calls/{call_id}")
    assert read["key_id"] == medic.split("_")[1]
    assert set(read["revealed"][call["call_id"]]) == {
        "caller_number", "details.patient_condition", "details.patient_name", "details.patient_age"}
    refused = next(e for e in entries if e["kind"] == "change" and e["status"] == 403)
    assert refused["roles"] == ["feed_reader"]
    only_reads = c.get("/v1/audit", params={"kind": "read"}, headers=audit).json()["entries"]
    assert only_reads and all(e["kind"] == "read" for e in only_reads)
    assert c.get("/v1/audit", headers={"Authorization": f"Bearer {medic}"}).status_code == 403


def test_a_client_over_its_rate_gets_429_with_retry_after(app_client, make_key) -> None:
    c = app_client
    slow = {"Authorization": f"Bearer {make_key('120', Role.FEED_READER, rate='3/minute')}"}
    other = {"Authorization": f"Bearer {make_key('120', Role.FEED_READER)}"}
    assert [c.get("/v1/plans", headers=slow).status_code for _ in range(3)] == [200] * 3
    r = c.get("/v1/plans", headers=slow)
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert "3 per 1 minute" in r.json()["error"]
    assert c.get("/v1/plans", headers=other).status_code == 200  # counted per client


def test_the_window_slides_so_a_boundary_does_not_double_the_rate(app_client) -> None:
    from web.access import Denied
    from web.api_keys import ApiKey

    limits = app_client.app.state.backend.rate_limits  # type: ignore[union-attr]
    key = ApiKey("slide", "c", "120", (Role.FEED_READER,), "2026-01-01", rate="10/minute")
    start = 1_800_000_000 - 1_800_000_000 % 60 + 50  # 50 s into a minute

    def hit(at: float) -> bool:
        try:
            app_client.portal.call(limits.hit, key, at)
            return True
        except Denied as refused:
            assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
            return False

    assert all(hit(start + i) for i in range(10)) and not hit(start + 9.5)
    # 15 s later, a quarter into the next minute: three quarters of the last ten still count
    assert [hit(start + 25 + i * 0.1) for i in range(3)] == [True, True, False]


def test_medical_details_under_any_name_reach_only_120_and_supervisors(app_client, make_key, centre) -> None:
    from web.field_rules import is_medical_key

    assert all(is_medical_key(k) for k in ("diagnosis", "Medication", "patient_history", "allergies",
                                            "blood-pressure", "heart_rate", "病情"))
    assert not any(is_medical_key(k) for k in ("floor", "event", "vehicle_plate", "door_code"))
    supervisor = make_key("120")
    r = app_client.post("/v1/calls", headers={"Authorization": f"Bearer {supervisor}"}, json={
        "hotline": "120", "kind": "medical_emergency", "text": "fell at home",
        "details": {"diagnosis": "suspected stroke", "medications": ["warfarin"], "floor": 5},
        "location": {"lon": centre[0], "lat": centre[1]}})
    assert r.status_code == 201, r.text
    call_id = r.json()["call_id"]
    police = make_key("110", Role.DISPATCHER)
    medic = make_key("120", Role.DISPATCHER)
    seen_by_110 = app_client.get(f"/v1/calls/{call_id}", headers={"Authorization": f"Bearer {police}"})
    seen_by_120 = app_client.get(f"/v1/calls/{call_id}", headers={"Authorization": f"Bearer {medic}"})
    assert seen_by_110.json()["details"] == {"floor": 5}
    assert seen_by_120.json()["details"]["diagnosis"] == "suspected stroke"


def test_the_declared_schema_per_kind_decides_before_the_words(app_client, make_key, centre) -> None:
    """`readings` is declared medical for a medical emergency (no word in it says so), open for
    a fire by default; `smoke_colour` is declared open; undeclared keys fall back to the words."""
    from pathlib import Path

    import yaml

    from dispatch.plans import ResponsePlans
    from web.field_rules import DETAIL_FIELDS_FILE, DETAILS

    declared = yaml.safe_load(Path(DETAIL_FIELDS_FILE).read_text())["kinds"]
    assert set(declared) <= set(ResponsePlans.load().kinds)  # no kind declared that does not exist
    assert DETAILS.is_medical("readings", "medical_emergency") and not DETAILS.is_medical("readings", "fire")
    assert DETAILS.is_medical("diagnosis", "fire") and not DETAILS.is_medical("smoke_colour", "fire")

    supervisor = {"Authorization": f"Bearer {make_key('120')}"}
    police = {"Authorization": f"Bearer {make_key('110', Role.DISPATCHER)}"}
    seen = {}
    for kind, hotline in (("medical_emergency", "120"), ("fire", "119")):
        r = app_client.post("/v1/calls", headers=supervisor, json={
            "hotline": hotline, "kind": kind, "location": {"lon": centre[0], "lat": centre[1]},
            "details": {"readings": "sats 88", "smoke_colour": "black", "diagnosis": "burns"}})
        assert r.status_code == 201, r.text
        seen[kind] = app_client.get(f"/v1/calls/{r.json()['call_id']}", headers=police).json()["details"]
    assert seen["medical_emergency"] == {"smoke_colour": "black"}
    assert seen["fire"] == {"readings": "sats 88", "smoke_colour": "black"}
