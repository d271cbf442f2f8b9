"""The durable event log on Redis Streams, appended with optimistic concurrency.

Each event's stream id is `<seq>-0`, so the sequence number is the id: readers resume from any
sequence without a lookup, and the websocket and feeds can say exactly what a client missed."""

from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from dispatch import events as ev

# Checks the log's last sequence against the one the events were decided on, and appends all of
# them in one atomic step; a mismatch appends nothing and tells the caller the current version.
_APPEND = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local version = 0
if #last > 0 then version = tonumber(string.match(last[1][1], '^(%d+)')) end
if version ~= tonumber(ARGV[1]) then return {0, version} end
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], tostring(version + i - 1) .. '-1', 'e', ARGV[i])
end
return {1, version + #ARGV - 1}
"""


class VersionConflict(Exception):
    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"log is at {actual}, decision was made at {expected}")
        self.expected, self.actual = expected, actual


@dataclass(frozen=True)
class Recorded:
    seq: int
    event: ev.Event


class EventStore:
    """One ordered log per namespace (live, or a training run), in one Redis stream."""

    def __init__(self, redis: aioredis.Redis, namespace: str = "jd") -> None:
        self.redis = redis
        self.key = f"{namespace}:log"
        self._append = redis.register_script(_APPEND)

    async def append(self, expected_version: int, events: Sequence[ev.Event]) -> int:
        """Append after `expected_version`; returns the new version once Redis has it."""
        if not events:
            return expected_version
        ok, version = await self._append(
            keys=[self.key], args=[expected_version, *(ev.to_json(e) for e in events)]
        )
        if not ok:
            raise VersionConflict(expected_version, int(version))
        return int(version)

    async def read(self, after: int = 0, batch: int = 5000) -> list[Recorded]:
        """Every event with a sequence number above `after`, in order."""
        out: list[Recorded] = []
        start = f"({after}-1" if after else "-"
        while True:
            rows = await self.redis.xrange(self.key, min=start, max="+", count=batch)
            for stream_id, fields in rows:
                out.append(Recorded(_seq(stream_id), ev.from_json(fields[b"e"])))
            if len(rows) < batch:
                return out
            start = "(" + _text(rows[-1][0])

    async def wait(self, after: int, block_ms: int = 5000) -> list[Recorded]:
        """Block until events above `after` exist (or the timeout passes) and return them."""
        start = f"{after}-1" if after else "0-0"
        reply = await self.redis.xread({self.key: start}, block=block_ms, count=5000)
        out: list[Recorded] = []
        for _key, rows in reply or []:
            for stream_id, fields in rows:
                out.append(Recorded(_seq(stream_id), ev.from_json(fields[b"e"])))
        return out

    async def version(self) -> int:
        last = await self.redis.xrevrange(self.key, count=1)
        return _seq(last[0][0]) if last else 0


def _text(stream_id: bytes | str) -> str:
    return stream_id.decode() if isinstance(stream_id, bytes) else stream_id


def _seq(stream_id: bytes | str) -> int:
    return int(_text(stream_id).split("-", 1)[0])
