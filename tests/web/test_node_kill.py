"""A node killed with screens open and a whistle deadline pending: the screens, reconnecting to
the other node with their last sequence number, get every event after it once and in order,
and the deadline that passed while its clock's node was dead is escalated by the survivor."""

import json
import os
import signal
import subprocess
import time
from datetime import datetime
from typing import Any

import httpx
import redis
from websockets.sync.client import connect

from tests.web.conftest import AUTH, SUPERVISOR_KEY, start_server
from web.redis_server import free_port

FAST = {"ack_deadline_s": "3", "lease_ttl_s": "3"}


def _until(ws: Any, done: Any, deadline: float) -> list[dict[str, Any]]:
    """Every event message up to and including the first that `done` accepts."""
    got: list[dict[str, Any]] = []
    while True:
        msg = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if msg["type"] == "event":
            got.append(msg)
            if done(msg):
                return got


def _is_escalation(msg: dict[str, Any]) -> bool:
    return msg["event"]["type"] == "convener_summoned" and msg["event"]["level"] == "backup"


def test_screens_resume_on_the_other_node_and_its_survivor_escalates(redis_server) -> None:
    pa, pb = free_port(), free_port()
    namespace = f"nodekill{pa}"
    # A starts first, so it holds the clocks' leases; B is only the survivor.
    a = start_server(redis_server.url, pa, namespace, **FAST)
    servers: list[subprocess.Popen[bytes]] = [a]
    try:
        servers.append(start_server(redis_server.url, pb, namespace, **FAST))
        holder = redis.Redis.from_url(redis_server.url).get(f"{namespace}:lease:escalation-clock")
        assert holder is not None and holder.decode().endswith(f":{a.pid}")
        A, B = f"http://127.0.0.1:{pa}", f"http://127.0.0.1:{pb}"
        screens = [connect(f"ws://127.0.0.1:{pa}/v1/live?key={SUPERVISOR_KEY}") for _ in range(3)]
        last = [json.loads(ws.recv(timeout=10))["seq"] for ws in screens]  # the snapshots

        w, s, e, n = httpx.get(f"{A}/v1/map/roads", headers=AUTH).json()["bounds"]
        inc = httpx.post(f"{A}/v1/calls", headers=AUTH, json={
            "hotline": "120", "kind": "drowning",
            "location": {"lon": (w + e) / 2, "lat": (s + n) / 2}}).json()["incident_id"]
        blown = httpx.post(f"{A}/v1/incidents/{inc}/whistle", json={"by": "d", "agency": "120"},
                           headers=AUTH)
        assert blown.status_code == 201, blown.text
        wid = blown.json()["whistle"]["whistle_id"]
        for ws, i in zip(screens, range(3), strict=True):  # each screen saw the whistle on A
            got = _until(ws, lambda m: m["event"]["type"] == "whistle_blown", time.monotonic() + 10)
            last[i] = got[-1]["seq"]

        os.kill(a.pid, signal.SIGKILL)  # mid-deadline, holding the escalation clock's lease
        a.wait(10)
        for ws in screens:
            ws.close_socket()  # the dead node's sockets: the screens only notice they are gone

        resumed = [connect(f"ws://127.0.0.1:{pb}/v1/live?key={SUPERVISOR_KEY}&since={seq}")
                   for seq in last]
        streams = [_until(ws, _is_escalation, time.monotonic() + 30) for ws in resumed]
        for seq, got in zip(last, streams, strict=True):
            seqs = [m["seq"] for m in got]
            assert seqs == list(range(seq + 1, seq + 1 + len(seqs))), "a gap or a repeat"
        assert len({json.dumps(got) for got in streams}) == 1  # every screen saw the same
        escalation = streams[0][-1]["event"]
        assert escalation["whistle_id"] == wid

        # B escalated it after the deadline that passed while A was dead, and says so.
        whistle = httpx.get(f"{B}/v1/whistles/{wid}", headers=AUTH).json()
        steps = {agency: [st["level"] for st in summons["steps"]]
                 for agency, summons in whistle["summons"].items()}
        assert all(levels[:2] == ["convener", "backup"] for levels in steps.values()), steps
        first = next(m["event"] for m in streams[0] if m["event"]["type"] == "convener_summoned"
                     and m["event"]["agency"] == escalation["agency"])
        assert datetime.fromisoformat(escalation["at"]) >= datetime.fromisoformat(first["deadline"])
        holder = redis.Redis.from_url(redis_server.url).get(f"{namespace}:lease:escalation-clock")
        assert holder is not None and holder.decode().endswith(f":{servers[1].pid}")
        for ws in resumed:
            ws.close()
    finally:
        for proc in servers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
