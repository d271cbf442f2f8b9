"""An incident's narrative: notes timestamped, per agency (the key's), in the log and the timeline;
refused with a reason when empty, for no incident, or for one merged away."""

from fastapi.testclient import TestClient

from tests.web.conftest import MakeKey
from web.api_keys import Role


def test_a_note_is_kept_with_its_agency_and_time_and_told_in_the_timeline(
        app_client: TestClient, make_key: MakeKey, centre) -> None:
    lon, lat = centre
    fire = {"Authorization": f"Bearer {make_key('119', Role.DISPATCHER)}"}
    medical = {"Authorization": f"Bearer {make_key('120', Role.CALL_TAKER, Role.DISPATCHER)}"}
    crash = {"hotline": "120", "kind": "traffic_crash_injury", "location": {"lon": lon, "lat": lat}}
    inc = app_client.post("/v1/calls", headers=medical, json=crash).json()["incident_id"]
    first = app_client.post(f"/v1/incidents/{inc}/notes", headers=fire,
                            json={"text": "  driver trapped, cutting the door  ", "by": "Captain Wu"})
    assert first.status_code == 201, first.text
    assert first.json()["agency"] == "119" and first.json()["text"] == "driver trapped, cutting the door"
    app_client.post(f"/v1/incidents/{inc}/notes", headers=medical,
                    json={"text": "two patients", "by": "Dr Ma"})
    detail = app_client.get(f"/v1/incidents/{inc}", headers=medical).json()
    assert [(n["agency"], n["by"]) for n in detail["notes"]] == [("119", "Captain Wu"), ("120", "Dr Ma")]
    assert any(e["type"] == "incident_note_added" and "Captain Wu (119)" in e["summary"]
               for e in detail["timeline"])

    empty = app_client.post(f"/v1/incidents/{inc}/notes", headers=fire, json={"text": "   "})
    assert empty.status_code == 422 and empty.json()["field"] == "text"
    missing = app_client.post("/v1/incidents/I-nope/notes", headers=fire, json={"text": "x"})
    assert missing.status_code == 404


def test_a_note_on_a_merged_incident_is_refused_naming_where_to_write_it(
        client: TestClient, centre) -> None:
    lon, lat = centre
    a = client.post("/v1/calls", json={"hotline": "120", "kind": "traffic_crash_injury",
                                       "location": {"lon": lon, "lat": lat}}).json()["incident_id"]
    b = client.post("/v1/calls", json={"hotline": "110", "kind": "theft",
                                       "location": {"lon": lon + 0.02, "lat": lat}}).json()["incident_id"]
    assert client.post(f"/v1/incidents/{a}/merge", json={"source_id": b, "reason": "same"}).status_code == 200
    refused = client.post(f"/v1/incidents/{b}/notes", json={"text": "late word"})
    assert refused.status_code == 409 and a in refused.json()["error"]
