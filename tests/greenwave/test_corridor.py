"""Corridor planning on a hand-built route: order, ETA with priority, windows, time saved."""

from dataclasses import dataclass

import pytest

from greenwave.corridor import (
    CorridorSettings,
    SignalPassage,
    passages_from_route,
    passages_with_plan_delays,
    plan_corridor,
)
from greenwave.signal_plan import default_plan

ROUTE = [  # given out of order on purpose; eta_s includes red waiting at earlier signals
    SignalPassage("J3", "E", eta_s=200.0, expected_delay_s=12.0),
    SignalPassage("J1", "N", eta_s=60.0, expected_delay_s=20.0),
    SignalPassage("J2", "W", eta_s=130.0, expected_delay_s=8.0),
]


def test_corridor_orders_signals_by_arrival() -> None:
    c = plan_corridor("A1", ROUTE, departure=1000.0)
    assert [s.signal_id for s in c.signals] == ["J1", "J2", "J3"]
    assert [s.order for s in c.signals] == [0, 1, 2]


def test_eta_with_priority_drops_the_waiting_at_earlier_signals() -> None:
    c = plan_corridor("A1", ROUTE, departure=1000.0)
    assert [s.eta_without_s for s in c.signals] == [1060.0, 1130.0, 1200.0]
    assert [s.eta_s for s in c.signals] == [1060.0, 1110.0, 1172.0]
    assert c.eta_saved_s == pytest.approx(40.0)


def test_window_is_lead_before_and_clearance_after_the_eta() -> None:
    c = plan_corridor("A1", ROUTE, departure=1000.0, settings=CorridorSettings(lead_s=10, clearance_s=4))
    j2 = c.signal("J2")
    assert (j2.window_start, j2.window_end) == (1100.0, 1114.0)
    assert j2.duration_s == 14.0


def test_settings_that_cannot_fit_the_safety_maximum_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_hold_s"):
        CorridorSettings(lead_s=50, clearance_s=20, max_hold_s=60)


def test_routing_signals_adapt_by_edge() -> None:
    @dataclass
    class OnRoute:
        signal_id: str
        node: int
        approach_edge: tuple[int, int]
        eta_s: float
        expected_delay_s: float

    [p] = passages_from_route([OnRoute("S9", 9, (4, 9), 30.0, 5.0)])
    assert (p.signal_id, p.approach, p.eta_s) == ("S9", "4->9", 30.0)


def test_plan_delays_replace_route_guesses() -> None:
    plan = default_plan("J1", [["N", "S"], ["E", "W"]])
    [p] = passages_with_plan_delays([SignalPassage("J1", "E", 10.0, 0.0)], {"J1": plan})
    assert p.expected_delay_s == pytest.approx(plan.expected_red_wait_s("E"))
