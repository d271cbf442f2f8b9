"""The durable event log on Redis Streams, appended with optimistic concurrency.

Each event's stream id is `<seq>-1`, so the sequence number is the id: readers resume from any
sequence without a lookup, and the websocket and feeds can say exactly what a client missed."""

from collections.abc import Sequence
from typing import cast

import redis.asyncio as aioredis

from dispatch import events as ev
from dispatch.event_log import Recorded, VersionConflict

# A page of stream entries as redis-py returns them: (id, {field: value}).
_Rows = list[tuple[bytes, dict[bytes, bytes]]]

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


class RedisEventStore:
    """One ordered log per namespace (live, or a training run), in one Redis stream; fills the
    `dispatch.event_log.EventLog` port for every process sharing that Redis."""

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
            # redis-py's replies are typed as every shape a reply can take; this is the one we get
            rows = cast(_Rows, await self.redis.xrange(self.key, min=start, max="+", count=batch))
            out.extend(_recorded(rows))
            if len(rows) < batch:
                return out
            start = "(" + _text(rows[-1][0])

    async def wait(self, after: int, block_ms: int = 5000) -> list[Recorded]:
        """Block until events above `after` exist (or the timeout passes) and return them."""
        start = f"{after}-1" if after else "0-0"
        reply = cast(list[tuple[bytes, _Rows]] | None,
                     await self.redis.xread({self.key: start}, block=block_ms, count=5000))
        return [r for _key, rows in reply or [] for r in _recorded(rows)]

    async def version(self) -> int:
        last = cast(_Rows, await self.redis.xrevrange(self.key, count=1))
        return _seq(last[0][0]) if last else 0

    async def ping(self) -> None:
        await self.redis.ping()


def _recorded(rows: _Rows) -> list[Recorded]:
    return [Recorded(_seq(stream_id), ev.from_json(fields[b"e"])) for stream_id, fields in rows]


def _text(stream_id: bytes | str) -> str:
    return stream_id.decode() if isinstance(stream_id, bytes) else stream_id


def _seq(stream_id: bytes | str) -> int:
    return int(_text(stream_id).split("-", 1)[0])
