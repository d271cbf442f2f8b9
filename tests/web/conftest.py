"""Fixtures for the API: the app on a real Redis and a small demo city built once."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from routing.demo_city import build_demo_city
from routing.network import RoadNetwork
from web.app import create_app
from web.settings import Settings

CENTRE = (119.96, 30.05)


@pytest.fixture(scope="session")
def small_city() -> RoadNetwork:
    return build_demo_city(seed=7, scale=0.15)


@pytest.fixture
def settings(namespace: str, redis_server) -> Settings:
    return Settings(namespace=namespace, redis_url=redis_server.url, demo_motion=False)


@pytest.fixture
def client(settings: Settings, small_city: RoadNetwork) -> Iterator[TestClient]:
    with TestClient(create_app(settings, network=small_city)) as c:
        yield c


@pytest.fixture
def centre(small_city: RoadNetwork) -> tuple[float, float]:
    w, s, e, n = small_city.bounds()
    return ((w + e) / 2, (s + n) / 2)


def start_server(redis_url: str, port: int, namespace: str = "live-test",
                 **settings: str) -> subprocess.Popen[bytes]:
    """The real server in its own process, as `make run` starts it, on a small city; `settings`
    are more JD_ variables (fleet_file="...")."""
    env = {**os.environ, "REDIS_URL": redis_url, "JD_PORT": str(port), "JD_CITY_SCALE": "0.15",
           "JD_NAMESPACE": namespace, "JD_DEMO_MOTION": "0",
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
