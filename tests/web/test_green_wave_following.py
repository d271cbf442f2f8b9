"""Following a whistled unit along its corridor through the real app: positions posted through the
same ingest as vehicles use release each signal behind the unit, re-send windows when its ETA
drifts, and give everything back when it leaves its route or its task ends; all in the log."""

import time
from typing import Any

from fastapi.testclient import TestClient

from dispatch.router import RoutePlan, SignalPassage


def _whistled_unit(client: TestClient, centre: tuple[float, float]) -> tuple[str, str, dict[str, Any]]:
    lon, lat = centre
    incident = client.post("/v1/calls", json={
        "hotline": "120", "kind": "drowning", "text": "swimmer under",
        "location": {"lon": lon, "lat": lat}}).json()["incident_id"]
    body = client.post(f"/v1/incidents/{incident}/whistle", json={"by": "d", "agency": "120"}).json()
    uid = max(body["green_waves"], key=lambda u: body["green_waves"][u]["signals"])
    assert body["green_waves"][uid]["signals"] >= 2, "the demo route should cross two signals"
    return incident, uid, body["routes"][uid]


def _corridor(client: TestClient, incident: str, uid: str) -> dict[str, Any]:
    detail = client.get(f"/v1/incidents/{incident}").json()
    return next(c for c in detail["corridors"] if c["unit_id"] == uid)


