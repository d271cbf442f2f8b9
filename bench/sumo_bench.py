"""SUMO figures: wall time to simulate a 30-minute scenario (a demo district with several hundred
background vehicles and a unit driving its green-wave corridor through the SUMO gateway), a whole
paired set of runs for one trip, and the gateway's answer time inside a running simulation.
`run()` returns the figures for bench/run.py (needs the .[sumo] extra)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import libsumo

from greenwave.messages import PriorityRequest, VehicleRole
from greenwave.network_plans import plan_book_for
from greenwave.sumo_gateway import SumoSignalGateway
from routing.demo_city import build_demo_city
from scenarios.sumo.evaluation import EvaluationSettings, TripSpec, evaluate, plan_trips
from scenarios.sumo.network import convert
from scenarios.sumo.runs import Mode, lay_trip
from scenarios.sumo.runs import run as simulate
from scenarios.sumo.traffic import background_trips, background_type_file, vehicle_types_file

SCENARIO_S = 1800.0
EPOCH = 1_795_600_800.0


def _trip(city):  # type: ignore[no-untyped-def]
    w, s, e, n = city.bounds()
    return TripSpec("A-1", "ambulance", (w + 0.1 * (e - w), s + 0.15 * (n - s)),
                    (w + 0.9 * (e - w), s + 0.85 * (n - s)), severity=5)


def _scenario(out: Path) -> dict[str, float]:
    city = build_demo_city(scale=0.02)
    spec = _trip(city)
    [(_, route)] = plan_trips(city, [spec])
    net = convert(city, plan_book_for(city.graph).all(), out)
    trip = lay_trip(net, spec.unit_id, spec.kind, spec.severity, route)
    demand = background_trips(net.net_file, background_type_file(out), out, "medium", 1, SCENARIO_S)
    vtypes = vehicle_types_file(out, spec.kind)
    t0 = time.perf_counter()
    result = simulate(net, trip, Mode.GREEN_WAVE, vtypes, demand, 1, EPOCH, 600.0, SCENARIO_S)
    wall = time.perf_counter() - t0
    return {"sumo_30min_scenario_wall_s": round(wall, 2),
            "sumo_30min_scenario_vehicles": float(demand.read_text().count("<vehicle ")),
            "sumo_30min_scenario_peak_vehicles_on_road": float(result.peak_vehicles),
            "sumo_30min_scenario_signals": float(len(net.plans)),
            "sumo_30min_green_wave_trip_s": float(result.unit_time_s or -1)}


def _paired_set(out: Path) -> dict[str, float]:
    city = build_demo_city(scale=0.02)
    settings = EvaluationSettings(level="medium", seeds=(1,), depart_offsets_s=(0.0,))
    t0 = time.perf_counter()
    evaluate(city, [_trip(city)], out, settings)
    return {"sumo_one_trip_paired_set_wall_s": round(time.perf_counter() - t0, 2)}


def _gateway_latency(out: Path) -> dict[str, float]:
    city = build_demo_city(scale=0.02)
    plans = plan_book_for(city.graph).all()
    net = convert(city, plans, out)
    libsumo.start(["sumo", "-n", str(net.net_file), "--no-step-log", "true", "--no-warnings", "true"])
    gateway = SumoSignalGateway(libsumo, net.plans, net.approach_of_edge, EPOCH)
    times = []
    try:
        for k in range(300):
            libsumo.simulationStep()
            sid = sorted(net.plans)[k % len(net.plans)]
            approach = sorted(net.plans[sid].approaches)[k % 2]
            eta = gateway.clock() + 40.0
            req = PriorityRequest(request_id=f"b{k}", vehicle_id="bench", role=VehicleRole.AMBULANCE,
                                  priority_level=4, junction_id=sid, inbound_approach=approach, eta=eta,
                                  window_start=eta - 15, window_end=eta + 5)
            t0 = time.perf_counter()
            gateway.request(req)
            times.append(time.perf_counter() - t0)
    finally:
        gateway.close()
        libsumo.close()
    ms = sorted(t * 1000 for t in times)
    return {"sumo_gateway_request_p50_ms": round(statistics.median(ms), 3),
            "sumo_gateway_request_p99_ms": round(ms[int(0.99 * len(ms))], 3)}


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        figures.update(_scenario(Path(tmp) / "scenario"))
        figures.update(_paired_set(Path(tmp) / "paired"))
        figures.update(_gateway_latency(Path(tmp) / "gateway"))
    return figures


if __name__ == "__main__":
    print(run())
