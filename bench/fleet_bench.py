"""Fleet figures through a real server on loopback: position ingest per second via the batch
endpoint (through to Redis), and time to a recommendation with 500 live units on the map."""

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from bench.intake_bench import AUTH, BENCH_ENV, _wait_ready
from bench.stats import percentile
from web.redis_server import RedisServer, free_port

INGEST_S = float(os.environ.get("JD_BENCH_INGEST_S", "10"))
UNITS = 500
BATCH = 500


def _fleet_file(folder: Path) -> Path:
    """The demo stations with 500 units spread over them, so recommendation ranks 500."""
    from dispatch.fleet import DEMO_FLEET_FILE

    raw = yaml.safe_load(DEMO_FLEET_FILE.read_text())
    stations = raw["stations"]
    kinds = {"110": "patrol_car", "119": "fire_engine", "120": "ambulance", "122": "traffic_police_car"}
    raw["units"] = [{"id": f"U{i:04d}", "station": stations[i % len(stations)]["id"],
                     "kind": kinds[stations[i % len(stations)]["agency"]]} for i in range(UNITS)]
    path = folder / "fleet.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


async def _ingest(base: str, bounds: list[float]) -> tuple[int, float, list[float]]:
    w, s, e, n = bounds
    rng = random.Random(3)
    sent = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + INGEST_S
    started = time.perf_counter()

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while time.perf_counter() < deadline:
            batch = [{"unit_id": f"U{rng.randrange(UNITS):04d}", "lon": rng.uniform(w, e),
                      "lat": rng.uniform(s, n), "heading": rng.uniform(0, 359), "speed_kmh": 40}
                     for _ in range(BATCH)]
            t = time.perf_counter()
            r = await client.post(f"{base}/v1/positions", json={"positions": batch})
            latencies.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
            sent += BATCH

    async with httpx.AsyncClient(timeout=30, headers=AUTH) as client:
        await asyncio.gather(*(worker(client) for _ in range(4)))
    return sent, time.perf_counter() - started, latencies


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as redis:
        port = free_port()
        env = {**os.environ, "REDIS_URL": redis.url, "JD_PORT": str(port), "JD_NAMESPACE": "fleetbench",
               "JD_FLEET_FILE": str(_fleet_file(Path(tmp))), "JD_MAX_BODY_BYTES": str(1 << 20),
               **BENCH_ENV}
        server = subprocess.Popen([sys.executable, "-m", "web.cli", "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, server)
            bounds = httpx.get(f"{base}/v1/map/roads", headers=AUTH, timeout=60).json()["bounds"]
            sent, elapsed, batch_ms = asyncio.run(_ingest(base, bounds))
            w, s, e, n = bounds
            rec_ms: list[float] = []
            rng = random.Random(5)
            with httpx.Client(timeout=30, headers=AUTH) as client:
                for _ in range(60):
                    lon = rng.uniform(w + (e - w) * 0.3, e - (e - w) * 0.3)
                    lat = rng.uniform(s + (n - s) * 0.3, n - (n - s) * 0.3)
                    inc = client.post(f"{base}/v1/calls", json={
                        "hotline": "120", "kind": "medical_emergency",
                        "location": {"lon": lon, "lat": lat}}).json()["incident_id"]
                    t = time.perf_counter()
                    r = client.get(f"{base}/v1/incidents/{inc}/recommendation")
                    rec_ms.append((time.perf_counter() - t) * 1000)
                    r.raise_for_status()
        finally:
            server.terminate()
            server.wait(10)
    return {
        "positions_ingest_per_s": round(sent / elapsed, 1),
        "positions_batch_500_p99_ms": round(percentile(batch_ms, 0.99), 2),
        "recommendation_500_units_p50_ms": round(percentile(rec_ms, 0.50), 2),
        "recommendation_500_units_p99_ms": round(percentile(rec_ms, 0.99), 2),
    }


if __name__ == "__main__":
    print(run())
