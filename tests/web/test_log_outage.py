"""While the log's Redis is down, requests get a clear 503 with Retry-After (JSON, naming the
cause), not a plain-text 500; once it is back, calls are taken again."""

import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.web.conftest import as_supervisor
from web.app import create_app
from web.redis_server import RedisServer
from web.settings import Settings


def test_a_redis_outage_is_a_503_with_retry_after_and_calls_resume(tmp_path: Path, small_city,
                                                                   centre) -> None:
    server = RedisServer(tmp_path / "redis").start()
    settings = Settings(namespace="outage", redis_url=server.url, rate_limit="1000000/second",
                        demo_motion=False)
    call = {"hotline": "110", "kind": "theft", "text": "bike gone",
            "location": {"lon": centre[0], "lat": centre[1]}}
    try:
        with TestClient(create_app(settings, network=small_city)) as c:
            as_supervisor(c)
            assert c.post("/v1/calls", json=call).status_code == 201
            server.stop()
            for path in ("/healthz", "/v1/incidents"):
                r = c.get(path)
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert r.headers["Retry-After"] == "1" and "Redis" in r.json()["error"]
            r = c.post("/v1/calls", json=call, headers={"Idempotency-Key": "outage-1"})
            assert r.status_code == 503
            server = RedisServer(tmp_path / "redis", port=server.port).start()
            deadline = time.monotonic() + 15
            while True:  # the pool's stale connections are dropped as they fail
                r = c.post("/v1/calls", json=call, headers={"Idempotency-Key": "outage-1"})
                if r.status_code == 201 or time.monotonic() > deadline:
                    break
                assert r.status_code == 503, r.text
                time.sleep(0.2)
            assert r.status_code == 201, r.text
    finally:
        server.stop()


def test_a_live_screen_whose_sender_fails_on_redis_is_closed_to_reconnect(client, centre) -> None:
    """An audit write failing under a live screen closes it (1013, try again later), so the page
    says offline and reconnects, instead of showing "live" over a picture that no longer moves."""
    import redis.exceptions
    from starlette.websockets import WebSocketDisconnect

    audit = client.app.state.backend.audit  # type: ignore[union-attr]

    async def down(*_args: object, **_kw: object) -> list[dict]:
        raise redis.exceptions.ConnectionError("Connection closed by server.")

    call = {"hotline": "110", "kind": "theft", "location": {"lon": centre[0], "lat": centre[1]}}
    with client.websocket_connect("/v1/live") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        audit.disclose = down  # the next call's record needs an audit write, which now fails
        assert client.post("/v1/calls", json=call).status_code == 201
        try:
            while True:
                ws.receive_json()
        except WebSocketDisconnect as closed:
            assert closed.code == 1013 and "reconnect" in closed.reason
