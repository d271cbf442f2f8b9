"""`intake_200cps_p99_ms`: calls at a steady 200 a second through the whole fault-tolerant
topology (`cluster up`: HAProxy, two app nodes, the log on a Sentinel set with every append
WAITing for a replica), the p99 from each call's planned send time to its answer, so a stall
counts against every call it held up. `intake_200cps_single_p99_ms` is the same load in the
same run on one app node over one Redis (no replica, no WAIT, no balancer): the price of the
topology is the ratio of the two."""

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.intake_bench import _wait_ready
from bench.stats import percentile
from web.cluster import Cluster
from web.redis_server import RedisServer, free_port

RATE_PER_S = 200
DURATION_S = float(os.environ.get("JD_BENCH_HA_INTAKE_S", "20"))
KEY = "jd_bench_supervisor_" + "h" * 32
KINDS = ["traffic_crash", "injured_person", "fight", "theft", "noise", "medical_emergency", "fire"]


async def _steady(base: str) -> tuple[list[float], int]:
    """Open loop: call i is due at start + i / rate whatever the answers before it did."""
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {KEY}"},
                                 timeout=30, limits=httpx.Limits(max_connections=256)) as http:
        w, s, e, n = (await http.get("/v1/map/roads")).json()["bounds"]
        latencies: list[float] = []
        errors = 0

        async def one(i: int, due: float) -> None:
            nonlocal errors
            body = {"hotline": "110", "kind": KINDS[i % len(KINDS)], "caller_number": f"138{i:08d}",
                    "location": {"lon": w + (e - w) * (0.2 + 0.6 * ((i * 37) % 101) / 101),
                                 "lat": s + (n - s) * (0.2 + 0.6 * ((i * 61) % 103) / 103)}}
            try:
                r = await http.post("/v1/calls", json=body)
                if r.status_code != 201:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - due) * 1000)

        tasks = []
        start = time.perf_counter() + 0.5
        for i in range(int(RATE_PER_S * DURATION_S)):
            due = start + i / RATE_PER_S
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
    return latencies, errors


def _figures(latencies: list[float], errors: int, tag: str) -> dict[str, float]:
    return {f"intake_200cps{tag}_p50_ms": round(percentile(latencies, 0.5), 2),
            f"intake_200cps{tag}_p99_ms": round(percentile(latencies, 0.99), 2),
            f"intake_200cps{tag}_errors": errors}


def _single() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as redis:
        port = free_port()
        env = {**os.environ, "REDIS_URL": redis.url, "JD_PORT": str(port), "JD_NAMESPACE": "single",
               "JD_DEMO_KEY": KEY, "JD_RATE_LIMIT": "10000000/second", "JD_DEMO_MOTION": "0"}
        server = subprocess.Popen([sys.executable, "-m", "web.cli", "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_ready(f"http://127.0.0.1:{port}", server)
            return _figures(*asyncio.run(_steady(f"http://127.0.0.1:{port}")), "_single")
        finally:
            server.terminate()
            server.wait(30)


def run() -> dict[str, float]:
    os.environ["JD_RATE_LIMIT"] = "10000000/second"
    os.environ["JD_DEMO_MOTION"] = "0"
    out = _single()
    with tempfile.TemporaryDirectory() as folder:
        cluster = Cluster(Path(folder), port=free_port(), demo_key=KEY)
        try:
            cluster.up()
            _wait_ready(cluster.url.rstrip("/"), None)
            time.sleep(3)  # the balancer's first health checks
            out.update(_figures(*asyncio.run(_steady(cluster.url.rstrip("/"))), ""))
        finally:
            cluster.down()
    out["intake_200cps_ha_over_single_x"] = round(
        out["intake_200cps_p99_ms"] / max(out["intake_200cps_single_p99_ms"], 1e-9), 2)
    return out
