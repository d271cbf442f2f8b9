"""Replaying a scenario under one strategy: a log of its own, the dispatch service on the
replay's simulated clock, the world driving it; and the comparison of strategies on the same calls.

A replay's log is in memory unless it is given a Redis: then its training namespace there
(`training:<scenario>:<strategy>` unless given) holds the run's event log and unit positions
apart from live incidents, for a map server or a trainer to read; it is emptied when a run
starts, so a replay never mixes with anything before it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from dispatch.decide import Rules
from dispatch.event_log import EventLog, Recorded
from dispatch.memory_store import MemoryEventStore
from dispatch.merging import MergeRules
from dispatch.roster import RosterRules
from dispatch.service import DispatchService
from dispatch.store import RedisEventStore
from dispatch.telemetry import PositionStore
from scenarios.engine import ReplayEngine
from scenarios.kpi import compute_kpis
from scenarios.model import LoadedScenario
from scenarios.world import STRATEGIES, City, Strategy, Trip, World


@dataclass
class ReplayResult:
    scenario: str
    strategy: Strategy
    seed: int
    namespace: str
    start: datetime
    end_s: float  # simulated seconds the replay covered
    wall_s: float
    records: list[Recorded]
    trips: list[Trip]
    kpis: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "strategy": self.strategy.name,
            "label": self.strategy.label,
            "seed": self.seed,
            "namespace": self.namespace,
            "start": self.start.isoformat(),
            "simulated_s": round(self.end_s, 1),
            "events_in_log": len(self.records),
            "kpis": self.kpis,
            "trips": [t.to_dict() for t in self.trips],
        }


def training_namespace(scenario: str, strategy: str, run: str | None = None) -> str:
    """`run` (the command's start, e.g. 20261204-191500) keeps each run's log apart: two trainers
    replaying one scenario, or one trainer twice, no longer write over each other."""
    return f"training:{scenario}:{run}:{strategy}" if run else f"training:{scenario}:{strategy}"


async def clear_namespace(redis: aioredis.Redis, namespace: str) -> None:
    keys = [k async for k in redis.scan_iter(match=f"{namespace}:*", count=1000)]
    if keys:
        await redis.delete(*keys)


class Replay:
    """One run of one scenario under one strategy; pause, resume, jump and speed on `engine`."""

    def __init__(
        self,
        scenario: LoadedScenario,
        strategy: Strategy | str,
        city: City,
        redis: aioredis.Redis | None = None,
        seed: int | None = None,
        speed: float | None = None,
        namespace: str | None = None,
        show_positions: bool = False,
    ) -> None:
        self.scenario = scenario
        self.strategy = STRATEGIES[strategy] if isinstance(strategy, str) else strategy
        self.city, self.redis = city, redis
        self.seed = scenario.spec.seed if seed is None else seed
        self.namespace = namespace or training_namespace(scenario.name, self.strategy.name)
        spec = scenario.spec
        rules = Rules(
            plans=scenario.plans,
            merge=MergeRules(across_hotlines=self.strategy.joint),
            roster=RosterRules.load(scenario.roster_file),
            ack_deadline_s=spec.roster.ack_deadline_s,
        )
        # Positions are recorded only for a map to show, and a map reads them from Redis: a run
        # in memory has no one to show them to, so it needs no position store at all.
        self.store: EventLog = MemoryEventStore()
        self.positions: PositionStore | None = None
        if redis is not None:
            self.store = RedisEventStore(redis, self.namespace)
            if show_positions:
                self.positions = PositionStore(redis, self.namespace)
        elif show_positions:
            raise ValueError("showing positions needs the replay on Redis, where a map can read them")
        self.engine = ReplayEngine(spec.start, speed, None if self.positions is None else self._tick)
        self.service = DispatchService(self.store, rules, self.engine.clock)
        self.world = World(scenario, self.strategy, city, self.service, self.engine, self.seed)
        self.engine.settle = self.world.priority.settle
        self._prepared = False

    async def _tick(self, _now_s: float) -> None:
        """Move the units on the map: through the same position store live devices feed."""
        assert self.positions is not None  # the engine ticks only when there are positions to show
        await self.positions.record(self.world.positions(self.engine.clock.now()))

    async def prepare(self) -> None:
        """Empty the namespace, register the fleet and queue the timeline: the moment before
        the first call (a map server may start on the namespace now)."""
        if self._prepared:
            return
        self._prepared = True
        if self.redis is not None:
            await clear_namespace(self.redis, self.namespace)
        await self.service.start(follow=False)
        await self.world.register_fleet()
        if self.engine.tick is not None:
            await self._tick(0.0)
        self.world.schedule_timeline()

    async def run(self, progress: Callable[[float], None] | None = None) -> ReplayResult:
        wall = time.perf_counter()
        await self.prepare()
        spec = self.scenario.spec
        if spec.end_after_h is not None:
            self.engine.stop_at(spec.end_after_h * 3600)
        try:
            await self.engine.run(progress)
        finally:
            self.world.finish()
        if self.engine.tick is not None:
            await self._tick(self.engine.now_s)
        records = await self.store.read()
        result = ReplayResult(
            self.scenario.name,
            self.strategy,
            self.seed,
            self.namespace,
            spec.start,
            self.engine.now_s,
            time.perf_counter() - wall,
            records,
            self.world.trips,
        )
        result.kpis = compute_kpis(self.scenario, result)
        return result


async def compare(
    scenario: LoadedScenario,
    city: City,
    redis: aioredis.Redis | None = None,
    strategies: Sequence[str] = tuple(STRATEGIES),
    seed: int | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> list[ReplayResult]:
    """Every strategy on the same calls, one after the other, as fast as possible."""
    out = []
    for name in strategies:
        replay = Replay(scenario, name, city, redis, seed=seed)
        tell = None if progress is None else (lambda t, n=name: progress(n, t))  # type: ignore[misc]
        out.append(await replay.run(tell))
    return out
