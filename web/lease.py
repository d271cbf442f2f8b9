"""Work that must happen once across all app nodes, held by one node at a time under a lease in
Redis: the whistle's escalation clock, the alarm steps' clock, webhook delivery, the device
watch, the demo drive.

A node takes the lease with `SET NX PX`, renews it every third of its time to live, and runs
the work only while it holds it. When it dies the lease runs out and another node takes it
within one time to live and one third. A node that cannot renew (Redis down, the lease taken
after a long pause) stops its work at once; a node must never run work it might share."""

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from dispatch.background import end

log = logging.getLogger(__name__)

# Renew only a lease this node still holds; a lease another node took is left alone.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


def this_node() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease:
    def __init__(self, redis: aioredis.Redis, key: str, holder: str, ttl_s: float) -> None:
        self.redis, self.key, self.holder = redis, key, holder
        self.ttl_ms = max(int(ttl_s * 1000), 300)
        self._renew = redis.register_script(_RENEW)

    async def take(self) -> bool:
        return bool(await self.redis.set(self.key, self.holder, nx=True, px=self.ttl_ms))

    async def renew(self) -> bool:
        return bool(await self._renew(keys=[self.key], args=[self.holder, self.ttl_ms]))

    async def give_up(self) -> None:
        """Free the lease on a clean stop, so another node need not wait for it to run out."""
        with contextlib.suppress(Exception):
            if await self.redis.get(self.key) == self.holder.encode():
                await self.redis.delete(self.key)

    async def hold(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` whenever this node holds the lease, for as long as it does; forever."""
        beat = self.ttl_ms / 3000
        try:
            while True:
                try:
                    held = await self.take()
                except Exception:  # Redis away: nobody can hold it meanwhile without renewing
                    held = False
                if not held:
                    await asyncio.sleep(beat)
                    continue
                log.info("%s holds %s", self.holder, self.key)
                task = asyncio.ensure_future(work())
                try:
                    while not task.done():
                        await asyncio.wait({task}, timeout=beat)
                        if task.done():
                            break
                        try:
                            kept = await self.renew()
                        except Exception:
                            kept = False
                        if not kept:
                            log.warning("%s lost %s; its work stops here", self.holder, self.key)
                            break
                finally:
                    ended = await end(task, name=f"the work under {self.key}")
                if ended and not task.cancelled() and task.exception() is None:
                    return  # the work ended by itself: nothing more to hold it for
                await asyncio.sleep(beat)
        finally:
            await self.give_up()