def _until(check, timeout_s: float = 5.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def _log_types(client: TestClient, incident: str) -> list[str]:
    return [t["type"] for t in client.get(f"/v1/incidents/{incident}").json()["timeline"]]


def test_signal_behind_the_unit_is_released_and_ahead_retimed(client, centre) -> None:
    incident, uid, route = _whistled_unit(client, centre)
    places = {s["id"]: (s["lon"], s["lat"]) for s in client.get("/v1/map/roads").json()["signals"]}
    corridor = _corridor(client, incident, uid)
    ordered = sorted(corridor["signals"], key=lambda s: s["order"])
    first = ordered[0]
    coords = [tuple(c) for c in route["coords"]]
    at = min(range(len(coords)), key=lambda i: abs(coords[i][0] - places[first["signal_id"]][0])
             + abs(coords[i][1] - places[first["signal_id"]][1]))
    beyond = coords[min(at + 1, len(coords) - 1)]
    # The unit is past the first stop line long before its planned ETA there: the first signal
    # goes back to its plan, the ones ahead get earlier windows.
    client.post(f"/v1/units/{uid}/position", json={"lon": beyond[0], "lat": beyond[1]})
    after = _until(lambda: (c := _corridor(client, incident, uid))["signals"][0]["status"] == "released"
                   and any(s["eta"] < o["eta"] - 5 for s, o in zip(c["signals"][1:], ordered[1:],
                                                                      strict=True)) and c)
    assert after, _corridor(client, incident, uid)
    statuses = {s["signal_id"]: s["status"] for s in after["signals"]}
    assert statuses[first["signal_id"]] == "released"
    assert all(statuses[s["signal_id"]] != "released" for s in ordered[1:])
    for new, old in zip(after["signals"][1:], ordered[1:], strict=True):
        assert new["window_start"] == new["eta"] - 15 and new["window_end"] == new["eta"] + 5
        assert new["eta"] < old["eta"]
    assert "green_wave_retimed" in _log_types(client, incident)


def test_leaving_the_route_releases_the_corridor_and_asks_along_the_new_one(client, centre) -> None:
    incident, uid, route = _whistled_unit(client, centre)
    old_ids = {s["request_id"] for s in _corridor(client, incident, uid)["signals"]}
    # A fix on the road network but far from the route: the unit took another street.
    w, s, e, n = client.get("/v1/map/roads").json()["bounds"]
    far = min(([w + (e - w) * fx, s + (n - s) * fy] for fx in (0.2, 0.8) for fy in (0.2, 0.8)),
              key=lambda p: -min(abs(p[0] - c[0]) + abs(p[1] - c[1]) for c in route["coords"]))
    client.post(f"/v1/units/{uid}/position", json={"lon": far[0], "lat": far[1]})
    types = _until(lambda: (t := _log_types(client, incident)).count("green_wave_requested") >= 2 and t,
                   timeout_s=10)
    assert types, _log_types(client, incident)
    assert types.count("unit_routed") >= 2 and "green_wave_released" in types
    timeline = client.get(f"/v1/incidents/{incident}").json()["timeline"]
    assert any("re-routed" in t["summary"] and "off its route" in t["summary"] for t in timeline)
    assert any("green wave" in t["summary"] and "released" in t["summary"] for t in timeline)
    new_ids = {s["request_id"] for s in _corridor(client, incident, uid)["signals"]}
    assert not new_ids & old_ids  # a new corridor, asked afresh


def test_arriving_on_scene_gives_every_junction_back(client, centre) -> None:
    incident, uid, _ = _whistled_unit(client, centre)
    client.post(f"/v1/units/{uid}/status", json={"status": "en_route"})
    client.post(f"/v1/units/{uid}/status", json={"status": "on_scene"})
    done = _until(lambda: all(s["status"] in ("released", "refused")
                              for s in _corridor(client, incident, uid)["signals"]))
    assert done, _corridor(client, incident, uid)


def test_losing_a_junction_to_a_more_urgent_unit_shows_the_revised_window_in_the_log(client, centre) -> None:
    """Two units reach one junction at once from conflicting approaches: the more severe
    incident's unit keeps the junction, the other is answered again with a later window, and
    that answer is in the other unit's corridor (its dispatcher sees it) and in the log."""
    app = client.app
    priority = app.state.backend.coordinator.priority
    service = app.state.backend.service
    lon, lat = centre
    minor = client.post("/v1/calls", json={"hotline": "110", "kind": "fight", "text": "x",
                                            "location": {"lon": lon, "lat": lat}}).json()["incident_id"]
    major = client.post("/v1/calls", json={"hotline": "119", "kind": "fire", "text": "y", "location": {
        "lon": lon + 0.02, "lat": lat}}).json()["incident_id"]
    sent = {}
    for inc in (minor, major):
        assigned = client.post(f"/v1/incidents/{inc}/assign", json={}).json()["assigned"]
        sent[inc] = assigned[0]
    # A junction no corridor asked for yet: the two requests below must meet only each other.
    held = {sig for c in service.state.corridors.values() for sig in c.signals}
    sid, junction = next((s, j) for s, j in priority.gateway.junctions.items()
                         if len(j.plan.phases) >= 2 and s not in held)
    approaches = [sorted(p.approaches)[0] for p in junction.plan.phases[:2]]
    plans = {}
    for inc, approach in zip((minor, major), approaches, strict=True):
        # The same junction 60 s ahead for both, each from its own street.
        plans[inc] = RoutePlan(eta_s=80.0, eta_green_s=60.0, length_m=900.0,
                               coords=[(lon, lat), (lon + 0.005, lat)],
                               signals=[SignalPassage(sid, approach, 60.0, 20.0)])
    client.portal.call(priority.request, sent[minor], plans[minor], None)
    first = _corridor(client, minor, sent[minor])["signals"][0]
    assert first["status"] == "granted", first
    client.portal.call(priority.request, sent[major], plans[major], None)
    assert _corridor(client, major, sent[major])["signals"][0]["status"] == "granted"
    revised = _corridor(client, minor, sent[minor])["signals"][0]
    assert revised["status"] in ("queued", "refused")
    if revised["status"] == "queued":
        assert revised["served_start"] > first["served_start"]
    answered = [t for t in client.get(f"/v1/incidents/{minor}").json()["timeline"]
                if t["type"] == "green_wave_answered"]
    assert len(answered) == 2  # the first answer, then the revision the other unit caused
    assert service.state.corridors[sent[minor]].signals[sid].status == revised["status"]
