"""The demo drive moves the fleet through the real position ingest: free units cruise, a sent unit
drives its route, reports en route and on scene, and its green wave is released on the way."""

from web.demo_drive import DemoDrive


def test_demo_drive_moves_every_unit_and_brings_a_whistled_unit_on_scene(client, centre) -> None:
    app = client.app
    drive = DemoDrive.on(app.state.backend, app.state.backend.network)
    client.portal.call(drive.tick, 0.0)
    first = {u["unit_id"]: u["position"] for u in client.get("/v1/units").json()["units"]}
    assert all(first.values()), "every unit reports a position from the first tick"
    client.portal.call(drive.tick, 30.0)
    moved = {u["unit_id"]: u["position"] for u in client.get("/v1/units").json()["units"]}
    assert sum((moved[u]["lon"], moved[u]["lat"]) != (first[u]["lon"], first[u]["lat"]) for u in first) \
        > len(first) // 2
    assert any(p["heading"] is not None and p["speed_kmh"] for p in moved.values())

    lon, lat = centre
    incident = client.post("/v1/calls", json={"hotline": "120", "kind": "drowning", "text": "x",
                                               "location": {"lon": lon, "lat": lat}}).json()["incident_id"]
    body = client.post(f"/v1/incidents/{incident}/whistle", json={"by": "d", "agency": "120"}).json()
    uid = max(body["green_waves"], key=lambda u: body["green_waves"][u]["signals"])
    client.portal.call(drive.tick, 31.0)
    assert client.get(f"/v1/units/{uid}").json()["status"] == "en_route"
    for t in range(32, 32 + 3600, 20):
        client.portal.call(drive.tick, float(t))
        if client.get(f"/v1/units/{uid}").json()["status"] == "on_scene":
            break
    unit = client.get(f"/v1/units/{uid}").json()
    assert unit["status"] == "on_scene"
    assert abs(unit["position"]["lon"] - lon) < 0.01 and abs(unit["position"]["lat"] - lat) < 0.01
    client.portal.call(app.state.backend.coordinator.priority.settle)
    corridor = next(c for c in client.get(f"/v1/incidents/{incident}").json()["corridors"]
                    if c["unit_id"] == uid)
    assert all(s["status"] in ("released", "refused") for s in corridor["signals"])
