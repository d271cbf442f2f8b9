"""Ending background tasks: a loop that survives its first cancel still ends, a task that never
ends is named in the log and the stop goes on, and a parent ended while ending its child waits
for the child first."""

import asyncio
import contextlib
import logging

import pytest

from dispatch.background import end, end_all, within


async def survives_one_cancel(log: list[str]) -> None:
    """What a Redis call that turns a cancel into a TimeoutError looks like to the loop above it."""
    swallowed = False
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if swallowed:
                log.append("ended")
                raise
            swallowed = True
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            log.append("swallowed")


async def test_a_task_that_swallows_its_first_cancel_still_ends() -> None:
    said: list[str] = []
    task = asyncio.create_task(survives_one_cancel(said))
    await asyncio.sleep(0)
    assert await end(task, nudge_s=0.05)
    assert task.cancelled() and said == ["swallowed", "ended"]


async def test_a_task_that_never_ends_is_named_and_left(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):  # the cancel is ignored, every time
                await asyncio.sleep(10)

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR):
        assert not await end(task, patience_s=0.3, nudge_s=0.05)
    assert "stubborn did not end within 0.3 s" in caplog.text and "asyncio.sleep" in caplog.text
    release.set()
    assert await end(task)


async def test_a_parent_ended_while_ending_its_child_waits_for_the_child() -> None:
    said: list[str] = []
    child = asyncio.create_task(survives_one_cancel(said))

    async def parent() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            await end(child, nudge_s=0.05)

    task = asyncio.create_task(parent())
    await asyncio.sleep(0)
    assert await end(task, nudge_s=0.01)  # nudged far more often than the child is
    assert task.cancelled() and child.cancelled() and said == ["swallowed", "ended"]


async def test_end_all_ends_every_task_at_once() -> None:
    tasks = [asyncio.create_task(survives_one_cancel([])) for _ in range(5)]
    await asyncio.sleep(0)
    await end_all(tasks)  # type: ignore[arg-type]
    assert all(t.cancelled() for t in tasks)


async def test_a_stop_step_that_hangs_is_cut_short_and_named(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        await within(asyncio.sleep(60), "closing something", patience_s=0.2)
    assert "closing something did not finish within 0.2 s" in caplog.text
