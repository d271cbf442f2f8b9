"""EIDO (NENA-STA-021): every EIDO the server emits, from the endpoint and from the feed, is valid
against NENA's `EmergencyIncidentDataObjectType`; it carries the incident, calls (hotline as the
queue), locations, agencies, dispatches, units (status, last fix, ETA, destination hospital, green
wave) and merges/splits; field rules hold in it; NENA's sample EIDO reads into a call."""

import json
from typing import Any

import pytest

from tests.web.eido_oracle import assert_valid_eido, problems, sample
from web.api_keys import Role


def _call(client, centre, hotline="120", kind="drowning", **extra: Any) -> dict[str, Any]:
    r = client.post("/v1/calls", json={"hotline": hotline, "kind": kind,
                                       "location": {"lon": centre[0], "lat": centre[1]}, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _eido(client, incident_id: str, **headers: str) -> dict[str, Any]:
    r = client.get(f"/v1/incidents/{incident_id}/eido", headers=headers)
    assert r.status_code == 200, r.text
    doc = dict(r.json())
    assert_valid_eido(doc)
    return doc


def _feed_eidos(client, **headers: str) -> list[dict[str, Any]]:
    r = client.get("/v1/feeds/incidents", params={"format": "eido", "limit": 1000}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.jointdispatch.eido-page+json")
    items = r.json()["items"]
    for it in items:
        assert_valid_eido(it["eido"])
    return [it["eido"] for it in items]


def _by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["$id"]: c for v in doc.values() if isinstance(v, list) for c in v if isinstance(c, dict)}


def test_the_oracle_refuses_what_nena_refuses() -> None:
    assert problems(sample()) == []
    broken = sample()
    del broken["agencyComponent"]
    assert any("agencyComponent" in p for p in problems(broken))
    broken = sample()
    broken["agentComponent"][0]["agentRoleRegistryText"] = []  # the "minItems: 1," quirk, read as 1
    assert any("non-empty" in p for p in problems(broken))
    broken = sample()
    broken["callComponent"][0]["callStartTimestamp"] = "yesterday"
    assert any("date-time" in p for p in problems(broken))


def test_a_whistled_incident_as_eido_has_calls_units_eta_location_and_green_wave(client, centre) -> None:
    a = _call(client, centre, caller_number="13800001111", text="swimmer struggling",
              details={"patient_condition": "not breathing"})
    incident = a["incident_id"]
    whistle = client.post(f"/v1/incidents/{incident}/whistle", json={"by": "dr-xu", "agency": "120"})
    assert whistle.status_code == 201, whistle.text
    moving = client.get(f"/v1/incidents/{incident}").json()["units"][0]["unit_id"]
    assert client.post(f"/v1/units/{moving}/position",
                       json={"lon": centre[0] + 0.003, "lat": centre[1] + 0.002}).status_code == 200
    units = client.get(f"/v1/incidents/{incident}").json()["units"]  # a fix off its route re-routes it
    doc = _eido(client, incident)
    parts = _by_id(doc)
    assert doc["$id"] == f"urn:emergency:uid:incidentid:{incident}:jointdispatch.example"
    assert doc["incidentComponent"]["incidentTypeInternalCode"] == "drowning"
    [call] = doc["callComponent"]
    assert call["queueIdentifier"] == "120@jointdispatch.example"  # the hotline is the queue
    assert call["callStartTimestamp"] == client.get(f"/v1/calls/{a['call_id']}").json()["received_at"]
    assert parts[call["callBackReference"]["$ref"]]["callBackInformationUri"] == ["tel:13800001111"]
    assert "not breathing" in parts[call["additionalDataReference"][0]["$ref"]]["additionalDataByValue"]
    assert "swimmer struggling" in parts[call["notesReference"][0]["$ref"]]["notesActionComments"]
    agencies = {c["$id"] for c in doc["agencyComponent"]}
    assert {"110.jointdispatch.example", "119.jointdispatch.example", "120.jointdispatch.example"} <= agencies
    resources = {r["emergencyResourceName"]: r for r in doc["emergencyResourceComponent"]}
    assert len(resources) == len(units)
    for unit in units:
        r = resources[unit["call_sign"]]
        assert r["unitStatusInternal"] == [unit["status"]] and r["primaryUnitStatusRegistryText"]
        assert r["eta"] == unit["route"]["arrive_by"]
        dest = parts[r["unitDestinationReference"]["$ref"]]
        assert dest["locationTypeDescriptionRegistryText"] == "Destination"
        if unit["green_wave"]:
            assert any("green wave" in parts[n["$ref"]]["notesActionComments"] for n in r["notesReference"])
    fix = parts[next(r for r in resources.values() if r["$id"].endswith(f":{moving}:{incident}"))
                ["unitLocationReference"]["$ref"]]
    assert f"{centre[1] + 0.002:.6f} {centre[0] + 0.003:.6f}" in fix["locationByValue"]
    dispatched = {d["agencyReference"]["$ref"]: d for d in doc["dispatchComponent"]}
    assert set(dispatched) == {f"{u['agency']}.jointdispatch.example" for u in units}
    # and every item of the feed, as EIDO, is valid too
    items = client.get("/v1/feeds/incidents", params={"limit": 1000}).json()["items"]
    assert len(_feed_eidos(client)) == len(items)


def test_a_unit_transporting_names_its_destination_hospital(client, centre) -> None:
    incident = _call(client, centre, kind="medical_emergency")["incident_id"]
    sent = client.post(f"/v1/incidents/{incident}/assign", json={}).json()["assigned"]
    amb = next(u for u in sent if client.get(f"/v1/units/{u}").json()["kind"] == "ambulance")
    for status in ("en_route", "on_scene", "transporting"):
        assert client.post(f"/v1/units/{amb}/status", json={"status": status}).status_code == 200
    hospital = client.get(f"/v1/units/{amb}").json()["route"]["hospital_id"]
    doc = _eido(client, incident)
    parts = _by_id(doc)
    [r] = [r for r in doc["emergencyResourceComponent"] if r["$id"].endswith(f":{amb}:{incident}")]
    assert r["primaryUnitStatusRegistryText"] == "Transporting" and r["eta"]
    dest = parts[r["unitDestinationReference"]["$ref"]]
    assert dest["locationDescriptionText"].startswith(f"hospital {hospital}:")
    _feed_eidos(client)


def _merges(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["incidentTrackingIdentifier"], m["incidentMergeDirectionCode"]) for m in doc["mergeComponent"]]


def test_merge_and_split_are_merge_and_link_components(client, centre) -> None:
    a = _call(client, centre, hotline="110", kind="theft", received_at="2026-05-01T08:00:00+08:00")
    b = _call(client, (centre[0] + 0.001, centre[1]), hotline="110", kind="theft",
              received_at="2026-05-01T10:00:00+08:00")
    assert a["incident_id"] != b["incident_id"]
    r = client.post(f"/v1/incidents/{a['incident_id']}/merge",
                    json={"source_id": b["incident_id"], "reason": "same theft"})
    assert r.status_code == 200, r.text
    target, source = _eido(client, a["incident_id"]), _eido(client, b["incident_id"])
    uri = "urn:emergency:uid:incidentid:{}:jointdispatch.example".format
    assert _merges(target) == [(uri(b["incident_id"]), "REPLACING")]
    assert _merges(source) == [(uri(a["incident_id"]), "REPLACED")]
    assert source["incidentComponent"]["dispositionComponent"][0]["dispositionCommonRegistryCode"] == "Merged"
    split = client.post(f"/v1/calls/{b['call_id']}/split", json={"reason": "another theft after all"})
    assert split.status_code == 200, split.text
    new = split.json()["incident_id"]
    old, fresh = _eido(client, a["incident_id"]), _eido(client, new)
    assert (uri(new), "SPLIT") in _merges(old)
    assert [(lk["incidentTrackingIdentifier"], lk["linkDirectionCode"]) for lk in fresh["linkComponent"]] == \
        [(uri(a["incident_id"]), "RELATED")]
    assert fresh["linkComponent"][0]["transactionReasonText"] == "another theft after all"
    eidos = _feed_eidos(client)
    assert any(e.get("mergeComponent") for e in eidos) and any(e.get("linkComponent") for e in eidos)


def test_field_rules_hold_in_the_eido(app_client, make_key, centre) -> None:
    c = app_client
    c.headers["Authorization"] = f"Bearer {make_key('120', Role.CALL_TAKER)}"
    a = _call(c, centre, kind="traffic_crash_injury", caller_number="13800001111",
              details={"patient_condition": "unconscious", "diagnosis": "head injury", "lane": "left"})
    incident = a["incident_id"]
    police = {"Authorization": f"Bearer {make_key('110', Role.FEED_READER)}"}
    medical = {"Authorization": f"Bearer {make_key('120', Role.FEED_READER)}"}
    fire = {"Authorization": f"Bearer {make_key('119', Role.FEED_READER)}"}
    for doc in (_eido(c, incident, **police), *_feed_eidos(c, **police)):
        text = json.dumps(doc, ensure_ascii=False)
        assert "13800001111" not in text and "tel:" not in text  # a masked number calls no one back
        assert "unconscious" not in text and "head injury" not in text
        assert "left" in text  # what is not sensitive is still there
    for doc in (_eido(c, incident, **medical), *_feed_eidos(c, **medical)):
        text = json.dumps(doc, ensure_ascii=False)
        assert "tel:13800001111" in text and "unconscious" in text and "head injury" in text
    # 119 has no task in a crash with injuries: its system does not get the incident
    assert c.get(f"/v1/incidents/{incident}/eido", headers=fire).status_code == 404
    assert _feed_eidos(c, **fire) == []
    reads = c.get("/v1/audit", params={"kind": "read"},
                  headers={"Authorization": f"Bearer {make_key('120', Role.SUPERVISOR)}"}).json()["entries"]
    assert any(e["action"] == "GET /v1/incidents/{incident_id}/eido" and e["agency"] == "120" for e in reads)


def test_nenas_sample_eido_reads_into_a_call_once(client) -> None:
    r = client.post("/v1/calls/eido", params={"hotline": "120", "kind": "medical_emergency"}, json=sample())
    assert r.status_code == 201, r.text
    call = client.get(f"/v1/calls/{r.json()['call_id']}").json()
    assert call["hotline"] == "120" and call["kind"] == "medical_emergency"
    assert call["location"] == {"lon": None, "lat": None, "address": "42 W Cellular Street Wilmington DE US"}
    assert call["caller_number"] == "8195551212"
    assert call["text"] == "This is an example text."
    assert call["received_at"] == "2021-04-30T14:40:00-04:00"
    assert call["details"]["eido"]["call"] == "urn:emergency:uid:callid:a56e556d871:bcf.state.pa.us"
    again = client.post("/v1/calls/eido", params={"hotline": "120", "kind": "medical_emergency"},
                        json=sample())
    assert again.status_code == 201 and again.json()["call_id"] == r.json()["call_id"]
    assert again.headers.get("Idempotent-Replayed") == "true"


def test_an_eido_we_emit_reads_back_into_the_same_call(client, centre) -> None:
    # the key is a 120 supervisor's: the 120 caller's number is theirs to read, so it travels
    a = _call(client, centre, hotline="120", kind="fall_from_height", caller_number="13900002222",
              text="fell from the scaffold")
    doc = _eido(client, a["incident_id"])
    r = client.post("/v1/calls/eido", json=doc)  # the queue names the hotline, the incident its kind
    assert r.status_code == 201, r.text
    back = client.get(f"/v1/calls/{r.json()['call_id']}").json()
    assert (back["hotline"], back["kind"], back["caller_number"], back["text"]) == \
        ("120", "fall_from_height", "13900002222", "fell from the scaffold")
    assert (back["location"]["lon"], back["location"]["lat"]) == pytest.approx(centre)
    assert back["incident_id"] == a["incident_id"]  # same place, same time: it joins the incident


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.pop("callComponent"), "callComponent"),
    (lambda d: d.update(callComponent=[]), "callComponent"),
    (lambda d: d["callComponent"][0].update(callStartTimestamp="soon"),
     "callComponent[0].callStartTimestamp"),
    (lambda d: d["locationComponent"][0].update(locationByValue="<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"),
     "callComponent[0].locationReference"),
    (lambda d: d["locationComponent"][0].update(locationByValue="<not xml"),
     "callComponent[0].locationReference"),
    (lambda d: d.update(locationComponent="none"), "locationComponent"),
    (lambda d: d["callbackComponent"][0].update(callBackInformationUri=["tel:call-me-maybe"]),
     "caller_number"),
])
def test_an_eido_that_does_not_hold_is_refused_naming_the_field(client, mutate, field) -> None:
    doc = sample()
    mutate(doc)
    r = client.post("/v1/calls/eido", params={"hotline": "120", "kind": "medical_emergency"}, json=doc)
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_an_eido_without_hotline_or_kind_asks_for_them(client, make_key) -> None:
    r = client.post("/v1/calls/eido", params={"hotline": "120"}, json=sample())
    assert r.status_code == 422 and r.json()["field"] == "kind"
    r = client.post("/v1/calls/eido", params={"kind": "medical_emergency"}, json=sample())
    assert r.status_code == 422 and r.json()["field"] == "hotline"
    # a call taker takes it on their own hotline, and on no other
    taker = {"Authorization": f"Bearer {make_key('119', Role.CALL_TAKER)}"}
    r = client.post("/v1/calls/eido", params={"kind": "fire"}, json=sample(), headers=taker)
    assert r.status_code == 201, r.text
    assert client.get(f"/v1/calls/{r.json()['call_id']}").json()["hotline"] == "119"
    r = client.post("/v1/calls/eido", params={"kind": "fire", "hotline": "120"}, json=sample(), headers=taker)
    assert r.status_code == 403 and r.json()["field"] == "hotline"
