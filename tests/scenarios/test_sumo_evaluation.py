"""The SUMO evaluation end to end on a small demo district: a unit's trip planned by the
coordinator, driven in SUMO in paired runs, with the report written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("libsumo")

from routing.demo_city import build_demo_city  # noqa: E402
from scenarios.sumo.evaluation import EvaluationSettings, TripSpec, evaluate  # noqa: E402
from scenarios.sumo.report import write_report  # noqa: E402
from scenarios.sumo.runs import Mode  # noqa: E402


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    city = build_demo_city(scale=0.02)  # 2.6 km square, 36 signals
    w, s, e, n = city.bounds()
    trip = TripSpec("A-1", "ambulance", (w + 0.15 * (e - w), s + 0.2 * (n - s)),
                    (w + 0.85 * (e - w), s + 0.8 * (n - s)), severity=5, label="crash")
    settings = EvaluationSettings(level="low", seeds=(1,), depart_offsets_s=(0.0, 45.0), warmup_s=240.0,
                                  settle_s=60.0)
    out = Path(tmp_path_factory.mktemp("sumo-eval"))
    return evaluate(city, [trip], out, settings), out


def test_no_unit_run_is_faster_than_free_flow(evaluation) -> None:  # type: ignore[no-untyped-def]
    ev, _ = evaluation
    [t] = ev.trips
    assert t.free_flow_s is not None and t.free_flow_s > 0
    for p in t.pairs:
        for mode in (Mode.NO_PRIORITY, Mode.BLUE_LIGHT, Mode.GREEN_WAVE):
            time = p.unit_time(mode)
            assert time is not None, (mode, p.seed, p.offset_s)
            # Empty roads with every signal green are the floor nothing can beat.
            assert time >= t.free_flow_s - 1.0, (mode, time, t.free_flow_s)


def test_green_wave_is_granted_and_safe(evaluation) -> None:  # type: ignore[no-untyped-def]
    ev, _ = evaluation
    [t] = ev.trips
    assert t.conversion.signals_mapped == t.conversion.signals
    for p in t.pairs:
        gw = p.runs[Mode.GREEN_WAVE]
        assert gw.answers.get("granted", 0) >= len(t.trip.route.signals) // 2
        assert all(r.conflicting_greens == 0 for r in p.runs.values())
        # Every run of a seed starts from its one saved warm-up.
        assert {r.begin_s for r in p.runs.values()} == {240.0}
        # Paired with the run without the unit: the same background vehicles, so a comparison.
        assert set(p.runs[Mode.NONE].arrivals) >= set(gw.arrivals) - {"unit"}
    assert t.mean(Mode.GREEN_WAVE) <= t.mean(Mode.NO_PRIORITY)  # type: ignore[operator]


def test_report_has_the_table_and_plots(evaluation) -> None:  # type: ignore[no-untyped-def]
    ev, out = evaluation
    path = write_report(ev, out / "report")
    text = path.read_text()
    assert "| A-1 (ambulance) crash |" in text
    for png in ("sumo_trip_times.png", "sumo_paired.png", "sumo_junction_delay.png"):
        assert (out / "report" / png).stat().st_size > 1000
    data = json.loads((out / "report" / "sumo_evaluation.json").read_text())
    [trip] = data["trips"]
    assert trip["free_flow_s"] == ev.trips[0].free_flow_s
    assert len(trip["paired"]) == 2


def test_a_relative_output_folder_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The replay's default folder is relative (var/replays/<scenario>/<run>/sumo): randomTrips
    runs in that folder and must still find the network."""
    city = build_demo_city(scale=0.02)
    w, s, e, n = city.bounds()
    trip = TripSpec("A-1", "ambulance", (w + 0.15 * (e - w), s + 0.2 * (n - s)),
                    (w + 0.85 * (e - w), s + 0.8 * (n - s)), severity=5, label="crash")
    settings = EvaluationSettings(level="low", seeds=(1,), depart_offsets_s=(0.0,), warmup_s=120.0,
                                  settle_s=30.0)
    monkeypatch.chdir(tmp_path)
    out = Path("var/replays/small/run/sumo")
    out.mkdir(parents=True)
    result = evaluate(city, [trip], out, settings)
    assert result.trips and all(n > 0 for t in result.trips for n in t.background_vehicles.values())
