"""Home alarms through a real mosquitto into the real server (its own process, as `make run`
starts it, on a real Redis with fsync on every write), with 50,000 registered devices.

- alarm_to_incident_p99_ms: a smoke alarm published at QoS 1 (as its gateway does) until the
  server's live stream (/v1/live, what the map draws from) carries the alarm's escalation to an
  incident; meanwhile every device heartbeats once per 5 minutes (50,000 / 300 s = 167 msg/s).
- device_messages_per_s: heartbeats published as fast as one publisher process can for a while,
  counted as taken when each device's last one is in the server's telemetry (Redis): messages over
  the time from the first publish until the last was taken. Alarms go on meanwhile, and
  alarm_to_incident_under_load_p99_ms says whether they still meet their figure.

The load comes from a process of its own (paho-mqtt, heartbeats at QoS 0 like telemetry) logged
in as one bench user allowed to publish for every gateway, so 2 cores are not spent on thousands of
connections; the coordinator still checks each device against its gateway. Sizes:
JD_BENCH_ALARM_DEVICES (50000), JD_BENCH_ALARM_S (60, the 5-minute pace), JD_BENCH_LOAD_S (30) at
JD_BENCH_LOAD_RATE (5000), JD_BENCH_FLOOD_S (20), JD_BENCH_ALARMS_PER_S (2)."""

import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import redis
import yaml
from websockets.sync.client import connect

from bench.stats import percentile
from web.mqtt_broker import MosquittoBroker
from web.redis_server import RedisServer, free_port

DEVICES = int(os.environ.get("JD_BENCH_ALARM_DEVICES", "50000"))
PACED_S = float(os.environ.get("JD_BENCH_ALARM_S", "60"))
LOAD_S = float(os.environ.get("JD_BENCH_LOAD_S", "30"))
LOAD_RATE = float(os.environ.get("JD_BENCH_LOAD_RATE", "5000"))
FLOOD_S = float(os.environ.get("JD_BENCH_FLOOD_S", "20"))
ALARMS_PER_S = float(os.environ.get("JD_BENCH_ALARMS_PER_S", "2"))
HEARTBEAT_S = 300.0
GATEWAYS = 50
BENCH_USER = "benchload"
BENCH_KEY = "jd_bench_supervisor_" + "h" * 32
NAMESPACE = "alarmbench"


