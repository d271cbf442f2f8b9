"""The durable event log on Redis Streams, appended with optimistic concurrency.

Each event's stream id is `<seq>-1`, so the sequence number is the id: readers resume from any
sequence without a lookup, and the websocket and feeds can say exactly what a client missed.

On a replicated set (see `web/redis_client.py`) an append counts only when `replicas` replicas
also hold it: the append and Redis `WAIT` go down one connection in one round trip, since WAIT
waits for that connection's own writes. WAIT is best effort: under a partition a replica that
confirmed may still lose a failover election to one that did not, so "acknowledged" means
fsync'd on the primary and received by a replica, not agreed by a quorum."""

from collections.abc import Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from dispatch import events as ev
from dispatch.event_log import NotReplicated, Recorded, VersionConflict

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

    def __init__(self, redis: aioredis.Redis, namespace: str = "jd", replicas: int = 0,
                 replica_wait_ms: int = 1000) -> None:
        self.redis = redis
        self.key = f"{namespace}:log"
        self.replicas, self.replica_wait_ms = replicas, replica_wait_ms
        self._append = redis.register_script(_APPEND)

    async def append(self, expected_version: int, events: Sequence[ev.Event]) -> int:
        """Append after `expected_version`; returns the new version once Redis has it (and, on
        a replicated set, once enough replicas do)."""
        if not events:
            return expected_version
        args: list[str | int] = [expected_version, *(ev.to_json(e) for e in events)]
        if not self.replicas:
            ok, version = await self._append(keys=[self.key], args=args)
        else:
            # `async with`: a pipeline a failover broke mid-way goes back to the pool reset,
            # not left for the collector ("Unclosed Pipeline client")
            async with self.redis.pipeline(transaction=False) as pipe:
                await self._append(keys=[self.key], args=args, client=pipe)
                (ok, version), confirmed = await self._waited(pipe)
            if ok and confirmed < self.replicas:
                raise NotReplicated(self.replicas, int(confirmed), appended=True)
        if not ok:
            raise VersionConflict(expected_version, int(version))
        return int(version)

    async def confirm(self) -> None:
        """A write of its own, waited for: replication is in order, so once a replica has this
        it has everything before it."""
        if not self.replicas:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incr(f"{self.key}:confirmations")
            _, confirmed = await self._waited(pipe)
        if confirmed < self.replicas:
            raise NotReplicated(self.replicas, confirmed, appended=False)

    async def _waited(self, pipe: Any) -> tuple[Any, int]:
        """Run the pipeline's write and then `WAIT` on its connection: (the write's reply, how
        many replicas confirmed)."""
        pipe.execute_command("WAIT", self.replicas, self.replica_wait_ms)
        try:
            reply, confirmed = await pipe.execute()
        except ResponseError as e:
            if str(e).startswith("NOREPLICAS"):  # min-replicas-to-write: nothing was written
                raise NotReplicated(self.replicas, 0, appended=False) from e
            raise
        return reply, int(confirmed)

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
