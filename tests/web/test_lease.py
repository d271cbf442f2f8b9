"""Work done once across nodes: one holder at a time; a dead holder's work moves to another
node within a lease and a third; a clean stop hands it over at once."""

import asyncio
import time

import redis.asyncio as aioredis

from web.lease import Lease


async def test_one_node_runs_the_work_and_another_takes_over_when_it_dies(redis_server, namespace) -> None:
    client = aioredis.Redis.from_url(redis_server.url)
    running: list[str] = []

    def work_of(node: str):  # type: ignore[no-untyped-def]
        async def work() -> None:
            running.append(node)
            try:
                await asyncio.Event().wait()
            finally:
                running.remove(node)
        return work

    key, ttl = f"{namespace}:lease:clock", 0.6
    a = asyncio.create_task(Lease(client, key, "a", ttl).hold(work_of("a")))
    await asyncio.sleep(0.1)
    b = asyncio.create_task(Lease(client, key, "b", ttl).hold(work_of("b")))
    await asyncio.sleep(1.5)  # several renewals: a keeps it, b never starts
    assert running == ["a"]

    # a dies without a word: its renewals stop, and its lease is left to run out (a cancel would
    # give it up cleanly, so the dead node's last lease is put back as a kill -9 leaves it)
    a.cancel()
    await asyncio.gather(a, return_exceptions=True)
    await client.set(key, "a", px=int(ttl * 1000))
    died = time.monotonic()
    while running != ["b"] and time.monotonic() - died < 5:
        await asyncio.sleep(0.05)
    assert running == ["b"]
    assert time.monotonic() - died <= ttl * 4 / 3 + 0.5

    b.cancel()  # a clean stop gives the lease up at once
    await asyncio.gather(b, return_exceptions=True)
    assert await client.get(key) is None
    await client.aclose()


async def test_a_holder_that_cannot_renew_stops_its_work(redis_server, namespace) -> None:
    client = aioredis.Redis.from_url(redis_server.url)
    started, stopped = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    key = f"{namespace}:lease:drive"
    holding = asyncio.create_task(Lease(client, key, "a", 0.6).hold(work))
    await asyncio.wait_for(started.wait(), 2)
    await client.set(key, "someone-else")  # taken over after a long pause of this node
    await asyncio.wait_for(stopped.wait(), 2)
    holding.cancel()
    await asyncio.gather(holding, return_exceptions=True)
    assert await client.get(key) == b"someone-else"  # not ours to give up
    await client.aclose()
