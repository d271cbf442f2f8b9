"""The HTTP gateway against the real controller service process on a loopback port: answers,
timeouts on a slow controller and a stopped one, the circuit breaker opening and half-opening."""

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from greenwave.circuit_breaker import BreakerState, CircuitBreaker
from greenwave.http_gateway import HttpSignalGateway
from greenwave.messages import AnswerStatus, PriorityRequest, Reason, VehicleRole
from web.redis_server import free_port


class Controller:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "web.signal_controller_service", "--port", str(self.port),
             "--junctions", "5", "--allow-faults"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("controller service did not start")

    def fault(self, delay_s: float) -> None:
        httpx.post(f"{self.url}/v1/test/fault", json={"delay_s": delay_s}, timeout=2).raise_for_status()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


@pytest.fixture(scope="module")
def controller() -> Iterator[Controller]:
    c = Controller()
    yield c
    c.stop()


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def ask(rid: str, approach: str = "E", junction: str = "J1", in_s: float = 40.0) -> PriorityRequest:
    eta = time.time() + in_s
    return PriorityRequest(request_id=rid, vehicle_id="AMB-7", role=VehicleRole.AMBULANCE, priority_level=4,
                           junction_id=junction, inbound_approach=approach, eta=eta, window_start=eta - 15,
                           window_end=eta + 5)


def gateway(url: str, breaker: CircuitBreaker | None = None, **kw: float) -> HttpSignalGateway:
    return HttpSignalGateway(url, timeout_s=kw.get("timeout_s", 0.3), retries=int(kw.get("retries", 1)),
                             backoff_s=0.02, budget_s=kw.get("budget_s", 1.0), breaker=breaker)


def test_request_update_and_cancel_over_http(controller: Controller) -> None:
    gw = gateway(controller.url)
    granted = gw.request(ask("h1"))
    assert (granted.status, granted.degraded) == (AnswerStatus.GRANTED, False)
    moved = ask("h1", in_s=50).model_copy(update={"sequence": 1})
    updated = gw.update(moved)
    assert updated.window_start == pytest.approx(moved.window_start)
    cancelled = gw.cancel("h1", "J1")
    assert cancelled.status is AnswerStatus.CANCELLED


def test_controller_refusals_come_back_as_answers_not_errors(controller: Controller) -> None:
    gw = gateway(controller.url)
    a = gw.request(ask("h2", junction="NOPE"))
    assert (a.status, a.reason, a.degraded) == (AnswerStatus.REFUSED, Reason.UNKNOWN_JUNCTION, False)
    assert gw.breaker.state is BreakerState.CLOSED


def test_conflict_over_http_tells_the_loser_its_revised_window(controller: Controller) -> None:
    gw = gateway(controller.url)
    low = gw.request(ask("h3", "N", "J2").model_copy(update={"priority_level": 2}))
    high = gw.request(ask("h4", "E", "J2", in_s=42).model_copy(update={"priority_level": 6}))
    assert low.status is AnswerStatus.GRANTED and high.status is AnswerStatus.GRANTED
    assert [(r.request_id, r.status) for r in high.revised] == [("h3", AnswerStatus.QUEUED)]


def test_a_slow_controller_times_out_into_a_degraded_answer_within_budget(controller: Controller) -> None:
    gw = gateway(controller.url, breaker=CircuitBreaker(failure_threshold=10), timeout_s=0.2, retries=2,
                 budget_s=0.8)
    controller.fault(2.0)
    try:
        started = time.monotonic()
        a = gw.request(ask("h5", junction="J3"))
        took = time.monotonic() - started
    finally:
        controller.fault(0.0)
    assert (a.status, a.reason, a.degraded) == (AnswerStatus.REFUSED, Reason.CONTROLLER_UNREACHABLE, True)
    assert "Timeout" in a.detail
    assert took < 1.5


def test_breaker_opens_on_a_slow_controller_and_half_opens_when_it_recovers(controller: Controller) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=10, clock=clock)
    gw = gateway(controller.url, breaker=breaker, timeout_s=0.2, retries=0)
    controller.fault(1.0)
    try:
        for i in range(2):
            assert gw.request(ask(f"s{i}", junction="J4")).reason is Reason.CONTROLLER_UNREACHABLE
        assert breaker.state is BreakerState.OPEN
        started = time.monotonic()
        fast = gw.request(ask("s3", junction="J4"))
        assert (fast.reason, fast.degraded) == (Reason.CIRCUIT_OPEN, True)
        assert time.monotonic() - started < 0.05  # open: no call goes out at all
        clock.t = 11  # cool-down over, but still slow: the trial call fails and it opens again
        assert breaker.state is BreakerState.HALF_OPEN
        assert gw.request(ask("s4", junction="J4")).reason is Reason.CONTROLLER_UNREACHABLE
        assert breaker.state is BreakerState.OPEN
    finally:
        controller.fault(0.0)
    clock.t = 22
    assert breaker.state is BreakerState.HALF_OPEN
    assert gw.request(ask("s5", junction="J4")).status is AnswerStatus.GRANTED
    assert breaker.state is BreakerState.CLOSED


def test_a_stopped_controller_gives_degraded_answers_fast_and_never_raises() -> None:
    c = Controller()
    gw = gateway(c.url, breaker=CircuitBreaker(failure_threshold=2, reset_after_s=30))
    assert gw.request(ask("d1")).status is AnswerStatus.GRANTED
    c.stop()
    started = time.monotonic()
    answers = [gw.request(ask(f"d{i}")) for i in range(2, 6)] + [gw.cancel("d1", "J1")]
    assert time.monotonic() - started < 2.0
    assert all(a.status is AnswerStatus.REFUSED and a.degraded for a in answers)
    assert answers[0].reason is Reason.CONTROLLER_UNREACHABLE
    assert answers[-1].reason is Reason.CIRCUIT_OPEN
