"""Acknowledged means durable: kill -9 the server (and Redis) right after a 201, start again."""

import signal
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import AUTH, start_server
from web.redis_server import RedisServer, free_port


def call(i: int, lon: float, lat: float) -> dict:
    # a day apart, so none merges and every call has its own incident to look for
    return {"hotline": "110", "received_at": f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}T08:00:00+08:00",
            "caller_number": f"1380000{i:04d}", "kind": "theft", "location": {"lon": lon, "lat": lat}}


@pytest.mark.slow
def test_every_acknowledged_call_survives_sigkill_of_server_and_redis(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis").start()
    port = free_port()
    server = start_server(redis.url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        w, s, e, n = httpx.get(f"{base}/v1/map/roads", headers=AUTH, timeout=30).json()["bounds"]
        lon, lat = (w + e) / 2, (s + n) / 2
        acked = []
        for i in range(20):
            r = httpx.post(f"{base}/v1/calls", json=call(i, lon, lat), headers=AUTH, timeout=10)
            assert r.status_code == 201
            acked.append(r.json())
        server.send_signal(signal.SIGKILL)  # right after the last 201
        server.wait()
        assert redis.process is not None
        redis.process.send_signal(signal.SIGKILL)
        redis.process.wait()
        redis = RedisServer(tmp_path / "redis", port=redis.port).start()
        server = start_server(redis.url, port)
        listed = httpx.get(f"{base}/v1/incidents", params={"limit": 1000}, headers=AUTH,
                           timeout=10).json()
        assert {a["incident_id"] for a in acked} <= {i["incident_id"] for i in listed["incidents"]}
        for a in acked:
            got = httpx.get(f"{base}/v1/calls/{a['call_id']}", headers=AUTH, timeout=10).json()
            assert got["incident_id"] == a["incident_id"]
        # and the next call continues the numbering rather than reusing an id
        nxt = httpx.post(f"{base}/v1/calls", json=call(99, lon, lat), headers=AUTH, timeout=10).json()
        assert nxt["call_id"] not in {a["call_id"] for a in acked}
    finally:
        server.kill()
        redis.stop()
