"""Which centres have a console live, across every app node: each node says every second how
many of its live screens belong to each agency's call-takers, dispatchers, conveners and
supervisors, under a key that lapses if the node dies; an agency seen live is stamped with the
time, so the watch on any node (and after a restart) knows since when a centre has been dark."""

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime

import redis.asyncio as aioredis

from coordination.lead_watch import Seen
from dispatch.clock import Clock

log = logging.getLogger(__name__)

# The roles that staff a centre; a vehicle's tablet or a feed reader is not a centre's console.
CENTRE_ROLES = frozenset({"call_taker", "dispatcher", "convener", "supervisor"})


class Presence:
    def __init__(self, redis: aioredis.Redis, namespace: str, node: str, clock: Clock,
                 every_s: float = 1.0) -> None:
        self.redis, self.node, self.clock, self.every_s = redis, node, clock, every_s
        self.nodes_key = f"{namespace}:presence:nodes"
        self.seen_key = f"{namespace}:presence:seen"
        self.prefix = f"{namespace}:presence:node:"
        self.ttl_ms = int(every_s * 4000)  # four missed beats and the node's consoles are gone

    async def tell(self, consoles: dict[str, int]) -> None:
        """Say what this node serves now (agency -> live centre consoles)."""
        now = self.clock.now().isoformat()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self.prefix + self.node, json.dumps(consoles), px=self.ttl_ms)
            pipe.sadd(self.nodes_key, self.node)
            live = {agency: now for agency, n in consoles.items() if n > 0}
            if live:
                pipe.hset(self.seen_key, mapping=live)
            await pipe.execute()

    async def seen(self) -> Seen:
        nodes = sorted(n.decode() for n in await self.redis.smembers(self.nodes_key))
        said = await self.redis.mget([self.prefix + n for n in nodes]) if nodes else []
        live: set[str] = set()
        for node, raw in zip(nodes, said, strict=True):
            if raw is None:  # its key lapsed: the node is dead (or stopped)
                await self.redis.srem(self.nodes_key, node)
                continue
            live.update(a for a, n in json.loads(raw).items() if n > 0)
        stamps = await self.redis.hgetall(self.seen_key)
        return Seen(frozenset(live), {k.decode(): datetime.fromisoformat(v.decode())
                                      for k, v in stamps.items()})

    async def run(self, consoles: Callable[[], dict[str, int]]) -> None:
        """Every node, for as long as it serves (`consoles` counts its live screens by agency):
        a Redis error skips a beat, never ends it."""
        while True:
            try:
                await self.tell(consoles())
            except Exception as e:  # Redis away for a moment: the next beat says it again
                log.debug("presence: %r", e)
            await asyncio.sleep(self.every_s)
