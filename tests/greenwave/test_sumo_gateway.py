"""The SUMO signal gateway against a real SUMO (libsumo) on a one-junction network: it grants and
releases green on SUMO's links, restores the programme afterwards, never shows two conflicting
greens and never cuts a green short of its minimum or skips the yellow."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest
from shapely import LineString

libsumo = pytest.importorskip("libsumo")

from greenwave.messages import AnswerStatus, PriorityRequest, Reason, VehicleRole  # noqa: E402
from greenwave.signal_plan import Phase, SignalPlan  # noqa: E402
from greenwave.sumo_gateway import PROGRAM_ID, SumoSignalGateway  # noqa: E402
from routing.network import RoadNetwork, metres_per_degree  # noqa: E402
from scenarios.sumo.network import convert, edge_id  # noqa: E402

EPOCH = 1_795_599_960.0  # a multiple of the 60 s cycle: the plan starts phase 0 at simulation 0
ARM_M = 300.0
CENTRE = (119.96, 30.05)


def crossroads(signal_id: str = "J1") -> RoadNetwork:
    """One signalised junction (node 0) with four two-way arms of 300 m: 1 west, 2 east, 3 south,
    4 north."""
    mx, my = metres_per_degree(CENTRE[1])
    g = nx.DiGraph()
    g.add_node(0, lon=CENTRE[0], lat=CENTRE[1], signal_id=signal_id)
    for n, (dx, dy) in {1: (-1, 0), 2: (1, 0), 3: (0, -1), 4: (0, 1)}.items():
        g.add_node(n, lon=CENTRE[0] + dx * ARM_M / mx, lat=CENTRE[1] + dy * ARM_M / my)
    for n in (1, 2, 3, 4):
        for a, b in ((n, 0), (0, n)):
            pa, pb = g.nodes[a], g.nodes[b]
            g.add_edge(a, b, length_m=ARM_M, road_class="secondary", speed_kmh=50.0,
                       travel_time_s=ARM_M / (50 / 3.6), oneway=False,
                       geometry=LineString([(pa["lon"], pa["lat"]), (pb["lon"], pb["lat"])]))
    return RoadNetwork(g, name="crossroads")


# North-south first (30 s), then east-west (20 s); 3 s yellow, 2 s all-red: a 60 s cycle.
PLAN = SignalPlan("J1", (Phase(frozenset({"3->0", "4->0"}), 30.0), Phase(frozenset({"1->0", "2->0"}), 20.0)),
                  min_green_s=8.0, ped_clearance_s=10.0)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return convert(crossroads(), {"J1": PLAN}, Path(tmp_path_factory.mktemp("sumo-net")))


@pytest.fixture
def sim(net) -> Iterator[SumoSignalGateway]:  # type: ignore[no-untyped-def]
    libsumo.start(["sumo", "-n", str(net.net_file), "--step-length", "1", "--no-step-log", "true",
                   "--no-warnings", "true"])
    gateway = SumoSignalGateway(libsumo, {"J1": PLAN}, net.approach_of_edge, EPOCH)
    libsumo.route.add("west-east", [edge_id(1, 0), edge_id(0, 2)])
    try:
        yield gateway
    finally:
        gateway.close()
        libsumo.close()


def ask(rid: str, approach: str, eta: float, lead: float = 15.0, clear: float = 5.0) -> PriorityRequest:
    return PriorityRequest(request_id=rid, vehicle_id="A-1", role=VehicleRole.AMBULANCE, priority_level=5,
                           junction_id="J1", inbound_approach=approach, eta=eta, window_start=eta - lead,
                           window_end=eta + clear)


def step_until(t: float) -> None:
    while libsumo.simulation.getTime() < t:
        libsumo.simulationStep()


def drive_west_east(gateway: SumoSignalGateway, request: bool) -> tuple[float, float]:
    """A car from the west arm timed to reach the stop line in the north-south green; returns its
    waiting time at the junction and when it got past the stop line."""
    # Departs at 0 from the start of the west arm: ~22 s to the stop line, while north-south has
    # green until 30 s: without priority it meets red.
    libsumo.vehicle.add("car", "west-east", depart="0", departSpeed="max")
    libsumo.simulationStep()
    if request:
        answer = gateway.request(ask("r1", "1->0", EPOCH + 22.0))
        assert answer.status is AnswerStatus.GRANTED, answer
    waited, passed = 0.0, math.nan
    while libsumo.simulation.getTime() < 120:
        libsumo.simulationStep()
        if "car" in libsumo.simulation.getArrivedIDList():
            break
        if libsumo.vehicle.getSpeed("car") < 0.1:
            waited += 1
        if math.isnan(passed) and libsumo.vehicle.getRoadID("car") != edge_id(1, 0):
            passed = libsumo.simulation.getTime()
            if request:
                gateway.cancel("r1", "J1")
    return waited, passed


def test_without_priority_the_car_meets_red(sim: SumoSignalGateway) -> None:
    waited, passed = drive_west_east(sim, request=False)
    assert waited >= 5
    assert passed >= 35  # east-west green only comes at 35 s


def test_granted_priority_lets_the_car_cross_on_green(sim: SumoSignalGateway) -> None:
    waited, passed = drive_west_east(sim, request=True)
    assert waited == 0
    assert passed < 30


def test_programme_restored_after_release(sim: SumoSignalGateway) -> None:
    drive_west_east(sim, request=True)
    step_until(libsumo.simulation.getTime() + 2 * PLAN.cycle_s)
    assert not sim.junctions["J1"].overridden
    assert libsumo.trafficlight.getProgram("J1") == PROGRAM_ID
    # Back in step: SUMO's own programme runs the plan, over a whole cycle. Between steps SUMO
    # reports the state it used for the step just run, so it is compared with the plan a step ago.
    for _ in range(int(PLAN.cycle_s)):
        libsumo.simulationStep()
        now = sim.clock() - 1.0
        pos = PLAN.position_at(now + 1e-6)
        served = PLAN.phases[pos.phase_index].approaches
        expected = {"green": "green", "yellow": "yellow", "all_red": "red"}[pos.interval.value]
        for approach, state in sim.approach_states("J1").items():
            assert state == (expected if approach in served else "red"), (now - EPOCH, approach)


def _shown_intervals(sim: SumoSignalGateway, until: float) -> list[tuple[str, str, float]]:
    """Per step: (approach set showing green, yellow set, time) as SUMO shows them."""
    out = []
    while libsumo.simulation.getTime() < until:
        libsumo.simulationStep()
        states = sim.approach_states("J1")
        greens = ",".join(sorted(a for a, s in states.items() if s == "green"))
        yellows = ",".join(sorted(a for a, s in states.items() if s == "yellow"))
        out.append((greens, yellows, libsumo.simulation.getTime()))
    return out


@pytest.mark.parametrize("eta_s,approach", [(22.0, "1->0"), (9.0, "2->0"), (47.0, "3->0"), (70.0, "1->0")])
def test_preemption_never_shows_conflicting_greens_nor_cuts_minimum_green(
        sim: SumoSignalGateway, eta_s: float, approach: str) -> None:
    libsumo.simulationStep()
    sim.request(ask("r1", approach, EPOCH + eta_s))
    sim.request(ask("r2", "4->0" if approach != "4->0" else "1->0", EPOCH + eta_s + 3, lead=10))
    shown = _shown_intervals(sim, eta_s + 10)
    sim.cancel("r1", "J1")
    sim.cancel("r2", "J1")
    shown += _shown_intervals(sim, eta_s + 10 + 2 * PLAN.cycle_s)
    for greens, _, t in shown:
        on = [a for a in greens.split(",") if a]
        assert not any(PLAN.conflicts(a, b) for a in on for b in on), (t, on)
    # Each green that ended: it lasted at least the minimum (and ped clearance), then yellow for
    # the full yellow time before the conflicting approaches got green.
    runs: list[tuple[str, int]] = []
    for greens, yellows, _ in shown:
        key = f"G:{greens}" if greens else f"Y:{yellows}" if yellows else "R"
        if runs and runs[-1][0] == key:
            runs[-1] = (key, runs[-1][1] + 1)
        else:
            runs.append((key, 1))
    # The first green began before the test looked, the last two intervals end after it stopped.
    for i in range(1, len(runs) - 2):
        key, length = runs[i]
        if key.startswith("G:"):
            assert length >= PLAN.min_serve_s, runs
            assert runs[i + 1][0].startswith("Y:") and runs[i + 1][1] >= 3, runs
    assert sim.junctions["J1"].overridden is False


def test_unknown_junction_and_approach_are_refused_with_reasons(sim: SumoSignalGateway) -> None:
    libsumo.simulationStep()
    wrong = ask("r1", "1->0", EPOCH + 30).model_copy(update={"junction_id": "J9"})
    assert sim.request(wrong).reason is Reason.UNKNOWN_JUNCTION
    bad = sim.request(ask("r2", "9->0", EPOCH + 30))
    assert (bad.status, bad.reason) == (AnswerStatus.REFUSED, Reason.UNKNOWN_APPROACH)
    assert sim.cancel("nope", "J1").reason is Reason.UNKNOWN_REQUEST


def test_conversion_keeps_signal_ids_and_reports_what_it_cannot_map(tmp_path: Path) -> None:
    road = crossroads()
    road.graph.nodes[4]["signal_id"] = "J-END"  # a signal at a dead end: one approach, no plan
    net = convert(road, {"J1": PLAN}, tmp_path)
    assert net.plans == {"J1": PLAN}
    assert net.approach_of_edge[edge_id(1, 0)] == "1->0"
    assert net.report.signals == 2 and net.report.signals_mapped == 1
    assert net.report.approaches == net.report.approaches_mapped == 4
    assert [(u.kind, u.id) for u in net.report.unmapped] == [("signal", "J-END")]


def test_a_command_sumo_rejects_gives_a_degraded_refusal_not_an_exception(sim: SumoSignalGateway) -> None:
    libsumo.simulationStep()
    assert sim.request(ask("r1", "1->0", EPOCH + 22.0)).status is AnswerStatus.GRANTED
    # A phase table that does not fit the programme (as a broken vendor table would): SUMO refuses
    # the phase when the junction is handed back, and the gateway answers instead of raising.
    j = sim.junctions["J1"]
    j.program_index = {key: 99 for key in j.program_index}
    answer = sim.cancel("r1", "J1")
    assert (answer.status, answer.reason, answer.degraded) == \
        (AnswerStatus.REFUSED, Reason.CONTROLLER_ERROR, True)
