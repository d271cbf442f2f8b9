"""The whole fault-tolerant topology on one machine, for `jointdispatch cluster up`: the log on a
Sentinel set (primary, two replicas, three sentinels), two app nodes, and HAProxy (Debian's) in
front with health checks and websockets. A node that dies is started again; the load balancer
sends its requests and screens to the other meanwhile. Across machines the same parts are run
one per host: see the README."""

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from web.redis_sentinel import ReplicatedRedis
from web.redis_server import _ends_with_this_thread, end_child, free_port

HAPROXY_CONFIG = """\
global
    log stderr format raw local0 warning
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # a live screen is a websocket: kept open for as long as the dispatcher works
    timeout tunnel 1h
    option redispatch
    retries 2
frontend dispatch
    bind {host}:{port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""


@dataclass
class AppNode:
    name: str
    port: int
    env: dict[str, str]
    log_file: Path
    process: "subprocess.Popen[bytes] | None" = None
    restarts: int = 0

    def start(self) -> None:
        with open(self.log_file, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_ends_with_this_thread())

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass
class Cluster:
    folder: Path
    host: str = "127.0.0.1"
    port: int = 8000
    nodes: int = 2
    demo_key: str | None = None
    log: ReplicatedRedis = field(init=False)
    apps: list[AppNode] = field(default_factory=list)
    balancer: "subprocess.Popen[bytes] | None" = None

    def __post_init__(self) -> None:
        self.folder = Path(self.folder).resolve()
        self.log = ReplicatedRedis(self.folder / "log", replicas=2)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def up(self, timeout_s: float = 120.0) -> None:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not os.path.exists(binary):
            raise RuntimeError("haproxy is not installed; `make run-ha` installs Debian's package")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log.start()
        for i in range(1, self.nodes + 1):
            env = dict(os.environ, REDIS_URL=self.log.url, JD_NODE_ID=f"node-{i}", JD_MQTT_URL="",
                       JD_DATA_DIR=str(self.folder / f"node-{i}"))
            if self.demo_key:
                env["JD_DEMO_KEY"] = self.demo_key
            self.apps.append(AppNode(f"node-{i}", free_port(), env, self.folder / f"node-{i}.log"))
        for app in self.apps:
            app.start()
        deadline = time.monotonic() + timeout_s
        while not all(app.healthy() for app in self.apps):
            for app in self.apps:
                if not app.alive():
                    raise RuntimeError(f"{app.name} exited on start; see {app.log_file}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"app nodes not healthy within {timeout_s} s")
            time.sleep(0.5)
        servers = "\n".join(f"    server {a.name} 127.0.0.1:{a.port} check" for a in self.apps)
        config = self.folder / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(host=self.host, port=self.port, servers=servers))
        with open(self.folder / "haproxy.log", "ab") as out:
            self.balancer = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=out,
                                             stderr=subprocess.STDOUT, preexec_fn=_ends_with_this_thread())

    def keep_up(self) -> None:
        """Start again every app node that died (a crash, a rewound fold after a failover)."""
        for app in self.apps:
            if not app.alive():
                app.restarts += 1
                app.start()

    def down(self) -> None:
        end_child(self.balancer)
        for app in self.apps:
            end_child(app.process, grace_s=10)
        self.log.stop()
