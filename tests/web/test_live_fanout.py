"""Several server processes on one Redis serve screens alike: a delta written through one process
and a position posted to the other reach the screens of both, with the same sequence numbers; and
a green wave asked for through one follows its unit from fixes posted to the other."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.web.conftest import AUTH, SUPERVISOR_KEY, start_server
from web.redis_server import free_port


def _next(ws: Any, want: str, deadline: float) -> dict[str, Any]:
    while True:
        msg = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if msg["type"] == want:
            return msg


def test_two_app_processes_on_one_redis_both_deliver_deltas_and_positions(redis_server) -> None:
    ports = [free_port(), free_port()]
    namespace = f"fanout{ports[0]}"
    with ThreadPoolExecutor(2) as pool:  # both start at once: half the wait
        starting = [pool.submit(start_server, redis_server.url, p, namespace) for p in ports]
    servers = [f.result() for f in starting if f.exception() is None]
    try:
        assert len(servers) == 2, [str(f.exception()) for f in starting]
        screens = [connect(f"ws://127.0.0.1:{p}/v1/live?key={SUPERVISOR_KEY}") for p in ports]
        seqs = [_next(ws, "snapshot", time.monotonic() + 10)["seq"] for ws in screens]
        a, b = (f"http://127.0.0.1:{p}" for p in ports)
        w, s, e, n = httpx.get(f"{a}/v1/map/roads", headers=AUTH).json()["bounds"]
        lon, lat = (w + e) / 2, (s + n) / 2
        inc = httpx.post(f"{a}/v1/calls", json={"hotline": "119", "kind": "fire", "text": "smoke",
                                                "location": {"lon": lon, "lat": lat}},
                         headers=AUTH).json()["incident_id"]
        deadline = time.monotonic() + 5
        opened = []
        for ws, seq in zip(screens, seqs, strict=True):
            while True:
                msg = _next(ws, "event", deadline)
                assert msg["seq"] > seq
                if msg["event"]["type"] == "incident_opened":
                    opened.append(msg)
                    break
        assert [m["incidents"][0]["incident_id"] for m in opened] == [inc, inc]
        assert opened[0]["seq"] == opened[1]["seq"]  # one log, one numbering, whichever process

        httpx.post(f"{b}/v1/units/E-1-1/position", json={"lon": lon, "lat": lat, "heading": 90},
                   headers=AUTH)
        deadline = time.monotonic() + 5
        for ws in screens:
            while True:
                fixes = _next(ws, "positions", deadline)["positions"]
                if any(f[0] == "E-1-1" and f[3] == 90 for f in fixes):
                    break
        for ws in screens:
            ws.close()

        # A green wave asked for through A follows its unit from fixes its gateway posts to B.
        blown = httpx.post(f"{a}/v1/incidents/{inc}/whistle", json={"by": "d", "agency": "119"},
                           headers=AUTH).json()
        uid = max(blown["green_waves"], key=lambda u: blown["green_waves"][u]["signals"])
        corridor = next(c for c in httpx.get(f"{a}/v1/incidents/{inc}", headers=AUTH).json()["corridors"]
                        if c["unit_id"] == uid)
        first = min(corridor["signals"], key=lambda sg: sg["order"])
        signals = httpx.get(f"{a}/v1/map/roads", headers=AUTH).json()["signals"]
        place = next((sg["lon"], sg["lat"]) for sg in signals if sg["id"] == first["signal_id"])
        coords = blown["routes"][uid]["coords"]
        at = min(range(len(coords)),
                 key=lambda i: abs(coords[i][0] - place[0]) + abs(coords[i][1] - place[1]))
        beyond = coords[min(at + 1, len(coords) - 1)]
        httpx.post(f"{b}/v1/units/{uid}/position", json={"lon": beyond[0], "lat": beyond[1]}, headers=AUTH)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            signals = next(c for c in httpx.get(f"{b}/v1/incidents/{inc}", headers=AUTH).json()["corridors"]
                           if c["unit_id"] == uid)["signals"]
            if next(sg for sg in signals if sg["signal_id"] == first["signal_id"])["status"] == "released":
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"{first['signal_id']} not released: {signals}")
    finally:
        for server in servers:
            server.kill()
