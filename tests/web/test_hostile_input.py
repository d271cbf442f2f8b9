"""Input an attacker or a broken client sends gets a 4xx naming the field, never a 500, and
loses nothing already accepted (issue 21's list)."""

import json

import pytest


def call_body(centre, **over):
    body = {"hotline": "120", "kind": "medical_emergency", "text": "collapsed",
            "location": {"lon": centre[0], "lat": centre[1]}}
    body.update(over)
    return body


def deep(n: int) -> dict:
    d: dict = {"leaf": 1}
    for _ in range(n):
        d = {"x": d}
    return d


def test_deeply_nested_details_are_refused_and_break_nothing(client, centre) -> None:
    ok = client.post("/v1/calls", json=call_body(centre))
    assert ok.status_code == 201
    r = client.post("/v1/calls", json=call_body(centre, details=deep(300)))
    assert r.status_code == 422 and r.json()["field"].startswith("details"), r.text
    assert client.get(f"/v1/calls/{ok.json()['call_id']}").status_code == 200
    assert client.get(f"/v1/incidents/{ok.json()['incident_id']}").status_code == 200


def test_not_a_number_in_details_is_refused(client, centre) -> None:
    raw = json.dumps(call_body(centre)).replace('"text"', '"details": {"pulse": NaN}, "text"')
    r = client.post("/v1/calls", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["field"].startswith("details"), r.text


@pytest.mark.parametrize("lat", [85.06, -85.06])
def test_a_latitude_beyond_the_geo_index_is_refused_for_positions(client, lat) -> None:
    r = client.post("/v1/positions", json={"positions": [{"unit_id": "P-C-1", "lon": 119.96, "lat": lat}]})
    assert r.status_code == 422 and "lat" in r.json()["field"], r.text
    r = client.post("/v1/units/P-C-1/position", json={"lon": 119.96, "lat": lat})
    assert r.status_code == 422 and "lat" in r.json()["field"], r.text


@pytest.mark.parametrize("query", ["near=200,0", "near=0,95"])
def test_a_place_off_the_globe_is_refused_for_near(client, query) -> None:
    r = client.get(f"/v1/units?{query}")
    assert r.status_code == 422 and r.json()["field"] == "near", r.text


@pytest.mark.parametrize("path", ["/v1/feeds/incidents?cursor=%C2%B9",
                                  "/v1/audit?after=99999999999999999999999-0"])
def test_odd_cursors_are_refused_not_crashed_on(client, path) -> None:
    r = client.get(path)
    assert r.status_code == 422 and r.json()["field"] in ("cursor", "after"), r.text


@pytest.mark.parametrize("details, says", [
    ({f"k{i}": i for i in range(501)}, "500 keys and items"),
    ({"list": list(range(600))}, "500 keys and items"),
    ({"note": "x" * 4001}, "4001 characters"),
    ({"k" * 101: 1}, "key of 101 characters"),
])
def test_details_too_big_are_refused_naming_where(client, centre, details, says) -> None:
    r = client.post("/v1/calls", json=call_body(centre, details=details))
    assert r.status_code == 422 and r.json()["field"].startswith("details"), r.text
    assert says in r.text
    fine = client.post("/v1/calls",
                       json=call_body(centre, details={"note": "x" * 4000, "n": list(range(400))}))
    assert fine.status_code == 201, fine.text


def test_a_batch_with_one_fix_off_the_geo_index_stores_none_and_a_device_stream_survives_it(
        client, centre) -> None:
    lon, lat = centre
    client.post("/v1/units/P-C-1/position", json={"lon": lon, "lat": lat})
    before = client.get("/v1/units/P-C-1").json()["position"]
    r = client.post("/v1/positions", json={"positions": [
        {"unit_id": "P-C-1", "lon": lon + 0.01, "lat": lat},
        {"unit_id": "P-C-2", "lon": lon, "lat": 85.06}]})
    assert r.status_code == 422 and "lat" in r.json()["field"], r.text
    assert client.get("/v1/units/P-C-1").json()["position"] == before  # all or nothing
    with client.websocket_connect("/v1/units/positions/ws") as ws:
        ws.send_json({"unit_id": "P-C-1", "lon": lon, "lat": 85.06})
        answer = ws.receive_json()
        assert "lat" in answer["field"], answer
        ws.send_json({"unit_id": "P-C-1", "lon": lon, "lat": lat})  # the stream is still open
        assert ws.receive_json() == {"accepted": 1}
