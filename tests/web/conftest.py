"""Fixtures for the API: the app on a real Redis and a small demo city built once; clients carry
an API key (a supervisor's unless a test asks for another)."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from routing.demo_city import build_demo_city
from routing.network import RoadNetwork
from web.api_keys import Role
from web.app import create_app
from web.settings import Settings

CENTRE = (119.96, 30.05)
# The key a server started by `start_server` accepts as its demo supervisor's.
SUPERVISOR_KEY = "jd_test_supervisor_" + "k" * 32
AUTH = {"Authorization": f"Bearer {SUPERVISOR_KEY}"}


@pytest.fixture(scope="session")
def small_city() -> RoadNetwork:
    return build_demo_city(seed=7, scale=0.15)


@pytest.fixture
def settings(namespace: str, redis_server) -> Settings:
    # no rate limit worth the name, except where a test sets one
    return Settings(namespace=namespace, redis_url=redis_server.url, rate_limit="1000000/second",
                    demo_motion=False)


MakeKey = Callable[..., str]


def key_maker(c: TestClient) -> MakeKey:
    def make(agency: str = "120", *roles: Role, unit_id: str | None = None, rate: str | None = None,
             client_id: str = "test") -> str:
        plain, _ = c.portal.call(lambda: c.app.state.backend.keys.create(  # type: ignore[union-attr]
            client_id, agency, list(roles or [Role.SUPERVISOR]), datetime.now(UTC), unit_id, rate))
        return plain

    return make


def as_supervisor(c: TestClient, *others: TestClient) -> TestClient:
    """Give a started TestClient (and others on the same Redis) one 120 supervisor's key."""
    header = f"Bearer {key_maker(c)('120', Role.SUPERVISOR)}"
    for each in (c, *others):
        each.headers["Authorization"] = header
    return c


@pytest.fixture
def app_client(settings: Settings, small_city: RoadNetwork) -> Iterator[TestClient]:
    """The app with no key set: tests set their own headers."""
    with TestClient(create_app(settings, network=small_city)) as c:
        yield c


@pytest.fixture
def make_key(app_client: TestClient) -> MakeKey:
    """make_key(agency, *roles, unit_id=..., rate=...) -> a new plain key on the app's Redis."""
    return key_maker(app_client)


@pytest.fixture
def client(settings: Settings, small_city: RoadNetwork) -> Iterator[TestClient]:
    """The app as a 120 supervisor uses it: every endpoint open, field rules as for 120."""
    with TestClient(create_app(settings, network=small_city)) as c:
        yield as_supervisor(c)


@pytest.fixture
def centre(small_city: RoadNetwork) -> tuple[float, float]:
    w, s, e, n = small_city.bounds()
    return ((w + e) / 2, (s + n) / 2)


def start_server(redis_url: str, port: int, namespace: str = "live-test",
                 **settings: str) -> subprocess.Popen[bytes]:
    """The real server in its own process, as `make run` starts it, on a small city; `settings`
    are more JD_ variables (fleet_file="...")."""
    env = {**os.environ, "REDIS_URL": redis_url, "JD_PORT": str(port), "JD_CITY_SCALE": "0.15",
           "JD_NAMESPACE": namespace, "JD_DEMO_MOTION": "0", "JD_DEMO_KEY": SUPERVISOR_KEY,
           "JD_RATE_LIMIT": "1000000/second",
           **{f"JD_{k.upper()}": v for k, v in settings.items()}}
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "server exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("server did not start")
