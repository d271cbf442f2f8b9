"""Fixtures for the API: the app on a real Redis and a small demo city built once."""

from collections.abc import Iterator

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
    return Settings(namespace=namespace, redis_url=redis_server.url)


@pytest.fixture
def client(settings: Settings, small_city: RoadNetwork) -> Iterator[TestClient]:
    with TestClient(create_app(settings, network=small_city)) as c:
        yield c


@pytest.fixture
def centre(small_city: RoadNetwork) -> tuple[float, float]:
    w, s, e, n = small_city.bounds()
    return ((w + e) / 2, (s + n) / 2)
