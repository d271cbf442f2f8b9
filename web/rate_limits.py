"""Per-client rate limits, counted in Redis so every server process shares one count per key.

A moving window (the `limits` library's Redis implementation) so a client cannot double its
rate across a window boundary. Over the limit: 429 with `Retry-After` in whole seconds."""

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from web.access import Denied
from web.api_keys import ApiKey


class RateLimits:
    def __init__(self, redis_url: str, namespace: str, default: str) -> None:
        self.default = parse(default)
        scheme, rest = redis_url.split("://", 1)
        self.storage = RedisStorage(f"async+{scheme}://{rest}", implementation="redispy",
                                    key_prefix=f"{namespace}:rate")
        self.limiter = MovingWindowRateLimiter(self.storage)

    def limit_of(self, key: ApiKey) -> RateLimitItem:
        return parse(key.rate) if key.rate else self.default

    async def hit(self, key: ApiKey) -> None:
        item = self.limit_of(key)
        if await self.limiter.hit(item, key.key_id):
            return
        stats = await self.limiter.get_window_stats(item, key.key_id)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise Denied(429, f"rate limit {item} for key {key.key_id} reached; retry in {wait} s",
                     {"rate": str(item)}, headers={"Retry-After": str(wait)})
