"""`replay_week_wall_s`: the built-in district week (7,000 calls, 150 units, seven days) replayed
under every strategy as fast as possible, as `jointdispatch replay district_week --compare` runs
it (the log in memory), the wall time of all three together; each strategy's own, the calls
and the log's events beside it, and the week's first-unit means (n and never met in the report)."""

import asyncio
import time

import scenarios
from scenarios.replay import compare
from scenarios.world import City


def run() -> dict[str, float | str]:
    week = scenarios.load(scenarios.builtin("district_week"))
    t0 = time.perf_counter()
    city = City.of(week)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = asyncio.run(compare(week, city))
    wall = time.perf_counter() - t0
    out: dict[str, float | str] = {"replay_week_wall_s": round(wall, 1),
                                   "replay_week_city_build_s": round(built, 1),
                                   "replay_week_calls": float(results[-1].kpis["calls"])}
    for r in results:
        out[f"replay_week_{r.strategy.name}_wall_s"] = round(r.wall_s, 1)
        out[f"replay_week_{r.strategy.name}_events"] = float(len(r.records))
        out[f"replay_week_{r.strategy.name}_first_on_scene_mean_s"] = r.kpis["first_on_scene_s"]["mean"]
        out[f"replay_week_{r.strategy.name}_needs_missed"] = float(r.kpis["missed"])
    return out
