"""The replay engine: simulated time at a speed, pause, resume, jump; never backwards."""

import asyncio
from datetime import UTC, datetime

import pytest

from scenarios.engine import ReplayEngine

START = datetime(2026, 5, 1, tzinfo=UTC)


def _engine(speed: float | None, times: list[float], seen: list[float]) -> ReplayEngine:
    engine = ReplayEngine(START, speed)
    for t in times:
        async def act(t: float = t) -> None:
            seen.append(engine.now_s)
        engine.at(t, act)
    return engine


async def test_actions_run_in_time_order_and_ties_in_scheduling_order() -> None:
    seen: list[float] = []
    engine = ReplayEngine(START)
    order: list[str] = []
    for name, t in (("b", 20.0), ("a", 10.0), ("c", 20.0)):
        async def act(name: str = name) -> None:
            order.append(name)
            seen.append(engine.now_s)
        engine.at(t, act)
    await engine.run()
    assert order == ["a", "b", "c"]
    assert seen == [10.0, 20.0, 20.0]


async def test_pause_holds_the_clock_and_resume_goes_on() -> None:
    seen: list[float] = []
    engine = _engine(100.0, [10.0, 200.0], seen)  # 100 simulated seconds per wall second
    task = asyncio.create_task(engine.run())
    await asyncio.sleep(0.4)
    assert seen == [10.0]
    engine.pause()
    await asyncio.sleep(0.4)
    held = engine.now_s
    await asyncio.sleep(0.5)
    assert engine.now_s == held and engine.paused
    assert seen == [10.0]
    engine.resume()
    engine.set_speed(None)  # and then as fast as possible
    await asyncio.wait_for(task, 5)
    assert seen == [10.0, 200.0]


async def test_pause_then_resume_at_once_goes_on() -> None:
    """A trainer's double click: the pause and the resume land within one slice of the pace."""
    seen: list[float] = []
    engine = _engine(100.0, [10.0, 60.0], seen)
    task = asyncio.create_task(engine.run())
    await asyncio.sleep(0.3)
    engine.pause()
    engine.resume()
    await asyncio.wait_for(task, 5)
    assert seen == [10.0, 60.0]


async def test_jump_runs_everything_up_to_the_moment_at_once() -> None:
    seen: list[float] = []
    engine = _engine(1.0, [5.0, 3600.0, 7200.0], seen)  # real time: would take two hours
    engine.jump(3600.0)
    task = asyncio.create_task(engine.run())
    await asyncio.sleep(0.3)
    assert seen == [5.0, 3600.0]
    assert engine.now_s >= 3600.0
    with pytest.raises(ValueError, match="cannot jump back"):
        engine.jump(10.0)
    engine.jump(7200.0)
    await asyncio.wait_for(task, 5)
    assert seen == [5.0, 3600.0, 7200.0]


async def test_stop_at_leaves_later_actions_unrun() -> None:
    seen: list[float] = []
    engine = _engine(None, [1.0, 50.0, 500.0], seen)
    engine.stop_at(100.0)
    await engine.run()
    assert seen == [1.0, 50.0] and engine.pending == 1


async def test_a_tick_moves_the_clock_between_actions_at_finite_speed() -> None:
    ticks: list[float] = []

    async def tick(t: float) -> None:
        ticks.append(t)
    engine = ReplayEngine(START, 60.0, tick)

    async def nothing() -> None:
        return None
    engine.at(60.0, nothing)
    await asyncio.wait_for(engine.run(), 5)
    assert len(ticks) >= 3 and ticks == sorted(ticks) and ticks[-1] <= 60.0


async def test_jump_between_actions_shows_the_moment_jumped_to() -> None:
    seen: list[float] = []
    engine = _engine(1.0, [5.0, 3600.0], seen)
    task = asyncio.create_task(engine.run())
    engine.jump(1000.0)
    await asyncio.sleep(0.5)
    assert seen == [5.0]
    assert 1000.0 <= engine.now_s < 1010.0  # and then on at 1x
    engine.set_speed(None)
    await asyncio.wait_for(task, 5)
    assert seen == [5.0, 3600.0]
