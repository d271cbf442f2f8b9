"""The fleet API: demo fleet, positions through real Redis, recommendation and assignment."""

import threading
from datetime import UTC, datetime, timedelta

M_PER_DEG_LAT = 111_195.0


def crash(client, centre, kind="person_trapped", north_m=0.0, hotline="119"):
    lon, lat = centre
    r = client.post("/v1/calls", json={"hotline": hotline, "kind": kind, "caller_number": "13800000009",
                                       "location": {"lon": lon, "lat": lat + north_m / M_PER_DEG_LAT}})
    assert r.status_code == 201, r.text
    return r.json()["incident_id"]


def test_demo_fleet_has_units_of_every_agency(client) -> None:
    units = client.get("/v1/units").json()["units"]
    assert {u["agency"] for u in units} == {"110", "119", "120", "122"}
    ambulances = client.get("/v1/units", params={"agency": "120", "kind": "ambulance"}).json()
    assert ambulances["count"] == 11 and all(u["status"] == "available" for u in ambulances["units"])


def test_positions_single_and_batch_reach_redis_and_the_near_query(client, centre) -> None:
    lon, lat = centre
    r = client.post("/v1/units/A-C-1/position", json={"lon": lon, "lat": lat, "heading": 90})
    assert r.status_code == 200
    batch = {"positions": [{"unit_id": f"P-C-{i}", "lon": lon + i * 0.001, "lat": lat} for i in range(1, 4)]}
    assert client.post("/v1/positions", json=batch).json() == {"accepted": 3}
    near = client.get("/v1/units", params={"near": f"{lon},{lat}", "radius_m": 500}).json()["units"]
    assert [u["unit_id"] for u in near][:2] == ["A-C-1", "P-C-1"]
    unit = client.get("/v1/units/A-C-1").json()
    assert unit["position"]["heading"] == 90 and unit["stale"] is False


def test_a_bad_batch_names_the_field_and_stores_nothing(client, centre) -> None:
    lon, lat = centre
    bad = {"positions": [{"unit_id": "P-C-1", "lon": lon, "lat": lat},
                         {"unit_id": "NOPE", "lon": lon, "lat": lat}]}
    r = client.post("/v1/positions", json=bad)
    assert r.status_code == 422 and r.json()["field"] == "positions[1].unit_id"
    assert client.get("/v1/units/P-C-1").json()["position"] is None
    r = client.post("/v1/positions", json={"positions": [{"unit_id": "P-C-1", "lon": 999, "lat": lat}]})
    assert r.status_code == 422 and r.json()["field"] == "positions.0.lon"


