"""Live map fan-out: N units reporting at 1 Hz through the position API, fanned out to M websocket
screens, on loopback; delivery latency (fix taken -> frame received by a screen) p50/p99 and
messages per second.

Everything is a real process: Redis, one server (`jointdispatch serve`, as `make run` starts it),
the vehicles (one process posting every unit's fix once a second, 400 fixes a request, the API's
body limit), and the screens (split over several processes, so that no client shares the
server's event loop). On this 2-core machine they all share the CPU with the server; the figure
is end to end and honest about that."""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml

from bench.intake_bench import AUTH, BENCH_ENV, BENCH_KEY, _wait_ready
from bench.stats import percentile
from dispatch.fleet import DEMO_FLEET_FILE
from web.redis_server import RedisServer, free_port

UNITS = int(os.environ.get("JD_BENCH_FANOUT_UNITS", "2000"))
SCREENS = int(os.environ.get("JD_BENCH_FANOUT_SCREENS", "200"))
SCREEN_PROCESSES = 2
WARM_S, MEASURE_S = 5.0, float(os.environ.get("JD_BENCH_FANOUT_S", "20"))
PER_REQUEST = 400
AGENCIES = (("110", "PS-CENTRAL", "patrol_car"), ("119", "FS-1", "fire_engine"),
            ("120", "AS-CITY", "ambulance"), ("122", "TB-1", "traffic_police_car"))


def _unit_ids(units: int) -> list[str]:
    per = units // len(AGENCIES)
    return [f"X{a}-{i}" for a, _, _ in AGENCIES for i in range(1, per + 1)]


def _fleet_file(path: Path, units: int) -> Path:
    fleet = yaml.safe_load(DEMO_FLEET_FILE.read_text())
    fleet["units"] = [{"id": f"X{a}", "station": s, "kind": k, "call_sign": f"Unit {a}",
                       "count": units // len(AGENCIES), "crew": 2} for a, s, k in AGENCIES]
    path.write_text(yaml.safe_dump(fleet))
    return path


# --- the screens (run in their own processes) ------------------------------------------------------

async def _screens(url: str, count: int) -> None:
    from websockets.asyncio.client import connect

    samples: list[tuple[float, float, int]] = []  # (fix taken, received, fixes in the frame)
    frames = 0

    async def screen(ready: asyncio.Event) -> None:
        nonlocal frames
        async with connect(url, max_size=None) as ws:  # compression as a browser asks for it
            await ws.recv()  # the snapshot
            ready.set()
            async for msg in ws:
                got = time.time()
                if isinstance(msg, str) and msg.startswith('{"type":"positions"'):
                    frames += 1
                    # The frame's own `at` (a request's fixes share it); parsing every fix
                    # would make the client eat the CPU it measures.
                    i = msg.index('"at":') + 5
                    taken = float(msg[i:msg.index(",", i)])
                    samples.append((taken, got, msg.count("[") - 1))

    tasks = []
    for _ in range(count):
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(screen(ready)))
        await ready.wait()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "stop"
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"frames": frames, "samples": samples}), flush=True)


# --- the vehicles (their own process) ---------------------------------------------------------------

async def _vehicles(base: str, units: int, seconds: float) -> None:
    ids = _unit_ids(units)
    w, s, e, n = httpx.get(f"{base}/v1/map/roads", headers=AUTH).json()["bounds"]
    step = 0
    ingest: list[float] = []  # how long the API took to take each request of fixes
    warm_until = time.monotonic() + WARM_S
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=AUTH,
                                 limits=httpx.Limits(max_connections=8)) as http:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            tick = time.monotonic()
            step += 1

            async def post(chunk: list[str], step: int) -> None:
                at = datetime.now(UTC).isoformat()
                fixes = [{"unit_id": u, "at": at, "heading": (step * 7 + k) % 360,
                          "lon": w + (e - w) * ((k * 37 + step) % 1000) / 1000,
                          "lat": s + (n - s) * ((k * 91 + step) % 1000) / 1000}
                         for k, u in enumerate(chunk)]
                t0 = time.perf_counter()
                (await http.post("/v1/positions", json={"positions": fixes})).raise_for_status()
                if time.monotonic() > warm_until:
                    ingest.append((time.perf_counter() - t0) * 1000)

            await asyncio.gather(*(post(ids[i:i + PER_REQUEST], step)
                                   for i in range(0, len(ids), PER_REQUEST)))
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    ingest.sort()
    print(json.dumps({"ingest_p50_ms": round(percentile(ingest, 0.5), 1),
                      "ingest_p99_ms": round(percentile(ingest, 0.99), 1)}))


# --- the run ------------------------------------------------------------------------------------------



def run() -> dict[str, float]:
    tag = f"{UNITS}_units_{SCREENS}_clients"
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis", fsync="everysec") as redis:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "REDIS_URL": redis.url, "JD_PORT": str(port), "JD_NAMESPACE": "fanout",
               "JD_DEMO_MOTION": "0", "JD_CITY_SCALE": "0.3",
               "JD_FLEET_FILE": str(_fleet_file(Path(tmp) / "fleet.yaml", UNITS)), **BENCH_ENV}
        server = subprocess.Popen([sys.executable, "-m", "web.cli", "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        screens: list[subprocess.Popen[str]] = []
        try:
            _wait_ready(base, server)
            me = [sys.executable, "-m", "bench.fanout_bench"]
            for i in range(SCREEN_PROCESSES):
                share = SCREENS // SCREEN_PROCESSES + (i < SCREENS % SCREEN_PROCESSES)
                screens.append(subprocess.Popen(
                    [*me, "screens", f"ws://127.0.0.1:{port}/v1/live?key={BENCH_KEY}", str(share)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
            for p in screens:
                assert p.stdout is not None and p.stdout.readline().strip() == "ready"
            started = time.time()
            posted = subprocess.run([*me, "vehicles", base, str(UNITS), str(WARM_S + MEASURE_S)], check=True,
                                    capture_output=True, text=True).stdout
            ingest = json.loads(posted.strip().splitlines()[-1])
            time.sleep(1.0)  # the last second's frames on their way
            frames = 0
            latencies: list[float] = []
            fixes = 0
            window = (started + WARM_S, started + WARM_S + MEASURE_S)
            for p in screens:
                out, _ = p.communicate("stop\n", timeout=60)
                got = json.loads(out.strip().splitlines()[-1])
                for taken, received, n in got["samples"]:
                    if window[0] <= taken < window[1]:
                        frames += 1
                        fixes += n
                        latencies.append((received - taken) * 1000)
        finally:
            for p in screens:
                p.kill()
            server.terminate()
            server.wait(10)
    latencies.sort()
    expected = UNITS * SCREENS * MEASURE_S
    return {f"fanout_{tag}_p50_ms": round(percentile(latencies, 0.50), 1),
            f"fanout_{tag}_p99_ms": round(percentile(latencies, 0.99), 1),
            f"fanout_{tag}_messages_per_s": round(frames / MEASURE_S, 1),
            f"fanout_{tag}_fixes_delivered_per_s": round(fixes / MEASURE_S, 1),
            f"fanout_{tag}_delivered_share": round(fixes / expected, 4),
            f"fanout_{tag}_position_post_p50_ms": ingest["ingest_p50_ms"],
            f"fanout_{tag}_position_post_p99_ms": ingest["ingest_p99_ms"]}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "screens":
        asyncio.run(_screens(sys.argv[2], int(sys.argv[3])))
    elif len(sys.argv) > 1 and sys.argv[1] == "vehicles":
        asyncio.run(_vehicles(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
    else:
        print(run())
