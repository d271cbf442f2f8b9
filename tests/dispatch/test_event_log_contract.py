"""The event log's contract, held by every store: the in-memory one and Redis Streams on a real
server. A behaviour the service relies on belongs here, so both stores keep it."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from dispatch import events as ev
from dispatch.event_log import EventLog, VersionConflict
from dispatch.memory_store import MemoryEventStore
from dispatch.store import RedisEventStore
from web.redis_server import RedisServer

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
# Long enough that a wait which did not wake on the append would fail the test's own deadline.
NEVER_MS = 60_000


@pytest.fixture(params=["memory", "redis"])
async def log(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[EventLog]:
    if request.param == "memory":
        yield MemoryEventStore()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    client = aioredis.Redis.from_url(server.url)
    try:
        yield RedisEventStore(client, namespace)
    finally:
        await client.aclose()


def call(n: int, **details: object) -> ev.CallReceived:
    return ev.CallReceived(at=T0 + timedelta(seconds=n), call_id=f"C{n:06d}", hotline="120",
                           received_at=T0, caller_number=None, lon=119.96, lat=30.05, address=None,
                           kind="medical_emergency", text=f"call {n}", details=dict(details))


async def test_an_empty_log_is_at_version_zero_and_reads_nothing(log: EventLog) -> None:
    assert await log.version() == 0
    assert await log.read() == []


async def test_appended_events_read_back_in_order_numbered_from_one(log: EventLog) -> None:
    first = [call(1), call(2)]
    assert await log.append(0, first) == 2
    assert await log.append(2, [call(3)]) == 3
    records = await log.read()
    assert [r.seq for r in records] == [1, 2, 3]
    assert [r.event for r in records] == [*first, call(3)]
    assert await log.version() == 3


async def test_read_after_gives_only_what_follows(log: EventLog) -> None:
    await log.append(0, [call(n) for n in range(1, 6)])
    assert [r.seq for r in await log.read(after=3)] == [4, 5]
    assert await log.read(after=5) == []


async def test_events_come_back_through_their_json(log: EventLog) -> None:
    # A tuple is written as a JSON array: reading gives a list, and a new object, on every store.
    mine = call(1, units=("A1", "A2"))
    await log.append(0, [mine])
    (back,) = await log.read()
    assert back.event is not mine
    assert isinstance(back.event, ev.CallReceived) and back.event.details == {"units": ["A1", "A2"]}


async def test_an_event_that_cannot_be_written_appends_nothing(log: EventLog) -> None:
    with pytest.raises(TypeError):
        await log.append(0, [call(1), call(2, seen=object())])
    assert await log.version() == 0


async def test_a_decision_on_a_stale_version_is_refused_and_appends_nothing(log: EventLog) -> None:
    await log.append(0, [call(1), call(2)])
    for stale in (0, 1, 3):
        with pytest.raises(VersionConflict) as refused:
            await log.append(stale, [call(9)])
        assert (refused.value.expected, refused.value.actual) == (stale, 2)
    assert [r.seq for r in await log.read()] == [1, 2]


async def test_appending_no_events_changes_nothing(log: EventLog) -> None:
    await log.append(0, [call(1)])
    assert await log.append(1, []) == 1
    assert await log.version() == 1


async def test_two_appends_on_one_version_one_wins(log: EventLog) -> None:
    outcomes = await asyncio.gather(log.append(0, [call(1)]), log.append(0, [call(2), call(3)]),
                                    return_exceptions=True)
    assert sum(isinstance(o, VersionConflict) for o in outcomes) == 1
    winner = next(o for o in outcomes if isinstance(o, int))
    assert await log.version() == winner


async def test_concurrent_appenders_that_retry_lose_nothing_and_leave_no_gap(log: EventLog) -> None:
    async def writer(w: int) -> None:
        for i in range(10):
            while True:
                try:
                    await log.append(await log.version(), [call(100 * w + i)])
                    break
                except VersionConflict:
                    await asyncio.sleep(0)

    await asyncio.gather(*(writer(w) for w in range(1, 5)))
    records = await log.read()
    assert [r.seq for r in records] == list(range(1, 41))
    written = [r.event for r in records]
    for w in range(1, 5):  # each writer's events all there, in the order it wrote them
        mine = [call(100 * w + i) for i in range(10)]
        assert [e for e in written if e in mine] == mine


async def test_wait_returns_at_once_when_events_are_already_there(log: EventLog) -> None:
    await log.append(0, [call(1), call(2)])
    records = await asyncio.wait_for(log.wait(after=1, block_ms=NEVER_MS), 5)
    assert [r.seq for r in records] == [2]


async def test_wait_gives_nothing_when_nothing_comes_in_time(log: EventLog) -> None:
    await log.append(0, [call(1)])
    assert await log.wait(after=1, block_ms=50) == []


async def test_wait_wakes_on_an_append_with_what_was_appended(log: EventLog) -> None:
    await log.append(0, [call(1)])
    waiting = asyncio.create_task(log.wait(after=1, block_ms=NEVER_MS))
    await asyncio.sleep(0.05)  # the waiter is blocked before the append, not after it
    assert not waiting.done()
    await log.append(1, [call(2), call(3)])
    records = await asyncio.wait_for(waiting, 5)
    assert [(r.seq, r.event) for r in records] == [(2, call(2)), (3, call(3))]


async def test_a_waiter_can_be_cancelled(log: EventLog) -> None:
    waiting = asyncio.create_task(log.wait(after=0, block_ms=NEVER_MS))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await log.append(0, [call(1)]) == 1  # and the log still takes appends


async def test_a_healthy_store_answers_ping(log: EventLog) -> None:
    await log.ping()
