"""Sustained POST /v1/calls throughput and latency through to the durable append, on loopback.

A real server process (uvicorn) and a real Redis with fsync on every write, as `make run` has
them. The load comes from wrk (Debian's, written in C) so the measuring client does not eat
the CPU it measures on this 2-core machine; without wrk, a Python client is used and said so."""

import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.stats import percentile
from web.redis_server import RedisServer, free_port

DURATION_S = float(os.environ.get("JD_BENCH_INTAKE_S", "10"))
# The server under test adopts this as its supervisor key; every request carries it, so the key
# lookup and the rate-limit count (set far above the load) are part of what is measured.
BENCH_KEY = "jd_bench_supervisor_" + "b" * 32
AUTH = {"Authorization": f"Bearer {BENCH_KEY}"}
BENCH_ENV = {"JD_DEMO_KEY": BENCH_KEY, "JD_RATE_LIMIT": "10000000/second"}
CONCURRENCY = 32
KINDS = ["traffic_crash", "injured_person", "fight", "theft", "noise", "medical_emergency", "fire"]




async def _drive(base: str, bounds: tuple[float, float, float, float]) -> tuple[list[float], int]:
    w, s, e, n = bounds
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + DURATION_S
    rng = random.Random(1)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            body = {
                "hotline": rng.choice(["110", "119", "120"]),
                "received_at": datetime.now(UTC).isoformat(),
                "caller_number": f"138{rng.randrange(10**8):08d}",
                "location": {"lon": rng.uniform(w + 0.2 * (e - w), e - 0.2 * (e - w)),
                             "lat": rng.uniform(s + 0.2 * (n - s), n - 0.2 * (n - s))},
                "kind": rng.choice(KINDS),
                "text": "bench",
            }
            t0 = time.perf_counter()
            r = await client.post(f"{base}/v1/calls", json=body, headers=AUTH)
            latencies.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 201:
                errors += 1

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    return latencies, errors


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. KEY
local kinds = {"traffic_crash", "injured_person", "fight", "theft", "noise", "medical_emergency", "fire"}
request = function()
  local body = string.format(
    '{"hotline":"110","kind":"%s","caller_number":"138%08d","location":{"lon":%.6f,"lat":%.6f}}',
    kinds[math.random(#kinds)], math.random(0, 99999999), W + math.random() * (E - W),
    S + math.random() * (N - S))
  return wrk.format(nil, "/v1/calls", nil, body)
end
"""


def _wrk(
    base: str, bounds: tuple[float, float, float, float], connections: int, tmp: str
) -> dict[str, float]:
    w, s, e, n = bounds
    script = Path(tmp) / "calls.lua"
    inner = (w + 0.2 * (e - w), s + 0.2 * (n - s), e - 0.2 * (e - w), n - 0.2 * (n - s))
    script.write_text("W, S, E, N = {:f}, {:f}, {:f}, {:f}\n".format(*inner) + f'KEY = "{BENCH_KEY}"\n'
                      + WRK_SCRIPT)
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{int(DURATION_S)}s", "--latency",
                          "-s", str(script), base], capture_output=True, text=True, check=True).stdout
    figures: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            figures[parts[0]] = _ms(parts[1])
        if line.startswith("Requests/sec:"):
            figures["rps"] = float(parts[1])
        if "Non-2xx" in line:
            figures["errors"] = float(parts[-1])
    tag = f"c{connections}"
    return {f"intake_calls_per_s_{tag}": figures["rps"],
            f"intake_post_call_p50_ms_{tag}": figures["50%"],
            f"intake_post_call_p99_ms_{tag}": figures["99%"],
            f"intake_errors_{tag}": figures.get("errors", 0.0)}


def feed_figures(base: str) -> dict[str, float]:
    """Pulling the incident feed over the log the load just wrote: 100 items a page, from cursors
    spread over the log, in JSON and in CAP (field rules and audit included)."""
    out: dict[str, float] = {}
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as client:
        version = client.get("/healthz").json()["log_version"]
        out["feed_log_events"] = float(version)
        for fmt in ("json", "cap"):
            times = []
            for i in range(40):
                t = time.perf_counter()
                r = client.get("/v1/feeds/incidents",
                               params={"cursor": version * i // 40, "limit": 100, "format": fmt})
                times.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
            out[f"feed_page_100_{fmt}_p50_ms"] = round(percentile(times, 0.5), 2)
            out[f"feed_page_100_{fmt}_p99_ms"] = round(percentile(times, 0.99), 2)
    return out


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return round(float(text[: -len(unit)]) * factor, 2)
    raise ValueError(text)


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as redis:
        port = free_port()
        env = {**os.environ, "REDIS_URL": redis.url, "JD_PORT": str(port), "JD_NAMESPACE": "bench",
               **BENCH_ENV}
        server = subprocess.Popen([sys.executable, "-m", "web.cli", "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, server)
            bounds = tuple(httpx.get(f"{base}/v1/map/roads", headers=AUTH, timeout=30).json()["bounds"])
            for i in range(20):  # warm the server's first-use paths before anything is measured
                httpx.post(f"{base}/v1/calls", json={"hotline": "110", "kind": "noise", "location": {
                    "lon": bounds[0] + (bounds[2] - bounds[0]) * (0.3 + i / 50),
                    "lat": (bounds[1] + bounds[3]) / 2}}, headers=AUTH, timeout=30)
            if shutil.which("wrk"):
                figures = {"intake_load_client": "wrk"}
                for connections in (4, 32):
                    figures.update(_wrk(base, bounds, connections, tmp))  # type: ignore[arg-type]
                figures.update(feed_figures(base))  # type: ignore[arg-type]
                return figures  # type: ignore[return-value]
            started = time.perf_counter()
            latencies, errors = asyncio.run(_drive(base, bounds))  # type: ignore[arg-type]
            elapsed = time.perf_counter() - started
            feeds = feed_figures(base)
        finally:
            server.terminate()
            server.wait(10)
    return {
        "intake_load_client": "python-httpx (install wrk for a fair figure)",  # type: ignore[dict-item]
        "intake_calls_per_s": round(len(latencies) / elapsed, 1),
        "intake_post_call_p50_ms": round(percentile(latencies, 0.50), 2),
        "intake_post_call_p99_ms": round(percentile(latencies, 0.99), 2),
        "intake_errors": errors,
        **feeds,
        "intake_concurrency": CONCURRENCY,
    }


def _wait_ready(base: str, server: "subprocess.Popen[bytes] | None", timeout_s: float = 120) -> None:
    """Until `base` answers /healthz (a load balancer's address when there is no one `server`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"server exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not become ready")


if __name__ == "__main__":
    print(run())
