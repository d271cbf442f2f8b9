"""Closed and slowed roads: in the log, in force for the next route at once, units re-routed off
them, put back by a restart's replay, lifted on reopening; bad input named."""

from typing import Any

from fastapi.testclient import TestClient

from web.app import create_app


def _send_unit(client: TestClient, lon: float, lat: float) -> tuple[str, str, list[list[float]]]:
    """A call, its first unit sent: (incident, unit, the unit's route as drawn)."""
    inc = client.post("/v1/calls", json={"hotline": "120", "kind": "medical_emergency", "text": "x",
                                         "location": {"lon": lon, "lat": lat}}).json()["incident_id"]
    sent = client.post(f"/v1/incidents/{inc}/assign", json={}).json()
    uid = next(u for u in sent["assigned"] if u in sent["routes"])
    return inc, uid, sent["routes"][uid]["coords"]


def _stretch(coords: list[list[float]]) -> tuple[list[float], list[float]]:
    """A stretch of road in the middle of a route (between two of its nodes)."""
    k = max(1, len(coords) // 2 - 1)
    return coords[k], coords[k + 1]


def _drives(coords: list[list[float]], a: list[float], b: list[float]) -> bool:
    pairs = list(zip(coords, coords[1:], strict=False))
    return (a, b) in pairs or (b, a) in pairs


def _close(client: TestClient, a: list[float], b: list[float], **body: Any) -> dict[str, Any]:
    mid = {"lon": (a[0] + b[0]) / 2, "lat": (a[1] + b[1]) / 2}
    r = client.post("/v1/roads/restrictions", json={"location": mid, "reason": "gas leak", **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_closed_road_reroutes_the_units_driving_it_and_reopens(client, centre) -> None:
    app = client.app
    inc, uid, coords = _send_unit(client, *centre)
    a, b = _stretch(coords)
    closed = _close(client, a, b)
    assert closed["state"] == "closed" and closed["both_ways"]
    # the stretch under the point, by its ends (the route as drawn is rounded to 6 places)
    assert sorted([round(x, 6) for x in p] for p in closed["road"]) == sorted([a, b])
    index = app.state.backend.coordinator.router.index
    u, v = (app.state.backend.coordinator.restrictions._node_at[tuple(p)] for p in closed["road"])
    assert index.closed[index.edge_id[(u, v)]] and index.closed[index.edge_id[(v, u)]]

    route = client.get("/v1/routes").json()[uid]
    assert not _drives(route["coords"], a, b)
    timeline = client.get(f"/v1/incidents/{inc}").json()["timeline"]
    assert any(t["type"] == "unit_routed" and closed["restriction_id"] in t["summary"] for t in timeline)
    assert [r["restriction_id"] for r in client.get("/v1/roads/restrictions").json()["restrictions"]] \
        == [closed["restriction_id"]]
    assert app.state.backend.hub.snapshot()["roads"][0]["restriction_id"] == closed["restriction_id"]

    reopened = client.post(f"/v1/roads/restrictions/{closed['restriction_id']}/reopen", json={}).json()
    assert reopened["reopened_at"] is not None
    assert not index.closed[index.edge_id[(u, v)]] and not index.closed[index.edge_id[(v, u)]]
    assert client.get("/v1/roads/restrictions").json()["restrictions"] == []
    every = client.get("/v1/roads/restrictions", params={"include_reopened": True}).json()["restrictions"]
    assert [r["restriction_id"] for r in every] == [closed["restriction_id"]]


def test_a_slowed_road_keeps_the_slowest_speed_and_never_speeds_a_road_up(client, centre) -> None:
    app = client.app
    _, _, coords = _send_unit(client, *centre)
    a, b = _stretch(coords)
    index = app.state.backend.coordinator.router.index
    first = _close(client, a, b, speed_kmh=20, both_ways=False)
    u, v = (app.state.backend.coordinator.restrictions._node_at[tuple(p)] for p in first["road"])
    edge = index.edge_id[(u, v)]
    own = app.state.backend.network.graph.edges[u, v]["speed_kmh"]
    assert first["state"] == "slowed" and index.free_kmh[edge] == 20
    if (v, u) in index.edge_id:  # one way only: the other direction keeps its speed
        assert index.free_kmh[index.edge_id[(v, u)]] == own
    second = _close(client, a, b, speed_kmh=10, both_ways=False)
    assert index.free_kmh[edge] == 10
    client.post(f"/v1/roads/restrictions/{second['restriction_id']}/reopen", json={})
    assert index.free_kmh[edge] == 20  # the first still stands
    fast = _close(client, a, b, speed_kmh=129, both_ways=False)
    assert index.free_kmh[edge] == 20
    for r in (first, fast):
        client.post(f"/v1/roads/restrictions/{r['restriction_id']}/reopen", json={})
    assert index.free_kmh[edge] == own


def test_a_restart_replays_standing_closures_into_the_router(client, settings, small_city, centre) -> None:
    _, _, coords = _send_unit(client, *centre)
    a, b = _stretch(coords)
    closed = _close(client, a, b)
    with TestClient(create_app(settings, network=small_city)) as again:
        roads = again.app.state.backend.coordinator.restrictions
        index = again.app.state.backend.coordinator.router.index
        u, v = (roads._node_at[tuple(p)] for p in closed["road"])
        assert index.closed[index.edge_id[(u, v)]]


def test_bad_restrictions_are_refused_naming_the_field(client, centre) -> None:
    lon, lat = centre
    far = client.post("/v1/roads/restrictions", json={"location": {"lon": lon + 1.0, "lat": lat}})
    assert far.status_code == 422 and far.json()["field"] == "location"
    zero = client.post("/v1/roads/restrictions", json={"location": {"lon": lon, "lat": lat}, "speed_kmh": 0})
    assert zero.status_code == 422 and zero.json()["field"] == "speed_kmh"
    nope = client.post("/v1/roads/restrictions/R99999/reopen", json={})
    assert nope.status_code == 404 and nope.json()["field"] == "restriction_id"
    ok = client.post("/v1/roads/restrictions", json={"location": {"lon": lon, "lat": lat}}).json()
    client.post(f"/v1/roads/restrictions/{ok['restriction_id']}/reopen", json={})
    twice = client.post(f"/v1/roads/restrictions/{ok['restriction_id']}/reopen", json={})
    assert twice.status_code == 409 and twice.json()["field"] == "restriction_id"
    assert client.get("/v1/roads/restrictions").json()["restrictions"] == []  # nothing half-made
