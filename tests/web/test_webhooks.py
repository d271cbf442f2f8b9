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
    # the receivers are on loopback: the allow-list names it, as an operator would a hospital's LAN
    fast = settings.model_copy(update={"webhook_backoff_s": [0.2, 0.4, 0.4], "webhook_timeout_s": 30.0,
                                       "webhook_allow": ["127.0.0.0/8"]})
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
    assert dead2 and dead2[0]["last_error"] == "could not connect"  # said plainly, no raw error


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


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:6379/", "http://localhost:8000/hook", "http://[::1]/hook", "http://0.0.0.0/hook",
    "http://2130706433/hook", "http://10.0.0.5/hook", "http://192.168.1.10/hook", "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/hook", "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1]/hook", "https://user:pw@93.184.216.34/hook", "ftp://93.184.216.34/hook",
])
def test_internal_and_credentialed_targets_are_refused(app_client, url) -> None:
    auth = {"Authorization": f"Bearer {key_maker(app_client)('120', Role.FEED_READER)}"}
    r = app_client.post("/v1/webhooks", json={"url": url, "secret": SECRET}, headers=auth)
    assert r.status_code == 422 and r.json()["field"] == "url", r.text


def test_a_public_address_is_taken_and_a_name_allow_list_limits_targets(app_client, settings,
                                                                        small_city) -> None:
    auth = {"Authorization": f"Bearer {key_maker(app_client)('120', Role.FEED_READER)}"}
    public = {"url": "http://93.184.216.34/hook", "secret": SECRET}
    r = app_client.post("/v1/webhooks", json=public, headers=auth)
    assert r.status_code == 201, r.text
    only = settings.model_copy(update={"webhook_allow": [".hospital.example"]})
    with TestClient(create_app(only, network=small_city)) as c:
        auth = {"Authorization": f"Bearer {key_maker(c)('120', Role.FEED_READER)}"}
        r = c.post("/v1/webhooks", json=public, headers=auth)
        assert r.status_code == 422 and "allow-list" in r.json()["error"]


def test_a_target_is_checked_again_at_every_attempt(hooked, receiver, centre, settings, small_city) -> None:
    url, log = receiver("ok")
    auth, hook_id = register(hooked, url)  # allowed then: loopback was in the allow-list
    hooked.__exit__(None, None, None)
    strict = settings.model_copy(update={"webhook_backoff_s": [0.2, 0.4, 0.4]})  # no allow-list now
    with TestClient(create_app(strict, network=small_city)) as c:
        post_call(c, centre)
        dead = dead_letters(c, auth, hook_id, 1)
        assert dead and dead[0]["last_error"].startswith("target refused: 127.0.0.1 is an internal address")
    assert not log.exists()  # nothing reached it


def test_a_redirect_is_not_followed(hooked, receiver, centre) -> None:
    inner, inner_log = receiver("ok")
    url, _ = receiver("redirect", inner)
    auth, hook_id = register(hooked, url)
    post_call(hooked, centre)
    dead = dead_letters(hooked, auth, hook_id, 1)
    assert dead and dead[0]["last_error"] == "HTTP 302"
    assert not inner_log.exists()


def test_a_huge_reply_is_not_read(hooked, receiver, centre) -> None:
    url, log = receiver("big", "200")  # 200 MB of reply to every delivery
    auth, hook_id = register(hooked, url)
    post_call(hooked, centre)
    items = len(hooked.get("/v1/feeds/incidents", headers=auth).json()["items"])
    received(log, lambda g: len(by_delivery(g)) >= items)
    sent_log = log.with_suffix(".sent")

    def sent() -> list[int]:
        return [int(n) for n in sent_log.read_text().split()] if sent_log.exists() else []

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(sent()) < items:
        time.sleep(0.1)
    assert len(sent()) >= items and max(sent()) < 100 * 2**20  # hung up long before the end of it
    assert hooked.get(f"/v1/webhooks/{hook_id}/dead-letters", headers=auth).json()["count"] == 0


@pytest.fixture
def impatient(settings, small_city) -> Iterator[TestClient]:
    quick = settings.model_copy(update={"webhook_backoff_s": [0.2, 0.2, 0.2], "webhook_timeout_s": 1.0,
                                        "webhook_allow": ["127.0.0.0/8"]})
    with TestClient(create_app(quick, network=small_city)) as c:
        yield c


def test_a_slow_receiver_delays_only_its_own_deliveries(impatient, receiver, centre) -> None:
    from web.webhooks import PER_HOOK

    c = impatient
    slow_url, slow_log = receiver("drip")  # a byte every 3 s: never a whole answer
    fast_url, fast_log = receiver("ok")
    slow_auth, slow_id = register(c, slow_url)
    fast_auth, _ = register(c, fast_url)
    for i in range(6):
        post_call(c, centre, i=i)
    items = len(c.get("/v1/feeds/incidents", headers=fast_auth).json()["items"])
    assert items > 2 * PER_HOOK
    # the other hospital gets every item while the slow one still holds what it may
    got = received(fast_log, lambda g: len(by_delivery(g)) >= items)
    assert len(by_delivery(got)) == items
    received(slow_log, lambda g: len(g) >= PER_HOOK)
    assert 0 < c.app.state.backend.webhooks.busy[slow_id] <= PER_HOOK  # type: ignore[union-attr]
    dead = dead_letters(c, slow_auth, slow_id, 1)
    assert dead and dead[0]["last_error"] == "no answer within 1 s"
