"""The replicated log's servers on one machine: a primary, its replicas and three sentinels.

All are Debian's `redis-server` (a sentinel is the same binary with `--sentinel`), started as
real processes for `jointdispatch cluster up` and for the failover tests. The primary refuses
writes unless a replica is connected and recent (`min-replicas-to-write`), and so does every
replica once promoted, so an append can never be acknowledged by a lone server. Sentinels
agree a failover when two of the three find the primary down for `down_after_ms`."""

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from web.redis_server import RedisServer, _ends_with_this_thread, end_child, free_port, wait_for_ping

PRIMARY_NAME = "jd"
QUORUM = 2


@dataclass
class SentinelServer:
    folder: Path
    primary_port: int
    down_after_ms: int
    port: int = field(default_factory=free_port)
    process: "subprocess.Popen[bytes] | None" = None

    def start(self) -> "SentinelServer":
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "sentinel.conf"  # a sentinel rewrites its own file as it learns
        conf.write_text("\n".join([
            f"port {self.port}", "bind 127.0.0.1", f"dir {self.folder}",
            f"logfile {self.folder / 'sentinel.log'}",
            f"sentinel monitor {PRIMARY_NAME} 127.0.0.1 {self.primary_port} {QUORUM}",
            f"sentinel down-after-milliseconds {PRIMARY_NAME} {self.down_after_ms}",
            f"sentinel failover-timeout {PRIMARY_NAME} {max(3 * self.down_after_ms, 3000)}",
            f"sentinel parallel-syncs {PRIMARY_NAME} 1", ""]))
        self.process = subprocess.Popen(
            ["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=_ends_with_this_thread())
        wait_for_ping(self.port, self.process, self.folder / "sentinel.log")
        return self

    def stop(self) -> None:
        end_child(self.process)


class ReplicatedRedis:
    """A primary, `replicas` replicas and three sentinels under one folder."""

    def __init__(self, folder: Path, replicas: int = 2, down_after_ms: int = 1000,
                 max_lag_s: int = 5) -> None:
        self.folder = Path(folder).resolve()
        self.down_after_ms = down_after_ms
        self.primary_port = free_port()
        # every server is started with the same guard: whichever is promoted keeps it
        guard = ["--min-replicas-to-write", "1", "--min-replicas-max-lag", str(max_lag_s)]
        self.servers = [RedisServer(self.folder / "primary", self.primary_port, extra_args=guard)]
        self.servers += [RedisServer(self.folder / f"replica-{i}", extra_args=[
            *guard, "--replicaof", "127.0.0.1", str(self.primary_port)]) for i in range(1, replicas + 1)]
        self.sentinels = [SentinelServer(self.folder / f"sentinel-{i}", self.primary_port, down_after_ms)
                          for i in range(1, 4)]

    @property
    def url(self) -> str:
        """The URL the app nodes are given: the sentinels, and the set's name."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{PRIMARY_NAME}"

    def start(self, timeout_s: float = 20.0) -> "ReplicatedRedis":
        try:
            for server in self.servers:
                server.start()
            self.wait_replicated(timeout_s)
            for sentinel in self.sentinels:
                sentinel.start()
            self.wait_sentinels_agree(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for server in self.servers:
            server.stop()

    def __enter__(self) -> "ReplicatedRedis":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def primary(self) -> RedisServer:
        """The server the sentinels name as primary now."""
        host, port = self.sentinel_client().sentinel_get_master_addr_by_name(PRIMARY_NAME)
        return next(s for s in self.servers if s.port == int(port))

    def sentinel_client(self) -> redis.Redis:
        for sentinel in self.sentinels:
            if sentinel.process and sentinel.process.poll() is None:
                return redis.Redis(port=sentinel.port, decode_responses=True, socket_timeout=2)
        raise RuntimeError("no sentinel is running")

    def wait_replicated(self, timeout_s: float) -> None:
        """Until the primary has every running replica online."""
        wanted = sum(1 for s in self.servers[1:] if s.process and s.process.poll() is None)
        deadline = time.monotonic() + timeout_s
        client = redis.Redis(port=self.primary_port, decode_responses=True)
        while time.monotonic() < deadline:
            info = client.info("replication")
            online = sum(1 for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)
                         and v.get("state") == "online")
            if online >= wanted:
                return
            time.sleep(0.1)
        raise RuntimeError(f"replicas did not come online within {timeout_s} s")

    def wait_sentinels_agree(self, timeout_s: float) -> None:
        """Until every sentinel knows the others and the replicas (a failover needs a quorum)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready = 0
            for sentinel in self.sentinels:
                master = redis.Redis(port=sentinel.port, decode_responses=True).sentinel_master(PRIMARY_NAME)
                replicas = len(self.servers) - 1
                if int(master["num-other-sentinels"]) >= 2 and int(master["num-slaves"]) >= replicas:
                    ready += 1
            if ready == len(self.sentinels):
                return
            time.sleep(0.2)
        raise RuntimeError(f"sentinels did not agree on the set within {timeout_s} s")

    def wait_failover(self, old_port: int, timeout_s: float = 30.0) -> RedisServer:
        """Until the sentinels name a primary other than `old_port`, and it takes writes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                server = self.primary()
            except (redis.RedisError, StopIteration):
                server = None
            if server is not None and server.port != old_port:
                role = redis.Redis(port=server.port, decode_responses=True).role()
                if role[0] == "master":
                    return server
            time.sleep(0.1)
        raise RuntimeError(f"no failover within {timeout_s} s")

