"""Per-client rate limits, counted in Redis so every server process shares one count per key.

A sliding window counter: the current and the previous window's counts, the previous weighted by
how much of it still overlaps, so a client cannot double its rate across a window boundary. It is
one short script on the app's own Redis connection: the `limits` library's Redis strategies cost
a client of 4 connections more than half the intake throughput in `make bench` (its moving
window keeps a list entry per request), so only its rate notation ("50/second") is used here.
Over the limit: 429 with `Retry-After` in whole seconds."""

import math
import time

import redis.asyncio as aioredis
from limits import RateLimitItem, parse

from web.access import Denied
from web.api_keys import ApiKey

_HIT = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
if prev * (1 - tonumber(ARGV[3])) + cur + 1 > tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
return 1
"""


class RateLimits:
    def __init__(self, redis: aioredis.Redis, namespace: str, default: str) -> None:
        self.default = parse(default)
        self.prefix = f"{namespace}:rate"
        self._hit = redis.register_script(_HIT)

    def limit_of(self, key: ApiKey) -> RateLimitItem:
        return parse(key.rate) if key.rate else self.default

    async def hit(self, key: ApiKey, now: float | None = None) -> None:
        item = self.limit_of(key)
        window = item.get_expiry()
        now = time.time() if now is None else now
        number, into = divmod(now, window)
        keys = [f"{self.prefix}:{key.key_id}:{int(number)}", f"{self.prefix}:{key.key_id}:{int(number) - 1}"]
        if await self._hit(keys=keys, args=[item.amount, window, into / window]):
            return
        wait = max(1, math.ceil(window - into))
        raise Denied(429, f"rate limit {item} for key {key.key_id} reached; retry in {wait} s",
                     {"rate": str(item)}, headers={"Retry-After": str(wait)})
