"""Webhooks against a real receiver process on loopback: signed deliveries with a stable id,
retries with backoff, the dead-letter list, and intake that never waits for a receiver."""

import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import key_maker
from web.api_keys import Role
from web.app import create_app
from web.redis_server import free_port

RECEIVER = Path(__file__).with_name("webhook_receiver.py")
SECRET = "s3cret-shared-with-the-hospital"


@pytest.fixture
def receiver(tmp_path: Path):
    """start(mode, arg) -> (url, log path) of a receiver process; all are stopped after the test."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(mode: str, arg: str = "") -> tuple[str, Path]:
        port, log = free_port(), tmp_path / f"received-{len(procs)}.jsonl"
        procs.append(subprocess.Popen([sys.executable, str(RECEIVER), str(port), str(log), mode, arg]))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        return f"http://127.0.0.1:{port}/hook", log

    yield start
    for p in procs:
        p.kill()
        p.wait()


@pytest.fixture
def hooked(settings, small_city) -> Iterator[TestClient]:
    fast = settings.model_copy(update={"webhook_backoff_s": [0.2, 0.4, 0.4], "webhook_timeout_s": 30.0})
    with TestClient(create_app(fast, network=small_city)) as c:
        yield c


def received(log: Path, enough, timeout_s: float = 20) -> list[dict]:
    """The receiver's log once `enough(requests)` holds."""
    deadline = time.monotonic() + timeout_s
    got: list[dict] = []
    while time.monotonic() < deadline:
        got = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        if enough(got):
            return got
        time.sleep(0.05)
    raise AssertionError(f"the receiver got only {len(got)} requests")


def by_delivery(got: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for g in got:
        out.setdefault(g["headers"]["JD-Delivery-Id"], []).append(g)
    return out


def incidents_in(got: list[dict]) -> set[str]:
    return {json.loads(g["body"])["incident"]["incident_id"] for g in got}


def register(c: TestClient, url: str, agency: str = "120") -> tuple[dict[str, str], str]:
    auth = {"Authorization": f"Bearer {key_maker(c)(agency, Role.FEED_READER)}"}
    r = c.post("/v1/webhooks", json={"url": url, "secret": SECRET}, headers=auth)
    assert r.status_code == 201, r.text
    assert "secret" not in r.json()
    return auth, r.json()["webhook_id"]


def post_call(c: TestClient, centre, hotline: str = "120", i: int = 0,
              kind: str = "medical_emergency") -> dict:
    auth = {"Authorization": f"Bearer {key_maker(c)(hotline, Role.CALL_TAKER)}"}
    r = c.post("/v1/calls", headers=auth, json={
        "hotline": hotline, "kind": kind, "caller_number": "13800138000",
        "received_at": f"2026-05-01T{i:02d}:00:00+08:00", "details": {"patient_age": 70},
        "location": {"lon": centre[0], "lat": centre[1]}})
    assert r.status_code == 201, r.text
    return r.json()


def test_deliveries_are_signed_retried_with_one_id_and_carry_what_the_agency_may_read(
        hooked, receiver, centre) -> None:
    url, log = receiver("fail-first", "2")
    auth, hook_id = register(hooked, url)
    call = post_call(hooked, centre, "120")
    post_call(hooked, centre, "110", 5, kind="theft")  # police only: none of the hospital's business
    items = len([i for i in hooked.get("/v1/feeds/incidents", headers=auth).json()["items"]])
    assert items >= 2  # the incident opened, its tasks made: each a feed item, each a delivery
    got = received(log, lambda g: len(g) >= 3 * items)
    time.sleep(0.8)  # longer than any backoff left: nothing more should come
    got = received(log, lambda g: True)
    deliveries = by_delivery(got)
    assert len(deliveries) == items and len(got) == 3 * items  # each: two failures, then delivered
    for delivery_id, attempts in deliveries.items():
        assert delivery_id.startswith(hook_id)
        assert [a["headers"]["JD-Delivery-Attempt"] for a in attempts] == ["1", "2", "3"]
        assert attempts[2]["received"] - attempts[1]["received"] >= 0.35  # the backoff grows
        assert len({a["body"] for a in attempts}) == 1  # the same body each time
        for a in attempts:
            ts, body = a["headers"]["JD-Timestamp"], a["body"].encode()
            mine = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            assert a["headers"]["JD-Signature"] == f"t={ts},v1={mine}"
            assert abs(time.time() - int(ts)) < 60
    assert incidents_in(got) == {call["incident_id"]}
    shown = json.loads(got[0]["body"])["incident"]["calls"][0]
    assert shown["caller_number"] == "13800138000" and shown["details"]["patient_age"] == 70
    assert hooked.get(f"/v1/webhooks/{hook_id}/dead-letters", headers=auth).json()["count"] == 0
    listed = hooked.get("/v1/webhooks", headers=auth).json()["webhooks"]
    assert [h["webhook_id"] for h in listed] == [hook_id] and "secret" not in listed[0]
    other = {"Authorization": f"Bearer {key_maker(hooked)('119', Role.FEED_READER)}"}
    assert hooked.get(f"/v1/webhooks/{hook_id}/dead-letters", headers=other).status_code == 404
    assert hooked.get("/v1/webhooks", headers=other).json()["count"] == 0


def dead_letters(c: TestClient, auth: dict[str, str], hook_id: str, count: int) -> list[dict]:
    deadline = time.monotonic() + 15
    dead: list[dict] = []
    while time.monotonic() < deadline and len(dead) < count:
        dead = c.get(f"/v1/webhooks/{hook_id}/dead-letters", headers=auth).json()["dead_letters"]
        time.sleep(0.1)
    return dead


def test_after_the_last_retry_a_delivery_is_kept_as_a_dead_letter(hooked, receiver, centre) -> None:
    url, log = receiver("fail")
    auth, hook_id = register(hooked, url)
    call = post_call(hooked, centre)
    items = len(hooked.get("/v1/feeds/incidents", headers=auth).json()["items"])
    dead = dead_letters(hooked, auth, hook_id, items)
    assert len(dead) == items
    assert all(d["attempts"] == 4 and d["last_error"] == "HTTP 500" for d in dead)  # try + 3 retries
    assert {d["body"]["incident"]["incident_id"] for d in dead} == {call["incident_id"]}
    assert len(received(log, lambda g: True)) == 4 * items
    # a receiver that is not there at all: dead letters too, saying why
    auth2, hook2 = register(hooked, f"http://127.0.0.1:{free_port()}/hook")
    post_call(hooked, centre, i=3)
    dead2 = dead_letters(hooked, auth2, hook2, 1)
    assert dead2 and "Connect" in dead2[0]["last_error"]


def test_a_receiver_that_does_not_answer_never_holds_up_intake(hooked, receiver, centre, tmp_path) -> None:
    release = tmp_path / "release"
    url, log = receiver("hold", str(release))
    register(hooked, url)
    first = post_call(hooked, centre, i=0)
    received(log, lambda g: len(g) >= 1)  # the receiver now holds a delivery open, unanswered
    answers = [post_call(hooked, centre, i=i) for i in range(1, 6)]
    assert len({a["call_id"] for a in answers}) == 5  # all acknowledged while it held on
    assert hooked.get("/healthz").status_code == 200
    release.touch()
    ids = {first["incident_id"], *(a["incident_id"] for a in answers)}
    received(log, lambda g: incidents_in(g) == ids)
