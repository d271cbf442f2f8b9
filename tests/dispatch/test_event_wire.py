"""Events carry typed values (green-wave windows and answers, route signals) and read back from
the log as the same values, in the wire shape older logs already hold."""

import json
from datetime import UTC, datetime

from dispatch import events as ev
from dispatch.router import SignalPassage
from dispatch.signal_windows import SignalAnswer, SignalState, SignalWindow

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_green_wave_values_round_trip_as_frozen_dataclasses() -> None:
    asked = SignalWindow("S1", eta=1000.0, window_start=990.0, window_end=1004.0, request_id="r1", order=2,
                         approach="n", eta_without=1020.0, saved_s=20.0)
    said = SignalAnswer("S1", SignalState.QUEUED, reason="lost_to_earlier_eta", request_id="r1",
                        window_start=1010.0, window_end=1020.0)
    for e in (ev.GreenWaveRequested(at=T0, unit_id="A1", incident_id="I1", whistle_id=None, eta_s=300.0,
                                    eta_green_s=250.0, signals=(asked,)),
              ev.GreenWaveAnswered(at=T0, unit_id="A1", incident_id="I1", answers=(said,))):
        back = ev.from_json(ev.to_json(e))
        assert back == e
    answered = ev.from_json(ev.to_json(ev.GreenWaveAnswered(at=T0, unit_id="A1", incident_id="I1",
                                                            answers=(said,))))
    assert isinstance(answered, ev.GreenWaveAnswered)
    assert answered.answers[0].status is SignalState.QUEUED


def test_a_log_written_with_plain_records_reads_back_typed() -> None:
    """The shape on the wire is a list of objects, as the log has always held it."""
    record = {"type": "unit_routed", "at": T0.isoformat(), "unit_id": "A1", "incident_id": "I1",
              "purpose": "to_scene", "destination": [120.0, 30.0], "eta_s": 60.0, "eta_green_s": 50.0,
              "length_m": 800.0, "polyline": "", "reason": "assigned",
              "signals": [{"signal_id": "S1", "approach": "n", "eta_s": 30.0, "expected_delay_s": 10.0,
                           "written_by_a_later_version": True}]}
    e = ev.from_json(json.dumps(record))
    assert isinstance(e, ev.UnitRouted)
    assert e.signals == (SignalPassage("S1", "n", 30.0, 10.0),)
    assert json.loads(ev.to_json(e))["signals"] == [
        {"signal_id": "S1", "approach": "n", "eta_s": 30.0, "expected_delay_s": 10.0}]
