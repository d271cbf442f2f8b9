"""Replay figures: wall time to replay the district day (about 1,000 calls, 150 units) as fast as
possible, per strategy, on a Redis set up as `jointdispatch replay --redis` starts it (fsync every
second), the heaviest strategy again on the in-memory log (`replay` without `--redis`) and with
fsync on every write as live; and the measured targets of the scenarios issue (green wave on the
taxi rollover, the district day's mean arrival joint with green wave against agencies alone).
`run()` returns the figures for bench/run.py."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

import scenarios
from scenarios.replay import Replay, compare
from scenarios.world import City
from web.redis_server import RedisServer


async def _figures(url: str) -> dict[str, float]:
    client = aioredis.Redis.from_url(url)
    out: dict[str, float] = {}
    try:
        day = scenarios.load(scenarios.builtin("district_day"))
        t0 = time.perf_counter()
        city = City.of(day)
        out["replay_city_build_s"] = round(time.perf_counter() - t0, 2)
        alone, joint, green = await compare(day, city, client)
        out["replay_district_day_calls"] = float(green.kpis["calls"])
        out["replay_district_day_events"] = float(len(green.records))
        out["replay_district_day_alone_wall_s"] = round(alone.wall_s, 2)
        out["replay_district_day_joint_wall_s"] = round(joint.wall_s, 2)
        out["replay_district_day_wall_s"] = round(green.wall_s, 2)  # the heaviest: with green waves
        # The same scenario, seed and strategy on the two logs: what the store costs a replay.
        in_memory = await Replay(day, "joint_green_wave", city).run()
        out["replay_s_memory"] = round(in_memory.wall_s, 2)
        out["replay_s_redis"] = out["replay_district_day_wall_s"]
        out["replay_district_day_first_on_scene_alone_mean_s"] = alone.kpis["first_on_scene_s"]["mean"]
        out["replay_district_day_first_on_scene_joint_gw_mean_s"] = green.kpis["first_on_scene_s"]["mean"]
        out["replay_district_day_response_alone_mean_s"] = alone.kpis["response_all_s"]["mean"]
        out["replay_district_day_response_joint_gw_mean_s"] = green.kpis["response_all_s"]["mean"]
        out["replay_district_day_needs_missed_alone"] = float(alone.kpis["missed"])
        out["replay_district_day_needs_missed_joint_gw"] = float(green.kpis["missed"])
        a, g = alone.kpis["first_on_scene_s"]["mean"], green.kpis["first_on_scene_s"]["mean"]
        out["replay_district_day_first_on_scene_cut_pct"] = round(100 * (a - g) / a, 1)
        taxi = scenarios.load(scenarios.builtin("taxi_rollover"))
        _, t_joint, t_green = await compare(taxi, city, client)
        amb = next(t for t in t_green.trips if t.vehicle_kind == "ambulance" and t.purpose == "to_scene")
        out["replay_taxi_ambulance_navigator_s"] = round(amb.navigator_s, 1)
        out["replay_taxi_ambulance_no_priority_s"] = round(amb.without_priority_s or 0.0, 1)
        out["replay_taxi_ambulance_green_wave_s"] = round(amb.duration_s or 0.0, 1)
        out["replay_taxi_ambulance_cut_vs_no_priority_pct"] = round(
            100 * (1 - (amb.duration_s or 0.0) / (amb.without_priority_s or 1.0)), 1)
        out["replay_taxi_ambulance_cut_vs_navigator_pct"] = round(
            100 * (1 - (amb.duration_s or 0.0) / amb.navigator_s), 1)
    finally:
        await client.aclose()
    return out


async def _fsync_always(url: str) -> float:
    client = aioredis.Redis.from_url(url)
    try:
        day = scenarios.load(scenarios.builtin("district_day"))
        result = await Replay(day, "joint_green_wave", City.of(day), client).run()
        return round(result.wall_s, 2)
    finally:
        await client.aclose()


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        with RedisServer(Path(tmp) / "everysec", fsync="everysec") as redis:
            out = asyncio.run(_figures(redis.url))
        with RedisServer(Path(tmp) / "always", fsync="always") as redis:
            out["replay_district_day_fsync_always_wall_s"] = asyncio.run(_fsync_always(redis.url))
    return out
