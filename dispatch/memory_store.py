"""The event log in this process's memory: the Redis store's behaviour without a server.

For tests of the domain and the service, and for replays that nobody else needs to read. Events
are kept as their JSON, written and read back exactly as the Redis store does, so an event that
would not survive Redis does not survive here either. Nothing is durable: the log ends with the
process."""

import asyncio
import contextlib
from collections.abc import Sequence

from dispatch import events as ev
from dispatch.event_log import Recorded, VersionConflict


class MemoryEventStore:
    """One ordered log, filling the `dispatch.event_log.EventLog` port for one event loop."""

    def __init__(self) -> None:
        self._log: list[str] = []  # the event with sequence number n is at n - 1
        self._grown = asyncio.Condition()

    async def append(self, expected_version: int, events: Sequence[ev.Event]) -> int:
        if not events:
            return expected_version
        # Encoded before the check, as the Redis store does: an event that cannot be written
        # fails the whole append, and nothing of it is kept.
        encoded = [ev.to_json(e) for e in events]
        async with self._grown:
            if len(self._log) != expected_version:
                raise VersionConflict(expected_version, len(self._log))
            self._log.extend(encoded)
            self._grown.notify_all()
            return len(self._log)

    async def confirm(self) -> None:
        return None  # nothing is durable here: there is nothing more to wait for

    async def read(self, after: int = 0) -> list[Recorded]:
        return self._since(after)

    async def wait(self, after: int, block_ms: int = 5000) -> list[Recorded]:
        # XREAD's BLOCK 0 means no timeout; the same here.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(block_ms / 1000 if block_ms else None), self._grown:
                await self._grown.wait_for(lambda: len(self._log) > after)
        return self._since(after)

    async def version(self) -> int:
        return len(self._log)

    async def ping(self) -> None:
        """Always ready: there is no server to lose."""

    def _since(self, after: int) -> list[Recorded]:
        return [Recorded(seq, ev.from_json(text))
                for seq, text in enumerate(self._log[after:], start=after + 1)]
