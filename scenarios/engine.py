"""The replay engine: a simulated clock driven through a queue of timed actions, at any speed
(1x for a live exercise on the map, 60x, or as fast as possible), with pause, resume and jump.

Actions at one moment run in the order they were scheduled, so a replay is deterministic. At a
finite speed the engine sleeps between actions in short slices, moving the clock as it goes and
telling a listener (the map) each slice; at "max" it never sleeps."""

import asyncio
import heapq
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from dispatch.clock import SimulatedClock

Action = Callable[[], Awaitable[None]]
Tick = Callable[[float], Awaitable[None]]
SLICE_S = 0.25  # wall seconds between clock moves (and map updates) at a finite speed


class ReplayEngine:
    def __init__(self, start: datetime, speed: float | None = None, tick: Tick | None = None) -> None:
        self.start = start
        self.clock = SimulatedClock(start)
        self.speed = speed  # simulated seconds per wall second; None: as fast as possible
        self.tick = tick
        self._queue: list[tuple[float, int, Action]] = []
        self._seq = 0
        self._running = asyncio.Event()
        self._running.set()
        self._jump_to: float | None = None
        self._stop_at: float | None = None
        self._anchor: tuple[float, float] | None = None  # (wall, simulated) the pace runs from
        # Work an action started in the background (the signal service's follow-ups) finishes
        # before the clock moves on, so a replay is the same every time.
        self.settle: Callable[[], Awaitable[None]] | None = None
        self.actions_run = 0

    # --- scheduling --------------------------------------------------------------------------

    @property
    def now_s(self) -> float:
        """Simulated seconds since the start."""
        return (self.clock.now() - self.start).total_seconds()

    def at(self, offset_s: float, action: Action) -> None:
        """Run `action` at `offset_s` seconds after the start (never before now)."""
        self._seq += 1
        heapq.heappush(self._queue, (max(offset_s, self.now_s), self._seq, action))

    def after(self, delay_s: float, action: Action) -> None:
        self.at(self.now_s + max(0.0, delay_s), action)

    @property
    def pending(self) -> int:
        return len(self._queue)

    # --- control -------------------------------------------------------------------------------

    def pause(self) -> None:
        self._running.clear()
        self._anchor = None

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def set_speed(self, speed: float | None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed is a positive factor, or None for as fast as possible")
        self.speed = speed
        self._anchor = None  # the new pace runs from now

    def jump(self, offset_s: float) -> None:
        """Run everything up to `offset_s` without waiting, then go on at the set speed. The
        clock never runs backwards: to see an earlier moment, replay from the start."""
        if offset_s < self.now_s:
            raise ValueError(f"cannot jump back to {offset_s:.0f} s; the replay is at {self.now_s:.0f} s")
        self._jump_to = offset_s

    def stop_at(self, offset_s: float | None) -> None:
        self._stop_at = offset_s

    # --- running -------------------------------------------------------------------------------

    async def run(self, progress: Callable[[float], None] | None = None) -> None:
        while self._queue:
            await self._running.wait()
            when, _, action = self._queue[0]
            if self._stop_at is not None and when > self._stop_at:
                break
            if self._jump_to is not None and when > self._jump_to:
                # caught up: the clock shows the moment jumped to, and runs on from there
                if self._jump_to > self.now_s:
                    self.clock.set(self.start + timedelta(seconds=self._jump_to))
                    if self.tick is not None:
                        await self.tick(self.now_s)
                self._jump_to = None
            catching_up = self._jump_to is not None
            if catching_up or self.speed is None:
                self._anchor = None
            if self.speed is not None and not catching_up and not await self._wait_until(when):
                continue  # paused, sped up, or jumped meanwhile: look at the queue again
            heapq.heappop(self._queue)
            if when > self.now_s:
                self.clock.set(self.start + timedelta(seconds=when))
            await action()
            if self.settle is not None:
                await self.settle()
            self.actions_run += 1
            if progress is not None:
                progress(self.now_s)

    async def _wait_until(self, when: float) -> bool:
        """Let the clock run at the set pace until `when`, telling the listener every slice;
        False if paused, sped up or jumped meanwhile. The pace is kept from an anchor (a wall
        moment and the simulated time then), so time spent on actions is not lost."""
        speed = self.speed
        assert speed is not None
        while True:
            if self._anchor is None:  # first slice, or a pause and resume while this one slept
                self._anchor = (time.monotonic(), self.now_s)
            wall0, sim0 = self._anchor
            target = sim0 + (time.monotonic() - wall0) * speed
            if target >= when - 1e-3:  # the clock keeps microseconds: within a millisecond is there
                return True
            if target > self.now_s:
                self.clock.set(self.start + timedelta(seconds=target))
                if self.tick is not None:
                    await self.tick(self.now_s)
            await asyncio.sleep(min(SLICE_S, (when - target) / speed))
            if self.paused or self.speed != speed or self._jump_to is not None:
                self._anchor = None
                return False
