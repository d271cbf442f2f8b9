"""Shared test fixtures: a real Redis server for the whole session, a fresh namespace per test."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    # fsync "always" as in production: the recovery tests rely on acknowledged meaning durable.
    server = RedisServer(Path(tmp_path_factory.mktemp("redis"))).start()
    yield server
    server.stop()


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"
