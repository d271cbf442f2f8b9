"""Following the unit: release on passage, re-sent windows on drift, release all, degraded corridors."""

from greenwave.corridor import CorridorSettings, SignalPassage, plan_corridor
from greenwave.corridor_tracker import CorridorTracker, Coverage, carry_out
from greenwave.messages import AnswerStatus, PriorityAnswer, PriorityRequest, Reason, RequestType, VehicleRole
from greenwave.signal_plan import default_plan
from greenwave.simulated_controller import SimulatedController

ROUTE = [SignalPassage("J1", "N", 60.0, 20.0), SignalPassage("J2", "E", 130.0, 8.0),
         SignalPassage("J3", "W", 200.0, 12.0)]
SETTINGS = CorridorSettings(lead_s=15, clearance_s=5, drift_threshold_s=5)


def tracker() -> CorridorTracker:
    corridor = plan_corridor("AMB-7", ROUTE, departure=1000.0, settings=SETTINGS)
    return CorridorTracker(corridor, "AMB-7", VehicleRole.AMBULANCE, priority_level=5, settings=SETTINGS)


def test_start_asks_every_signal_in_order_with_its_window() -> None:
    reqs = tracker().start().send
    assert [(r.junction_id, r.inbound_approach) for r in reqs] == [("J1", "N"), ("J2", "E"), ("J3", "W")]
    assert [(r.window_start, r.eta, r.window_end) for r in reqs][1] == (1095.0, 1110.0, 1115.0)


def test_signals_behind_the_unit_are_released_and_ahead_kept() -> None:
    t = tracker()
    t.start()
    actions = t.on_progress(now=1065.0, route_time_s=65.0)  # just past J1 (at 60 s), on time
    assert [r.junction_id for r in actions.release] == ["J1"]
    assert actions.send == []
    assert t.on_progress(now=1066.0, route_time_s=66.0).release == []  # released once only


def test_drift_beyond_the_threshold_resends_the_windows_ahead() -> None:
    t = tracker()
    t.start()
    late = t.on_progress(now=1050.0, route_time_s=30.0)  # 20 s behind schedule
    assert [(r.junction_id, r.request_type, r.sequence) for r in late.send] == \
        [("J1", RequestType.UPDATE, 1), ("J2", RequestType.UPDATE, 1), ("J3", RequestType.UPDATE, 1)]
    assert late.send[0].eta == 1080.0
    assert t.on_progress(now=1052.0, route_time_s=32.0).send == []  # within threshold now


def test_passing_a_signal_releases_it_and_any_earlier_one() -> None:
    t = tracker()
    t.start()
    assert [r.junction_id for r in t.on_passed("J2").release] == ["J1", "J2"]
    assert [r.junction_id for r in t.release_all().release] == ["J3"]
    assert t.done()


def test_unreachable_signals_mark_the_corridor_degraded_and_are_named() -> None:
    t = tracker()
    reqs = t.start().send
    t.record(PriorityAnswer(request_id=reqs[0].request_id, junction_id="J1", status=AnswerStatus.GRANTED,
                            reason=Reason.SERVED, window_start=1045.0, window_end=1065.0))
    t.record(PriorityAnswer(request_id=reqs[1].request_id, junction_id="J2", status=AnswerStatus.REFUSED,
                            reason=Reason.CONTROLLER_UNREACHABLE, degraded=True))
    assert t.degraded
    assert t.uncovered() == ["J2"]
    assert t.signals[0].coverage is Coverage.GRANTED


class FlakyGateway:
    """A gateway whose J2 controller is down, as HttpSignalGateway would answer it."""

    def __init__(self, inner: SimulatedController) -> None:
        self.inner = inner

    def request(self, req: PriorityRequest) -> PriorityAnswer:
        if req.junction_id == "J2":
            return PriorityAnswer(request_id=req.request_id, junction_id="J2", status=AnswerStatus.REFUSED,
                                  reason=Reason.CIRCUIT_OPEN, degraded=True)
        return self.inner.request(req)

    def update(self, req: PriorityRequest) -> PriorityAnswer:
        return self.request(req)

    def cancel(self, request_id: str, junction_id: str) -> PriorityAnswer:
        return self.inner.cancel(request_id, junction_id)


def test_a_whole_trip_through_the_simulated_controller_ends_with_every_junction_released() -> None:
    now = [1000.0]
    plans = {j: default_plan(j, [["N", "S"], ["E", "W"]]) for j in ("J1", "J2", "J3")}
    ctrl = SimulatedController(plans, lambda: now[0])
    t = tracker()
    answers = carry_out(t, t.start(), FlakyGateway(ctrl))
    assert [a.degraded for a in answers] == [False, True, False]
    assert t.uncovered() == ["J2"]
    for second in range(0, 200, 5):
        now[0] = 1000.0 + second
        carry_out(t, t.on_progress(now[0], float(second)), FlakyGateway(ctrl))
    carry_out(t, t.release_all(), FlakyGateway(ctrl))
    assert t.done()
    assert all(not j.requests for j in ctrl.junctions.values())


def test_signals_a_down_controller_left_uncovered_are_asked_again() -> None:
    t = tracker()
    for req in t.start().send:
        t.record(PriorityAnswer(request_id=req.request_id, junction_id=req.junction_id,
                                status=AnswerStatus.REFUSED, reason=Reason.CONTROLLER_UNREACHABLE,
                                degraded=True))
    assert t.degraded and t.uncovered() == ["J1", "J2", "J3"]
    t.on_progress(now=1065.0, route_time_s=65.0)  # J1 is behind the unit now: released
    again = t.retry_uncovered().send
    assert [r.junction_id for r in again] == ["J2", "J3"] and all(r.sequence == 1 for r in again)
    controller = SimulatedController({j: default_plan(j, [["N", "S"], ["E", "W"]]) for j in ("J2", "J3")},
                                     lambda: 1065.0)
    for req in again:
        t.record(controller.request(req))
    assert not t.degraded and t.uncovered() == []
