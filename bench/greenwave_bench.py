"""Green-wave figures: arbitration and simulated-controller latency in process, and the HTTP
gateway's round trip to a real controller service process on loopback. Prints nothing, writes
nothing: `run()` returns the figures for bench/run.py."""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time

import httpx

from bench.stats import percentile
from greenwave.arbitration import JunctionRules, WindowRequest, arbitrate
from greenwave.circuit_breaker import CircuitBreaker
from greenwave.corridor import SignalPassage, plan_corridor
from greenwave.http_gateway import HttpSignalGateway
from greenwave.messages import PriorityRequest, VehicleRole
from greenwave.signal_plan import default_plan
from greenwave.simulated_controller import SimulatedController
from web.redis_server import free_port


def _ms(seconds: list[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def _arbitration(rng: random.Random) -> dict[str, float]:
    rules = JunctionRules.from_plan(default_plan("J", [["N", "S"], ["E", "W"]]))
    times = []
    for _ in range(200):
        reqs = []
        for i in range(100):
            eta = rng.uniform(0, 3600)
            reqs.append(WindowRequest(f"r{i}", rng.choice("NSEW"), rng.randint(1, 7), eta, eta - 15, eta + 5))
        t = time.perf_counter()
        arbitrate(reqs, rules)
        times.append(time.perf_counter() - t)
    ms = _ms(times)
    return {"greenwave_arbitrate_100_requests_p50_ms": percentile(ms, 0.5),
            "greenwave_arbitrate_100_requests_p99_ms": percentile(ms, 0.99)}


def _ask(rid: str, junction: str, approach: str, eta: float, level: int = 4) -> PriorityRequest:
    return PriorityRequest(request_id=rid, vehicle_id="bench", role=VehicleRole.AMBULANCE,
                           priority_level=level, junction_id=junction, inbound_approach=approach, eta=eta,
                           window_start=eta - 15, window_end=eta + 5)


def _simulated(rng: random.Random) -> dict[str, float]:
    now = [10_000.0]
    plans = {f"J{i}": default_plan(f"J{i}", [["N", "S"], ["E", "W"]]) for i in range(50)}
    ctrl = SimulatedController(plans, lambda: now[0])
    times = []
    for i in range(2000):
        now[0] += rng.uniform(0, 2)
        req = _ask(f"s{i}", f"J{rng.randrange(50)}", rng.choice("NSEW"), now[0] + rng.uniform(30, 120),
                   rng.randint(1, 7))
        t = time.perf_counter()
        ctrl.request(req)
        times.append(time.perf_counter() - t)
    ms = _ms(times)
    return {"greenwave_simulated_request_p50_ms": percentile(ms, 0.5),
            "greenwave_simulated_request_p99_ms": percentile(ms, 0.99)}


def _corridor_saving() -> dict[str, float]:
    # A 12-signal arterial with the default secondary-road plans: the expected red waiting the
    # green wave removes, from the plans themselves.
    plan = default_plan("J", [["N", "S"], ["E", "W"]])
    passages, t = [], 0.0
    for i in range(12):
        approach = "E" if i % 2 else "N"
        t += 40.0  # driving between signals
        passages.append(SignalPassage(f"J{i}", approach, t, plan.expected_red_wait_s(approach)))
        t += plan.expected_red_wait_s(approach)
    c = plan_corridor("bench", passages, 0.0)
    return {"greenwave_12_signal_route_eta_saved_s": c.eta_saved_s,
            "greenwave_12_signal_route_eta_without_s": t}




def _http() -> dict[str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "web.signal_controller_service", "--port", str(port),
                             "--junctions", "50"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"{url}/v1/health", timeout=0.5)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        gw = HttpSignalGateway(url, timeout_s=1.0)
        rng = random.Random(7)
        times = []
        for i in range(300):
            eta = time.time() + rng.uniform(30, 120)
            req = _ask(f"h{i}", f"J{1 + rng.randrange(50)}", rng.choice("NSEW"), eta)
            t = time.perf_counter()
            gw.request(req)
            times.append(time.perf_counter() - t)
        proc.terminate()
        proc.wait(5)
        # A stopped controller: how fast the gateway answers degraded once the breaker is open.
        down = HttpSignalGateway(url, timeout_s=0.2, retries=1, breaker=CircuitBreaker(failure_threshold=2))
        down_times = []
        for i in range(50):
            t = time.perf_counter()
            down.request(_ask(f"d{i}", "J1", "N", time.time() + 60))
            down_times.append(time.perf_counter() - t)
        gw.close()
        down.close()
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(5)
    ms = _ms(times)
    return {"greenwave_http_request_p50_ms": percentile(ms, 0.5),
            "greenwave_http_request_p99_ms": percentile(ms, 0.99),
            "greenwave_http_controller_down_answer_p50_ms": statistics.median(_ms(down_times)),
            "greenwave_http_controller_down_answer_max_ms": max(_ms(down_times))}


def _demo_city_routes(rng: random.Random, routes: int = 300) -> dict[str, float]:
    """ETA with and without the green wave over random emergency routes of the demo city (the
    expected red waiting each signal's plan puts on the route is what the green wave removes)."""
    from coordination.road_router import RoadRouter
    from routing.demo_city import build_demo_city

    net = build_demo_city(seed=7)
    road = RoadRouter(net)
    nodes = [(d["lon"], d["lat"]) for _, d in net.graph.nodes(data=True)]
    without, with_wave = [], []
    while len(without) < routes:
        a, b = rng.sample(nodes, 2)
        try:
            plan = road.route(a, b, "ambulance")
        except ValueError:
            continue
        if plan.eta_s < 120:  # across the street is not what a green wave is for
            continue
        without.append(plan.eta_s)
        with_wave.append(plan.eta_green_s)
    saved = sorted(w - g for w, g in zip(without, with_wave, strict=True))
    return {"greenwave_demo_city_route_eta_mean_s": statistics.mean(without),
            "greenwave_demo_city_route_eta_green_mean_s": statistics.mean(with_wave),
            "greenwave_demo_city_route_saved_p50_s": percentile(saved, 0.5),
            "greenwave_demo_city_route_saved_p90_s": percentile(saved, 0.9),
            "greenwave_demo_city_route_saved_share": sum(saved) / sum(without)}


def run() -> dict[str, float]:
    rng = random.Random(42)
    out: dict[str, float] = {}
    out.update(_demo_city_routes(random.Random(7)))
    out.update(_arbitration(rng))
    out.update(_simulated(rng))
    out.update(_corridor_saving())
    out.update(_http())
    return {k: round(v, 3) for k, v in out.items()}


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