def _register(path: Path, bounds: tuple[float, float, float, float]) -> list[tuple[str, str]]:
    """Residents with a smoke alarm and a motion sensor each, spread over the city's middle;
    returns (device, gateway) of every device, smoke alarms first."""
    w, s, e, n = bounds
    rng = random.Random(20)
    homes = DEVICES // 2
    residents, devices = [], []
    for i in range(homes):
        gw = f"GW-{i % GATEWAYS:03d}"
        residents.append({"resident_id": f"R{i:06d}", "name": f"resident {i}", "address": f"home {i}",
                          "location": {"lon": w + (e - w) * rng.uniform(0.2, 0.8),
                                       "lat": s + (n - s) * rng.uniform(0.2, 0.8)},
                          "phone": "13900000000", "contacts": [], "care": {"dementia": False}})
        for kind, prefix in (("smoke_alarm", "SM"), ("motion_sensor", "MS")):
            devices.append({"device_id": f"{prefix}{i:06d}", "kind": kind, "resident_id": f"R{i:06d}",
                            "gateway_id": gw, "heartbeat_s": HEARTBEAT_S})
    responders = [{"responder_id": f"CR{j:02d}", "name": f"grid worker {j}", "kind": "grid_worker",
                   "phone": "13700000000", "base": {"lon": w + (e - w) * (0.25 + 0.5 * (j % 4) / 3),
                                                    "lat": s + (n - s) * (0.25 + 0.5 * (j // 4) / 3)}}
                  for j in range(16)]
    path.write_text(yaml.safe_dump({"residents": residents, "devices": devices, "responders": responders},
                                   allow_unicode=True), encoding="utf-8")
    smoke_first = sorted(devices, key=lambda d: d["kind"] != "smoke_alarm")
    return [(d["device_id"], d["gateway_id"]) for d in smoke_first]


def _client(port: int, password: str, name: str) -> paho.Client:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=name, clean_session=True)
    client.username_pw_set(BENCH_USER, password)
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _heartbeats(port: int, password: str, devices: list[tuple[str, str]],
                schedule: list[tuple[float | None, float]], go: Any, done: Any, published: Any) -> None:
    """The publisher process: each phase of `schedule` (messages a second, None: as fast as it
    can; seconds) when `go` says, devices in turn; `published` gets each phase's count."""
    client = _client(port, password, "bench-heartbeats")
    n, i = len(devices), 0
    for rate, seconds in schedule:
        go.wait()
        go.clear()
        t0, sent = time.time(), 0
        while (now := time.time()) < t0 + seconds:
            due = 500 if rate is None else int((now - t0) * rate) - sent
            at = datetime.now(UTC).isoformat()  # one clock read a batch: the publisher's own cost down
            for _ in range(max(0, due)):
                device, gw = devices[i % n]
                client.publish(f"homes/{gw}/{device}/heartbeat", f'{{"at":"{at}","battery":90}}', qos=0)
                i += 1
                sent += 1
            if rate is not None:
                time.sleep(0.01)
            while len(client._out_packet) > 20_000:  # the socket cannot keep up: let it drain
                time.sleep(0.001)
        published.append(sent)
        done.set()
    client.loop_stop()
    client.disconnect()


class Escalations:
    """Reads the live stream: when each device's alarm reached an incident, by this clock."""

    def __init__(self, url: str) -> None:
        self.at: dict[str, float] = {}
        self._device_of: dict[str, str] = {}
        self._ws = connect(url, max_size=None, open_timeout=30)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for raw in self._ws:
                msg = json.loads(raw)
                event = msg.get("event") or {}
                if event.get("type") == "device_alarm_raised":
                    self._device_of[event["alarm_id"]] = event["device_id"]
                elif event.get("type") == "alarm_escalated":
                    device = self._device_of.get(event["alarm_id"])
                    if device is not None:
                        self.at.setdefault(device, time.time())
        except Exception:  # the socket closed at the end
            return

    def close(self) -> None:
        self._ws.close()


def _alarms(client: paho.Client, smoke: list[tuple[str, str]], seconds: float,
            sent: dict[str, float]) -> None:
    """Smoke alarms from homes not yet alarmed, at ALARMS_PER_S, each published at QoS 1."""
    t0, k = time.time(), 0
    while time.time() < t0 + seconds:
        device, gw = smoke[len(sent)]
        at = time.time()
        client.publish(f"homes/{gw}/{device}/alarm", json.dumps(
            {"kind": "smoke", "at": datetime.now(UTC).isoformat(), "message_id": f"b{len(sent)}"}), qos=1)
        sent[device] = at
        k += 1
        time.sleep(max(0.0, t0 + k / ALARMS_PER_S - time.time()))


def _latencies(sent: dict[str, float], seen: Escalations, wait_s: float = 10.0) -> tuple[list[float], int]:
    deadline = time.time() + wait_s
    while time.time() < deadline and not all(d in seen.at for d in sent):
        time.sleep(0.1)
    lat = [(seen.at[d] - t) * 1000 for d, t in sent.items() if d in seen.at]
    return lat, sum(d not in seen.at for d in sent)


def run() -> dict[str, float | str]:
    from routing.demo_city import build_demo_city

    bounds = build_demo_city(seed=7, scale=1.0).bounds()
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as store:
        devices = _register(Path(tmp) / "register.yaml", bounds)
        smoke = [d for d in devices if d[0].startswith("SM")]
        broker = MosquittoBroker(Path(tmp) / "mosquitto")
        broker.passwords.prepare()
        bench_password = "bench-" + "p" * 24
        broker.passwords.set(BENCH_USER, bench_password)
        for g in range(GATEWAYS):  # the gateways exist as users, as in a deployment
            broker.passwords.set(f"GW-{g:03d}", f"gw-{g}-" + "x" * 20)
        acl = broker.passwords.acl
        broker.start()
        # after start() rewrote it: the bench's load user may publish for every gateway
        acl.write_text(acl.read_text() + f"\nuser {BENCH_USER}\ntopic write homes/#\n", encoding="utf-8")
        broker.reload()
        port = free_port()
        env = {**os.environ, "REDIS_URL": store.url, "JD_PORT": str(port), "JD_NAMESPACE": NAMESPACE,
               "JD_DEMO_KEY": BENCH_KEY, "JD_RATE_LIMIT": "10000000/second", "JD_DEMO_MOTION": "0",
               "JD_MQTT_URL": broker.url, "JD_REGISTER_FILE": str(Path(tmp) / "register.yaml")}
        server = subprocess.Popen([sys.executable, "-m", "web.cli", "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        publisher: Any = None
        r = redis.Redis.from_url(store.url)

        def taken() -> int:
            return int(r.get(f"{NAMESPACE}:devices:taken") or 0)

        out: dict[str, float | str] = {"alarm_registered_devices": len(devices)}
        try:
            t_start = time.perf_counter()
            _wait_ready(base, server, devices=len(devices))
            out["alarm_server_start_s"] = round(time.perf_counter() - t_start, 1)
            seen = Escalations(f"ws://127.0.0.1:{port}/v1/live?key={BENCH_KEY}")
            alarm_client = _client(broker.port, bench_password, "bench-alarms")
            sent: dict[str, float] = {}
            # warm the first-use paths (an incident, a recommendation) before anything is measured
            _alarms(alarm_client, smoke, 3 / ALARMS_PER_S, sent)
            _latencies(sent, seen, 30)
            ctx = mp.get_context("spawn")
            go, done, published = ctx.Event(), ctx.Event(), ctx.Manager().list()
            schedule: list[tuple[float | None, float]] = [
                (len(devices) / HEARTBEAT_S, PACED_S), (LOAD_RATE, LOAD_S), (None, FLOOD_S)]
            publisher = ctx.Process(target=_heartbeats, args=(
                broker.port, bench_password, devices, schedule, go, done, published))
            publisher.start()
            for phase, (_rate, seconds) in zip(("paced", "load", "flood"), schedule, strict=True):
                before, since = len(sent), taken()
                t0 = time.time()
                go.set()
                _alarms(alarm_client, smoke, seconds, sent)
                done.wait(seconds + 120)
                done.clear()
                rate_taken = (taken() - since) / (time.time() - t0)
                mine = dict(list(sent.items())[before:])
                lat, lost = _latencies(mine, seen, 60)
                offered = published[-1] / seconds
                p99 = round(percentile(lat, 0.99), 1) if lat else "none reached"
                if phase == "paced":
                    out["alarm_to_incident_p99_ms"] = p99
                    out["alarm_to_incident_p50_ms"] = round(percentile(lat, 0.50), 1) if lat else "none"
                    out["alarm_to_incident_alarms"] = len(lat)
                    out["alarm_to_incident_lost"] = lost
                    out["alarm_paced_heartbeats_per_s"] = round(offered, 1)
                elif phase == "load":
                    tag = f"at_{int(LOAD_RATE)}_msg_per_s"
                    out[f"alarm_to_incident_{tag}_p99_ms"] = p99
                    out[f"alarm_to_incident_{tag}_lost"] = lost
                    out[f"device_messages_offered_{tag}"] = round(offered, 1)
                    out[f"device_messages_taken_{tag}"] = round(rate_taken, 1)
                else:
                    # saturated: what the server takes in while more is offered than it can
                    out["device_messages_per_s"] = round(rate_taken, 1)
                    out["device_messages_offered_flood_per_s"] = round(offered, 1)
                    out["alarm_to_incident_flood_p99_ms"] = p99
                    out["alarm_to_incident_flood_lost"] = lost
                # the next phase starts on a drained queue (or after a minute of trying)
                drain = time.time() + 60
                while time.time() < drain and taken() < since + published[-1] * 0.99:
                    time.sleep(0.2)
            seen.close()
            alarm_client.loop_stop()
        except Exception as e:  # keep the figures measured so far, and say what stopped the rest
            out["alarm_bench_stopped"] = repr(e)
        finally:
            if publisher is not None and publisher.is_alive():
                publisher.terminate()
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                out["alarm_server_stop"] = "did not stop within 30 s of SIGTERM; killed"
                server.kill()
                server.wait(10)
            broker.stop()
    return out


def _wait_ready(base: str, server: subprocess.Popen[bytes], devices: int, timeout_s: float = 900) -> None:
    """Up, subscribed, and the register imported (its last device in the state)."""
    deadline = time.monotonic() + timeout_s
    auth = {"Authorization": f"Bearer {BENCH_KEY}"}
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            r = httpx.get(f"{base}/v1/register/residents/R{devices // 2 - 1:06d}", headers=auth, timeout=5)
            if r.status_code == 200:
                time.sleep(2)  # the MQTT subscription is made as the app starts; give it its moment
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not become ready")


if __name__ == "__main__":
    print(run())
