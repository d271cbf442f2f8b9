"""The log on Redis Sentinel: a primary killed with calls in flight loses no acknowledged call;
with no replica to confirm, a call is a 503 with Retry-After, and its retry gets the first
answer once a replica is back. Real servers: Debian's redis-server as primary, replicas and
three sentinels."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import as_supervisor
from web.app import create_app
from web.redis_sentinel import ReplicatedRedis
from web.settings import Settings

pytestmark = pytest.mark.slow


def _call(centre: tuple[float, float], n: int) -> dict[str, object]:
    # spread out, so every call opens its own incident and each is easy to find again
    return {"hotline": "110", "kind": "theft", "text": f"call {n}",
            "location": {"lon": centre[0] + (n % 20) * 0.0004, "lat": centre[1] + (n // 20) * 0.0004}}


def _settings(url: str) -> Settings:
    return Settings(namespace="ha", redis_url=url, rate_limit="1000000/second", demo_motion=False)


def test_a_primary_killed_under_load_loses_no_acknowledged_call(tmp_path: Path, small_city, centre) -> None:
    with ReplicatedRedis(tmp_path / "log", replicas=2) as log, \
            TestClient(create_app(_settings(log.url), network=small_city)) as c:
        as_supervisor(c)
        acknowledged: dict[str, str] = {}  # idempotency key -> call id
        refused: list[int] = []
        stop = threading.Event()

        def take_calls() -> None:
            n = 0
            while not stop.is_set():
                key = f"ha-{n}"
                r = c.post("/v1/calls", json=_call(centre, n), headers={"Idempotency-Key": key})
                if r.status_code == 201:
                    acknowledged[key] = r.json()["call_id"]
                    n += 1
                else:  # a failover under way: a clear 503, and the same key is tried again
                    assert r.status_code == 503 and "Retry-After" in r.headers, (r.status_code, r.text)
                    refused.append(n)
                    time.sleep(0.1)

        caller = threading.Thread(target=take_calls)
        caller.start()
        try:
            time.sleep(1.0)
            old = log.primary()
            before = len(acknowledged)
            assert before > 0
            assert old.process is not None
            os.kill(old.process.pid, signal.SIGKILL)
            log.wait_failover(old.port)
            deadline = time.monotonic() + 20
            while len(acknowledged) < before + 20 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            stop.set()
            caller.join(30)
        assert len(acknowledged) >= before + 20, "calls were not acknowledged again after the failover"
        calls = c.app.state.backend.service.state.calls  # type: ignore[union-attr]
        for key, call_id in acknowledged.items():
            assert call_id in calls and calls[call_id].text == f"call {key.removeprefix('ha-')}"
        # one call per key: a retry never made a second one
        texts = [call.text for call in calls.values()]
        assert len(texts) == len(set(texts))


def test_no_replica_to_confirm_is_a_503_and_the_retry_gets_the_first_answer(
        tmp_path: Path, small_city, centre) -> None:
    with ReplicatedRedis(tmp_path / "log", replicas=1, max_lag_s=2) as log, \
            TestClient(create_app(_settings(log.url), network=small_city)) as c:
        as_supervisor(c)
        first = c.post("/v1/calls", json=_call(centre, 0), headers={"Idempotency-Key": "k0"})
        assert first.status_code == 201
        replica = log.servers[1]
        assert replica.process is not None
        os.kill(replica.process.pid, signal.SIGSTOP)  # alive to the sentinels' eyes, but silent
        try:
            deadline = time.monotonic() + 15
            while True:
                r = c.post("/v1/calls", json=_call(centre, 1), headers={"Idempotency-Key": "k1"})
                if r.status_code != 201 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] and "replica" in r.json()["error"]
        finally:
            os.kill(replica.process.pid, signal.SIGCONT)
        deadline = time.monotonic() + 20
        while True:
            again = c.post("/v1/calls", json=_call(centre, 1), headers={"Idempotency-Key": "k1"})
            if again.status_code == 201 or time.monotonic() > deadline:
                break
            assert again.status_code == 503
            time.sleep(0.3)
        assert again.status_code == 201, again.text
        retry = c.post("/v1/calls", json=_call(centre, 1), headers={"Idempotency-Key": "k1"})
        assert retry.status_code == 201 and retry.json()["call_id"] == again.json()["call_id"]
        assert retry.headers.get("Idempotent-Replayed") == "true"
        # the first call was never touched
        assert c.get(f"/v1/calls/{first.json()['call_id']}").status_code == 200
