"""Fixtures for replays: a small demo city built once, a small joint-response scenario, a
Redis client on the session's real server."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

import scenarios
from scenarios.model import LoadedScenario
from scenarios.world import City

# A crash reported to three hotlines at the far corner of a small town from every station, a
# medical call across town, a road closure and an ambulance going out of service.
SMALL = """\
name: small_town
title: Small town, one bad crash
start: 2026-05-01T09:00:00+08:00
seed: 3
city: {demo: {seed: 7, scale: 0.05}}
traffic: {level: 0.6}
dispatcher: {intake_s: 30, dispatch_s: 20, whistle_s: 10}
fleet:
  stations:
    - {id: PS, agency: "110", lon: 119.942, lat: 30.036}
    - {id: TB, agency: "122", lon: 119.943, lat: 30.035}
    - {id: FS, agency: "119", lon: 119.941, lat: 30.037}
    - {id: AS, agency: "120", lon: 119.944, lat: 30.036}
  hospitals:
    - {id: H, name: Town hospital, lon: 119.960, lat: 30.050, takes: [trauma, cardiac, general]}
  units:
    - {id: P, station: PS, kind: patrol_car, count: 2}
    - {id: T, station: TB, kind: traffic_police_car}
    - {id: R, station: FS, kind: rescue_truck, crew: 5}
    - {id: E, station: FS, kind: fire_engine, crew: 5}
    - {id: A, station: AS, kind: ambulance, count: 2, crew: 3}
scene: {default_min: 15, transport_share: {person_trapped: 1.0}}
places:
  crash: {lon: 119.978, lat: 30.064}
  home: {lon: 119.950, lat: 30.060}
timeline:
  - {at: 0, call: {hotline: "110", kind: person_trapped, place: crash, caller: "+86 139 0000 0001",
                   event: crash}}
  - {at: 30, call: {hotline: "120", kind: traffic_crash_injury, place: crash, caller: "+86 139 0000 0002",
                    event: crash}}
  - {at: 45, call: {hotline: "119", kind: person_trapped, place: crash, caller: "+86 139 0000 0003",
                    event: crash}}
  - {at: "0:05:00", call: {hotline: "110", kind: person_trapped, place: crash, caller: "+86 139 0000 0001",
                           text: calling again, event: crash}}
  - {at: "0:10:00", unit_out_of_service: {unit: A-2, minutes: 20}}
  - {at: "0:12:00", call: {hotline: "120", kind: medical_emergency, place: home, event: heart}}
expect:
  whistle_within_s: 60
  on_scene_within_s: {"120": 1200}
"""


@pytest.fixture(scope="session")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenarios") / "small_town.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small(small_file: Path) -> LoadedScenario:
    return scenarios.load(small_file)


@pytest.fixture(scope="session")
def small_city(small: LoadedScenario) -> City:
    return City.of(small)


@pytest.fixture
async def redis(redis_server) -> AsyncIterator[aioredis.Redis]:  # type: ignore[no-untyped-def]
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()
