"""Connecting to the log's Redis by one URL: a single server, or a replicated set behind Sentinel.

`redis://host:port/db` is one server. `redis+sentinel://h1:p1,h2:p2,h3:p3/name` asks the sentinels
which server is the primary of the set `name` (redis-py's Sentinel client) and follows a
failover by itself: a connection that finds the old primary gone or turned replica is dropped
and the sentinels are asked again, so a pool never keeps answering from a stale primary.
`?replicas=N` on either URL says how many replicas must hold an append before it counts as
acknowledged (Redis `WAIT`); the default is 1 for a sentinel URL, 0 for a single server."""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelManagedConnection
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError

from dispatch.store import RedisEventStore

SENTINEL_SCHEME = "redis+sentinel"
# A dead primary must not hold a request: sockets give up this soon, and the API answers 503.
SOCKET_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class LogAddress:
    """Where the log is and what an acknowledgement waits for."""

    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    primary_name: str = ""
    replicas: int = 0
    replica_wait_ms: int = 1000

    @property
    def replicated(self) -> bool:
        return bool(self.sentinels)

    @classmethod
    def parse(cls, url: str) -> "LogAddress":
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        wait_ms = int(query.get("wait_ms", ["1000"])[0])
        if parts.scheme != SENTINEL_SCHEME:
            return cls(url, replicas=int(query.get("replicas", ["0"])[0]), replica_wait_ms=wait_ms)
        hosts = []
        for item in parts.netloc.split(","):
            host, _, port = item.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{url!r}: each sentinel is host:port, got {item!r}")
            hosts.append((host, int(port)))
        name = parts.path.strip("/")
        if not name:
            raise ValueError(f"{url!r}: name the primary's set after the sentinels (…/jd)")
        return cls(url, tuple(hosts), name, int(query.get("replicas", ["1"])[0]), wait_ms)


class PrimaryConnection(SentinelManagedConnection):
    """A connection that asks the sentinels where the primary is every time it (re)connects.

    redis-py's own reconnects after a dropped connection go to the address it had, the old
    primary (redis/redis-py#3874), so a command retried after a failover would fail again."""

    async def connect_check_health(self, check_health: bool = True,
                                   retry_socket_connect: bool = True) -> None:
        if not self.is_connected and self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super().connect_check_health(check_health, retry_socket_connect)


def connect(url: str) -> aioredis.Redis:
    """A client for the log's Redis: the primary, found and followed through Sentinel when the URL
    names sentinels."""
    address = LogAddress.parse(url)
    if not address.replicated:
        return aioredis.Redis.from_url(url.split("?", 1)[0])
    sentinel = Sentinel(list(address.sentinels), socket_timeout=SOCKET_TIMEOUT_S,
                        sentinel_kwargs={"socket_timeout": SOCKET_TIMEOUT_S})
    # A pooled connection to a primary that has gone fails its next command; that command is
    # tried again on a fresh connection to whichever server the sentinels now name. Appends stay
    # at most once through a retry: the log's version check refuses a second copy.
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), 4)
    primary: aioredis.Redis = sentinel.master_for(
        address.primary_name, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=5, retry=retry, retry_on_error=[ConnectionError, TimeoutError],
        connection_class=PrimaryConnection)
    return primary


def log_store(client: aioredis.Redis, url: str, namespace: str) -> RedisEventStore:
    """The event log on that client, acknowledging appends as the URL asks."""
    address = LogAddress.parse(url)
    return RedisEventStore(client, namespace, address.replicas, address.replica_wait_ms)
