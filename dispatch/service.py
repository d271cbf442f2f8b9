"""The service that takes commands: decide on the folded state, append durably, fold, notify.

Several processes may share one log. Each keeps its own fold and catches up before deciding; an
append that loses the race is decided again on the fresh state, so no decision is made on stale
facts. Listeners (the live map, feeds) hear every event exactly once, in log order, whichever
process wrote it.

Reactions (the application layer's workflows) hear the events this process appended, once the
log has them, after the command that caused them: each event in the log is reacted to by exactly
one process, the one that wrote it, whichever path (an HTTP handler, a replay, another reaction)
gave the command. A reaction that fails is logged and never undoes the command: the events are
already durable, and the caller's answer must say so."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn

from dispatch import events as ev
from dispatch.background import end
from dispatch.clock import Clock
from dispatch.decide import Command, Rules, decide
from dispatch.event_log import EventLog, LogRewound, Recorded, VersionConflict
from dispatch.rejection import Rejected
from dispatch.state import DispatchState, apply

Listener = Callable[[int, ev.Event, DispatchState], None]
Reaction = Callable[[list[ev.Event]], Awaitable[None]]
log = logging.getLogger(__name__)
# How long the follower's read blocks: short enough that a dead primary is noticed within a
# socket timeout, long enough that an idle log costs one read a second.
FOLLOW_BLOCK_MS = 1000


class DispatchService:
    MAX_ATTEMPTS = 20

    def __init__(self, store: EventLog, rules: Rules, clock: Clock) -> None:
        self.store, self.rules, self.clock = store, rules, clock
        self.state = DispatchState()
        self._lock = asyncio.Lock()
        self._listeners: list[Listener] = []
        self._reactions: list[Reaction] = []
        self._tail: asyncio.Task[None] | None = None
        # Told when the log turns out to be behind this fold (a failover lost unacknowledged
        # events this process had read); the server stops and is started again from the log.
        self.on_rewind: Callable[[LogRewound], None] | None = None

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def react(self, reaction: Reaction) -> None:
        """Run `reaction` on the events of every command this process executes, in order."""
        self._reactions.append(reaction)

    @property
    def lock(self) -> asyncio.Lock:
        """Held while the fold changes; hold it to read a snapshot and subscribe atomically."""
        return self._lock

    async def start(self, follow: bool = True) -> None:
        """Rebuild the state from the log, then follow what other processes append."""
        await self.catch_up()
        if follow:
            self._tail = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._tail:
            await end(self._tail, name="the log follower")

    async def execute(self, command: Command) -> list[ev.Event]:
        """Decide and append; returns only after the events are in the durable log and the
        workflows they start have run."""
        events = await self._decide_and_append(command)
        if events:
            for reaction in list(self._reactions):
                try:
                    await reaction(events)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("a workflow failed on %s; the events stand", [e.type for e in events])
        return events

    async def _decide_and_append(self, command: Command) -> list[ev.Event]:
        async with self._lock:
            for _ in range(self.MAX_ATTEMPTS):
                # No read before deciding: the follower keeps the fold current, and the append
                # itself refuses a decision made on a stale version, so a round trip is saved
                # on every command and only a lost race pays for catching up.
                try:
                    events = decide(self.state, command, self.rules, self.clock.now())
                except Rejected:
                    # Before saying no, make sure it is not a no on facts another process changed.
                    if not await self._catch_up_locked():
                        raise
                    continue
                try:
                    version = await self.store.append(self.state.version, events)
                except VersionConflict as conflict:
                    if conflict.actual < self.state.version:
                        self._rewound(LogRewound(self.state.version, conflict.actual))
                    await self._catch_up_locked()
                    continue
                first = version - len(events) + 1
                self._fold([Recorded(first + i, e) for i, e in enumerate(events)])
                return events
        raise RuntimeError("the log kept moving; gave up after repeated conflicts")

    async def catch_up(self) -> None:
        async with self._lock:
            await self._catch_up_locked()

    async def _catch_up_locked(self) -> bool:
        """Fold what others appended; says whether there was anything."""
        records = await self.store.read(after=self.state.version)
        self._fold(records)
        return any(r.seq > 0 for r in records)

    def _fold(self, records: list[Recorded]) -> None:
        for r in records:
            if r.seq <= self.state.version:
                continue
            if r.seq != self.state.version + 1:
                raise RuntimeError(f"gap in the log: at {self.state.version}, got {r.seq}")
            apply(self.state, r.event)
            for listener in list(self._listeners):
                listener(r.seq, r.event, self.state)

    def _rewound(self, rewind: LogRewound) -> NoReturn:
        log.critical("%s; this process must start again from the log", rewind)
        if self.on_rewind is not None:
            self.on_rewind(rewind)
        raise rewind

    async def _follow(self) -> None:
        # Stopped by cancel, and by looking: redis-py can turn a cancel that lands inside a
        # blocking read into a connection or timeout error, which this loop would survive.
        stopping = asyncio.current_task().cancelling  # type: ignore[union-attr]
        while not stopping():
            try:
                records = await self.store.wait(after=self.state.version, block_ms=FOLLOW_BLOCK_MS)
                if not records and (actual := await self.store.version()) < self.state.version:
                    self._rewound(LogRewound(self.state.version, actual))
            except (asyncio.CancelledError, LogRewound):
                raise
            except Exception:  # a store hiccup must not end following; try again shortly
                if not stopping():
                    await asyncio.sleep(0.5)
                continue
            if records:
                async with self._lock:
                    self._fold(records)
        raise asyncio.CancelledError
