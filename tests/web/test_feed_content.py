"""Feed content for a hospital's board or another centre's screen: every item carries the units
(id, agency, kind, status, ETA, destination hospital), the green-wave state and what changed."""

from typing import Any


def _items(client, incident_id: str) -> list[dict[str, Any]]:
    items = client.get("/v1/feeds/incidents", params={"limit": 1000}).json()["items"]
    return [i for i in items if i["incident"]["incident_id"] == incident_id]


def test_items_say_which_unit_comes_when_where_to_and_what_changed(client, centre) -> None:
    r = client.post("/v1/calls", json={"hotline": "120", "kind": "drowning",
                                       "location": {"lon": centre[0], "lat": centre[1]}})
    incident = r.json()["incident_id"]
    opened = _items(client, incident)[0]
    assert opened["changed"]["calls"] == [r.json()["call_id"]] and "opened" in opened["changed"]["summary"]
    assert opened["green_wave"] == {"active": False, "degraded": False, "units": [], "saved_s": 0,
                                    "uncovered": []}
    whistle = client.post(f"/v1/incidents/{incident}/whistle", json={"by": "dr-xu", "agency": "120"})
    assert whistle.status_code == 201
    items = _items(client, incident)
    for it in items:
        for unit in it["incident"]["units"]:
            assert {"unit_id", "agency", "kind", "status", "route", "green_wave"} <= set(unit)
            if unit["route"]:
                assert unit["route"]["arrive_by"] and "hospital_id" in unit["route"]
    assigned = [i for i in items if i["event"] == "unit_assigned"]
    assert assigned and all(i["changed"]["units"] and "units" in i["changed"]["fields"] for i in assigned)
    assert "assigned" in assigned[0]["changed"]["summary"]
    waved = items[-1]
    assert waved["green_wave"]["active"] and waved["green_wave"]["units"]
    amb = next(u for u in waved["incident"]["units"] if u["kind"] == "ambulance")["unit_id"]
    for status in ("en_route", "on_scene", "transporting"):
        assert client.post(f"/v1/units/{amb}/status", json={"status": status}).status_code == 200
    last = _items(client, incident)[-1]
    routed = [i for i in _items(client, incident) if i["event"] == "unit_routed"][-1]
    unit = next(u for u in routed["incident"]["units"] if u["unit_id"] == amb)
    assert unit["status"] == "transporting" and unit["route"]["hospital_id"] and unit["route"]["arrive_by"]
    assert routed["changed"]["units"] == [amb]
    assert unit["route"]["hospital_id"] in routed["changed"]["summary"]
    moved = [i for i in _items(client, incident) if i["event"] == "unit_status_changed"]
    assert any(f"{unit['call_sign']} transporting" in i["changed"]["summary"] for i in moved)
    # a task's change is named by its agency
    task = next(a for a in last["incident"]["tasks"] if a != "120")
    client.post(f"/v1/incidents/{incident}/tasks/{task}/status", json={"status": "done"})
    assert f"tasks.{task}" in _items(client, incident)[-1]["changed"]["fields"]
