"""`node_kill_screens_resumed_s`: the whole topology (`cluster up`: Sentinel set, two app nodes,
HAProxy), screens open through the load balancer, one app node `kill -9`'d while calls arrive;
each screen that lost its node reconnects through the balancer with its last sequence number,
as the console does, and the figure is the time from the kill to that screen's first new event.
Median and worst over every screen of every kill; a killed node is started again between kills."""

import contextlib
import json
import os
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from web.cluster import Cluster
from web.redis_server import free_port

KILLS = 3
SCREENS = 12
CALL_EVERY_S = 0.1
KEY = "jd_bench_supervisor_" + "k" * 32


class Screen:
    """One console's socket on its own thread: when its node goes, it reconnects through the
    balancer at once and then every 250 ms with `since` its last sequence number, as the page does."""

    def __init__(self, url: str) -> None:
        self.url, self.seq = url, 0
        self.lost_at: float | None = None
        self.first_after: float | None = None  # the first event after it came back
        self.ws: Any = connect(f"{url}/v1/live?key={KEY}", open_timeout=5)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                msg = json.loads(self.ws.recv(timeout=0.5))
            except TimeoutError:
                continue
            except (ConnectionClosed, OSError):
                self.lost_at = self.lost_at or time.monotonic()
                self._reconnect(stop)
                continue
            if msg["type"] == "event" and self.lost_at is not None and self.first_after is None:
                self.first_after = time.monotonic()
            if msg["type"] in ("snapshot", "event"):
                self.seq = max(self.seq, msg["seq"])

    def _reconnect(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.ws = connect(f"{self.url}/v1/live?key={KEY}&since={self.seq}", open_timeout=2)
                return
            except (OSError, InvalidHandshake, InvalidStatus, TimeoutError):
                time.sleep(0.25)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


def _calls(base: str, stop: threading.Event, bounds: list[float]) -> None:
    w, s, e, n = bounds
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=3) as http:
        i = 0
        while not stop.is_set():
            i += 1
            with contextlib.suppress(httpx.HTTPError):  # the balancer moving over: go on
                http.post("/v1/calls", json={
                    "hotline": "110", "kind": "traffic_crash", "text": f"bench {i}",
                    "location": {"lon": w + (e - w) * ((i * 37) % 100) / 100,
                                 "lat": s + (n - s) * ((i * 61) % 100) / 100}})
            stop.wait(CALL_EVERY_S)


def _one_kill(cluster: Cluster) -> list[float]:
    """Seconds from the kill to the first new event, for each screen the kill cut off."""
    base = cluster.url.rstrip("/")
    screens = [Screen(base.replace("http://", "ws://")) for _ in range(SCREENS)]
    stop = threading.Event()
    threads = [threading.Thread(target=sc.run, args=(stop,), daemon=True) for sc in screens]
    bounds = httpx.get(f"{base}/v1/map/roads", headers={"Authorization": f"Bearer {KEY}"}).json()["bounds"]
    threads.append(threading.Thread(target=_calls, args=(base, stop, bounds), daemon=True))
    for t in threads:
        t.start()
    time.sleep(2)
    victim = next(a for a in cluster.apps if a.alive())
    assert victim.process is not None
    killed_at = time.monotonic()
    os.kill(victim.process.pid, signal.SIGKILL)
    time.sleep(3)  # long enough for every cut-off screen to have noticed
    cut = [sc for sc in screens if sc.lost_at is not None]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(sc.first_after is None for sc in cut):
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(5)
    for sc in screens:
        sc.close()
    cluster.keep_up()  # the dead node back, for the next kill
    started = time.monotonic()
    while not all(a.healthy() for a in cluster.apps) and time.monotonic() - started < 120:
        time.sleep(0.5)
    time.sleep(3)  # the balancer's rise 2 at inter 1s: the node takes screens again
    return [(sc.first_after - killed_at) if sc.first_after else float("nan") for sc in cut]


def run() -> dict[str, float | str]:
    os.environ.setdefault("JD_CITY_SCALE", "0.3")  # start-up time is not this figure
    os.environ["JD_DEMO_MOTION"] = "0"
    os.environ["JD_RATE_LIMIT"] = "1000000/second"
    times: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        cluster = Cluster(Path(folder), port=free_port(), demo_key=KEY)
        try:
            cluster.up()
            time.sleep(3)  # the balancer's first health checks
            for _ in range(KILLS):
                times += _one_kill(cluster)
        finally:
            cluster.down()
    good = [t for t in times if t == t]
    return {"node_kill_screens_resumed_s": round(statistics.median(good), 2) if good else "none resumed",
            "node_kill_screens_resumed_max_s": round(max(good), 2) if good else "n/a",
            "node_kill_screens_cut": len(times), "node_kill_screens_not_resumed": len(times) - len(good)}