def test_a_full_batch_fits_the_body_limit_and_more_than_that_is_refused(client, centre) -> None:
    """The API takes 10,000 fixes a request: a gateway's batch of that many fits the body limit
    (other endpoints keep their small one); beyond it the batch is 413, naming the limit."""
    lon, lat = centre
    units = [u["unit_id"] for u in client.get("/v1/units").json()["units"]]
    fixes = [{"unit_id": units[i % len(units)], "lon": lon, "lat": lat + i * 1e-7, "heading": 90.0,
              "speed_kmh": 40.0} for i in range(10_000)]
    r = client.post("/v1/positions", json={"positions": fixes})
    assert r.status_code == 200, r.text[:200]
    r = client.post("/v1/positions", content=b'{"positions": [' + b" " * (3 * 1024 * 1024) + b"]}",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "2097152" in r.json()["error"]


def test_old_fixes_are_flagged_stale(client, centre) -> None:
    old = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    client.post("/v1/units/A-S-1/position", json={"lon": centre[0], "lat": centre[1], "at": old})
    assert client.get("/v1/units/A-S-1").json()["stale"] is True


def test_device_websocket_ingress_answers_each_message(client, centre) -> None:
    with client.websocket_connect("/v1/units/positions/ws") as ws:
        ws.send_json({"unit_id": "E-1-1", "lon": centre[0], "lat": centre[1], "speed_kmh": 40})
        assert ws.receive_json() == {"accepted": 1}
        ws.send_text("not json")
        assert ws.receive_json()["field"] == "body"
        ws.send_json({"unit_id": "E-1-1", "lon": centre[0]})
        assert ws.receive_json()["field"] == "positions.0.lat"
    assert client.get("/v1/units/E-1-1").json()["position"]["speed_kmh"] == 40


def test_recommendation_names_units_of_each_agency_with_etas(client, centre) -> None:
    incident = crash(client, centre)
    rec = client.get(f"/v1/incidents/{incident}/recommendation").json()
    agencies = {n["agency"] for n in rec["needs"]}
    assert agencies == {"110", "119", "120", "122"}
    for need in rec["needs"]:
        etas = [c["eta_s"] for c in need["candidates"]]
        assert etas and etas == sorted(etas) and etas[0] > 0
    assert rec["hospital"]["needed"] == "trauma" and rec["hospital"]["eta_s"] > 0


def test_confirming_sends_units_on_their_routes_and_no_unit_goes_twice(client, centre) -> None:
    first = crash(client, centre)
    second = crash(client, centre, north_m=1500)
    sent = client.post(f"/v1/incidents/{first}/assign", json={}).json()
    assert len(sent["assigned"]) == 4 and set(sent["routes"]) == set(sent["assigned"])
    route = next(iter(sent["routes"].values()))
    assert len(route["coords"]) >= 2 and route["eta_s"] >= route["eta_green_s"] > 0
    unit = client.get(f"/v1/units/{sent['assigned'][0]}").json()
    assert unit["status"] == "dispatched" and unit["incident_id"] == first and "route" in unit
    taken = client.post(f"/v1/incidents/{second}/assign",
                        json={"units": [sent["assigned"][0]], "reason": "closest"})
    assert taken.status_code == 409 and taken.json()["field"] == "units"
    other = client.post(f"/v1/incidents/{second}/assign", json={"units": ["P-W-1"]})
    assert other.status_code == 422 and other.json()["field"] == "reason"


def test_concurrent_assignments_never_give_one_unit_to_two_incidents(settings, small_city, centre) -> None:
    from fastapi.testclient import TestClient

    from tests.web.conftest import as_supervisor
    from web.app import create_app

    with TestClient(create_app(settings, network=small_city)) as one, \
            TestClient(create_app(settings, network=small_city)) as two:
        as_supervisor(one, two)
        a = crash(one, centre, "medical_emergency", 0, "120")
        b = crash(one, centre, "medical_emergency", 2000, "120")
        results: dict[str, int] = {}

        def send(c, inc):
            results[inc] = c.post(f"/v1/incidents/{inc}/assign",
                                  json={"units": ["A-C-1"], "reason": "test race"}).status_code

        threads = [threading.Thread(target=send, args=(one, a)), threading.Thread(target=send, args=(two, b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [200, 409]
        assert one.get("/v1/units/A-C-1").json()["incident_id"] in (a, b)


def test_illegal_unit_status_is_409_and_unknown_unit_404(client) -> None:
    r = client.post("/v1/units/A-C-2/status", json={"status": "transporting"})
    assert r.status_code == 409 and "allowed" in r.json()["error"]
    assert client.post("/v1/units/ZZZ/status", json={"status": "available"}).status_code == 404
    assert client.post("/v1/units/A-C-2/status", json={"status": "out_of_service"}).status_code == 200


def test_a_unit_off_its_route_is_rerouted_and_the_timeline_says_so(client, centre) -> None:
    incident = crash(client, centre, "medical_emergency", 0, "120")
    sent = client.post(f"/v1/incidents/{incident}/assign", json={}).json()
    uid = sent["assigned"][0]
    before = sent["routes"][uid]
    lon, lat = before["coords"][0]
    on_route = client.post(f"/v1/units/{uid}/position", json={"lon": lon, "lat": lat})
    assert on_route.status_code == 200
    assert client.get(f"/v1/units/{uid}").json()["route"]["coords"] == before["coords"]
    client.post(f"/v1/units/{uid}/position", json={"lon": lon + 0.01, "lat": lat + 0.008})
    after = client.get(f"/v1/units/{uid}").json()["route"]
    assert after["coords"] != before["coords"]
    timeline = client.get(f"/v1/incidents/{incident}").json()["timeline"]
    assert any("re-routed" in t["summary"] and "off its route" in t["summary"] for t in timeline)


def test_one_search_ranking_agrees_with_a_route_per_unit(client, centre) -> None:
    """Brute force: route every ambulance on its own; the one-search ETAs must match."""
    coordinator = client.app.state.backend.coordinator
    ids = [f"A-C-{i}" for i in range(1, 6)] + ["A-S-1"]
    units = client.portal.call(coordinator.whereabouts.places, ids)
    road = coordinator.router
    one_search = road.drive_times(centre, units, "ambulance")
    brute = {u: road.route(p, centre, "ambulance").eta_green_s for u, p in units.items()}
    assert one_search.keys() == brute.keys()
    for u in brute:
        assert abs(one_search[u] - brute[u]) < 0.05  # the CCH engine weighs whole milliseconds
    assert sorted(one_search, key=one_search.get) == sorted(brute, key=brute.get)
