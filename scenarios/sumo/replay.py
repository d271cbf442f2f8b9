"""`jointdispatch replay FILE --traffic sumo`: the scenario is replayed with the joint green-wave
strategy on the one dispatch service, and every trip a unit drove to a scene with a green wave is
driven again in SUMO, leaving at the same moment of the day, in paired runs (see evaluation)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from greenwave.corridor import CorridorSettings
from scenarios.model import LoadedScenario
from scenarios.replay import ReplayResult
from scenarios.sumo.evaluation import EvaluationSettings, Progress, TripSpec, evaluate
from scenarios.sumo.report import attach_to_kpi_report, write_report
from scenarios.sumo.traffic import LEVELS
from scenarios.world import City, Trip

# The scenario's traffic level is a degree of saturation (flow over capacity, 0..0.95); SUMO's
# background demand comes in the named levels, chosen by where the saturation falls.
SATURATION_BOUNDS = ((0.4, "low"), (0.75, "medium"), (1.0, "high"))


def level_for_saturation(saturation: float) -> str:
    level = next((name for bound, name in SATURATION_BOUNDS if saturation < bound), "high")
    assert level in LEVELS
    return level


def trips_to_evaluate(trips: Sequence[Trip], start: datetime, limit: int | None = None,
                      events: dict[str, str] | None = None) -> list[TripSpec]:
    """The replay's green-wave trips to a scene, each with its absolute departure time, labelled
    with the real event it went to (the scenario's tag) and the incident."""
    out = []
    for t in trips:
        if not t.green_wave or t.purpose != "to_scene":
            continue
        incident = t.incident_id or ""
        event = (events or {}).get(incident)
        out.append(TripSpec(t.unit_id, t.vehicle_kind, t.origin, t.destination,
                            label=f"{event} ({incident})" if event else incident,
                            depart_at=start.timestamp() + t.depart_s))
    return out[:limit] if limit is not None else out


def depart_offsets(count: int, spread_s: float = 111.0) -> tuple[float, ...]:
    """`count` departure times spread over a signal cycle or so: the real one first."""
    return tuple(round(i * spread_s / max(count, 1), 1) for i in range(count))


def evaluate_replay(scenario: LoadedScenario, city: City, result: ReplayResult, out: Path, *, seeds: int,
                    departures: int, limit: int | None, progress: Progress | None = None) -> tuple[Path, int]:
    """Drive the replay's green-wave trips in SUMO; the report's path and how many trips went."""
    events = {i: str(row["event"]) for row in result.kpis.get("per_event", []) for i in row["incidents"]}
    specs = trips_to_evaluate(result.trips, scenario.spec.start, limit, events)
    if not specs:
        raise ValueError("the replay made no green-wave trip to a scene: nothing to drive in SUMO")
    sig = scenario.spec.signals
    settings = EvaluationSettings(level=level_for_saturation(scenario.spec.traffic.level),
                                  seeds=tuple(range(1, seeds + 1)),
                                  depart_offsets_s=depart_offsets(departures),
                                  corridor=CorridorSettings(sig.lead_s, sig.clearance_s, sig.max_hold_s))
    ev = evaluate(city.network, specs, out, settings, city.road.index, progress)
    path = write_report(ev, out, f"{scenario.spec.title}: green wave in SUMO")
    attach_to_kpi_report(out.parent, out)
    return path, len(specs)
