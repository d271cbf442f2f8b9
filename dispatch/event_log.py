"""The event log's port: what the service, the feeds and the replay need from the one ordered log.

Two stores fill it: `dispatch.store.RedisEventStore` (Redis Streams, durable, shared by every
process) and `dispatch.memory_store.MemoryEventStore` (one process, for tests and replays).
`tests/dispatch/test_event_log_contract.py` holds both to the same behaviour."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dispatch import events as ev


class VersionConflict(Exception):
    """The log moved on since the decision was made; nothing was appended."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"log is at {actual}, decision was made at {expected}")
        self.expected, self.actual = expected, actual


class NotReplicated(Exception):
    """The primary took the append but too few replicas confirmed it in time (or the primary
    refused writes for want of replicas). It is not acknowledged: it may be in the log or may be
    lost in a failover. A retry with the same idempotency key learns which."""

    def __init__(self, needed: int, confirmed: int, appended: bool) -> None:
        said = "appended on the primary" if appended else "refused by the primary"
        super().__init__(f"{said}, confirmed by {confirmed} of the {needed} replica(s) it needs")
        self.needed, self.confirmed, self.appended = needed, confirmed, appended


class LogRewound(RuntimeError):
    """The log is behind what this process folded: a failover lost events that were never
    acknowledged but that this process had read. Its fold is no longer the log's; the process
    must be started again from the log (which is what `serve` does when it meets this)."""

    def __init__(self, folded: int, log_version: int) -> None:
        super().__init__(f"the log is at {log_version} but this process folded {folded} events")
        self.folded, self.log_version = folded, log_version


@dataclass(frozen=True)
class Recorded:
    """An event with its place in the log: sequence numbers start at 1 and have no gaps."""

    seq: int
    event: ev.Event


class EventLog(Protocol):
    async def append(self, expected_version: int, events: Sequence[ev.Event]) -> int:
        """Append all of `events` after `expected_version`, or none of them: raises
        `VersionConflict` when the log is elsewhere. Returns the new version once the events are
        as durable as the store makes them. No events: returns `expected_version`, unchecked."""
        ...

    async def read(self, after: int = 0) -> list[Recorded]:
        """Every event with a sequence number above `after`, in order."""
        ...

    async def wait(self, after: int, block_ms: int = 5000) -> list[Recorded]:
        """The events above `after`, in order, as soon as there is at least one; an empty list
        when none came within `block_ms` (0: wait as long as it takes). It may return fewer than
        all of them; ask again after the last one."""
        ...

    async def version(self) -> int:
        """The sequence number of the last event; 0 for an empty log."""
        ...

    async def confirm(self) -> None:
        """Return once everything this process has read is as durable as an append would be
        (a retried request answered from the fold promises no less than its first answer)."""
        ...

    async def ping(self) -> None:
        """Return if the store can take appends now; raise if it cannot (the health check)."""
        ...
