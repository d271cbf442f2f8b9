"""Key figures of a replay, read from its event log (the truth) and the world's trips.

Response is measured per real-world event and agency, from the event's first call (to any
hotline) to the agency's first unit on scene, whichever incidents the calls ended up in: so
agencies working alone, with three incidents for one crash, are measured on the same footing as a
joint incident. An agency the event needed that never arrived counts as missed."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from dispatch import events as ev
from dispatch.units import UnitStatus

if TYPE_CHECKING:
    from scenarios.model import LoadedScenario
    from scenarios.replay import ReplayResult

AGENCIES = ("110", "119", "120", "122")


def stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, "median": None, "p90": None}
    a = np.array(values, dtype=float)
    return {
        "n": len(values),
        "mean": round(float(a.mean()), 1),
        "median": round(float(np.median(a)), 1),
        "p90": round(float(np.percentile(a, 90)), 1),
    }


def compute_kpis(scenario: LoadedScenario, result: ReplayResult) -> dict[str, Any]:
    start = result.start
    end_s = result.end_s

    def off(t: datetime) -> float:
        return (t - start).total_seconds()

    calls: dict[str, ev.CallReceived] = {}
    incident_of: dict[str, str] = {}
    repeat = 0
    assigned: dict[str, list[tuple[float, str, str]]] = defaultdict(list)  # unit -> (t, incident, agency)
    arrivals: list[tuple[float, str, str]] = []  # (t, unit, incident)
    unit_agency: dict[str, str] = {}
    busy_since: dict[str, float] = {}
    busy: dict[str, float] = defaultdict(float)
    whistles: dict[str, dict[str, Any]] = {}
    expected_saved: list[float] = []
    for r in result.records:
        e = r.event
        if isinstance(e, ev.CallReceived):
            calls[e.call_id] = e
        elif isinstance(e, ev.IncidentOpened):
            incident_of[e.call_id] = e.incident_id
        elif isinstance(e, ev.CallMerged):
            incident_of[e.call_id] = e.incident_id
            repeat += e.repeat
        elif isinstance(e, ev.CallSplit):
            incident_of.pop(e.call_id, None)
        elif isinstance(e, ev.UnitRegistered):
            unit_agency[e.unit_id] = e.agency
        elif isinstance(e, ev.UnitAssigned):
            assigned[e.unit_id].append((off(e.at), e.incident_id, e.agency))
            busy_since.setdefault(e.unit_id, off(e.at))
        elif isinstance(e, ev.UnitStatusChanged):
            if e.status == UnitStatus.ON_SCENE and e.incident_id:
                arrivals.append((off(e.at), e.unit_id, e.incident_id))
            if e.status in (UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE) and e.unit_id in busy_since:
                busy[e.unit_id] += off(e.at) - busy_since.pop(e.unit_id)
        elif isinstance(e, ev.WhistleBlown):
            whistles[e.whistle_id] = {
                "incident_id": e.incident_id,
                "blown_s": off(e.at),
                "summoned": {},
                "acknowledged": {},
                "escalations": 0,
                "unanswered": [],
            }
        elif isinstance(e, ev.ConvenerSummoned):
            w = whistles[e.whistle_id]
            if e.agency in w["summoned"]:
                w["escalations"] += 1
            else:
                w["summoned"][e.agency] = off(e.at)
        elif isinstance(e, ev.SummonsAcknowledged):
            w = whistles[e.whistle_id]
            w["acknowledged"][e.agency] = off(e.at) - w["summoned"][e.agency]
        elif isinstance(e, ev.SummonsUnanswered):
            whistles[e.whistle_id]["unanswered"].append(e.agency)
        elif isinstance(e, ev.GreenWaveRequested):
            expected_saved.append(e.eta_s - e.eta_green_s)
    for unit_id, since in busy_since.items():
        busy[unit_id] += end_s - since

    # the real-world events behind the calls, and what each needed
    event_calls: dict[str, list[str]] = defaultdict(list)
    for call_id, c in calls.items():
        event_calls[str(c.details.get("event", call_id))].append(call_id)
    incidents_of_event = {
        e: {incident_of[c] for c in cs if c in incident_of} for e, cs in event_calls.items()
    }
    first_call = {e: min(off(calls[c].received_at) for c in cs) for e, cs in event_calls.items()}
    needed = {
        e: sorted({str(a) for c in cs for a in scenario.plans[calls[c].kind].agencies})
        for e, cs in event_calls.items()
    }

    first_assign: dict[tuple[str, str], float] = {}  # (incident, agency)
    for items in assigned.values():
        for t, inc, agency in items:
            key = (inc, agency)
            first_assign[key] = min(first_assign.get(key, t), t)
    first_arrival: dict[tuple[str, str], tuple[float, str]] = {}
    for t, unit_id, inc in sorted(arrivals):
        first_arrival.setdefault((inc, unit_agency[unit_id]), (t, unit_id))

    def assigned_before(unit_id: str, inc: str, t: float) -> float:
        return max(a for a, i, _ in assigned[unit_id] if i == inc and a <= t)

    per_agency: dict[str, dict[str, list[float]]] = {a: defaultdict(list) for a in AGENCIES}
    missed: dict[str, int] = defaultdict(int)
    targets = scenario.spec.targets
    within: dict[str, int] = defaultdict(int)
    per_event: list[dict[str, Any]] = []
    first_any: list[float] = []
    for event, agencies in sorted(needed.items()):
        t0 = first_call[event]
        row: dict[str, Any] = {
            "event": event,
            "kinds": sorted({calls[c].kind for c in event_calls[event]}),
            "calls": len(event_calls[event]),
            "first_call_s": round(t0, 1),
            "incidents": sorted(incidents_of_event[event]),
            "agencies": {},
        }
        arrived_any: list[float] = []
        for agency in agencies:
            incs = incidents_of_event[event]
            dispatched = [first_assign[(i, agency)] for i in incs if (i, agency) in first_assign]
            came = sorted(first_arrival[(i, agency)] for i in incs if (i, agency) in first_arrival)
            a_row: dict[str, Any] = {"dispatch_s": None, "travel_s": None, "response_s": None}
            if dispatched:
                a_row["dispatch_s"] = round(min(dispatched) - t0, 1)
                per_agency[agency]["call_to_dispatch"].append(min(dispatched) - t0)
            if came:
                t, unit_id = came[0]
                # a unit already there on an incident this call joined: the response is immediate
                t = max(t, t0)
                for i in incs:
                    if (i, agency) in first_arrival and first_arrival[(i, agency)] == (t, unit_id):
                        a_row["travel_s"] = round(t - assigned_before(unit_id, i, t), 1)
                        per_agency[agency]["travel"].append(t - assigned_before(unit_id, i, t))
                a_row["response_s"] = round(t - t0, 1)
                a_row["unit"] = unit_id
                per_agency[agency]["response"].append(t - t0)
                arrived_any.append(t - t0)
                if agency in targets and t - t0 <= targets[agency]:  # type: ignore[operator]
                    within[agency] += 1
            else:
                missed[agency] += 1
            row["agencies"][agency] = a_row
        if arrived_any:
            first_any.append(min(arrived_any))
            row["first_on_scene_s"] = round(min(arrived_any), 1)
        per_event.append(row)

    agencies_out = {}
    for agency in AGENCIES:
        d = per_agency[agency]
        n_needed = sum(agency in a for a in needed.values())
        if not n_needed:
            continue
        agencies_out[agency] = {
            "needed": n_needed,
            "served": len(d["response"]),
            "missed": missed[agency],
            "call_to_dispatch_s": stats(d["call_to_dispatch"]),
            "travel_s": stats(d["travel"]),
            "response_s": stats(d["response"]),
            "target_s": targets.get(agency),  # type: ignore[call-overload]
            "within_target_share": round(within[agency] / n_needed, 3),
        }
    all_responses = [t for a in AGENCIES for t in per_agency[a]["response"]]

    gw = [t for t in result.trips if t.green_wave and t.arrive_s is not None and t.without_priority_s]
    saved = [t.without_priority_s - t.duration_s for t in gw]  # type: ignore[operator]
    acks: dict[str, list[float]] = defaultdict(list)
    for w in whistles.values():
        for agency, t in w["acknowledged"].items():
            acks[agency].append(t)
    units_by_agency: dict[str, list[float]] = defaultdict(list)
    for unit_id, agency in unit_agency.items():
        units_by_agency[agency].append(busy.get(unit_id, 0.0) / end_s if end_s > 0 else 0.0)
    trips_done = [t for t in result.trips if t.arrive_s is not None]

    out: dict[str, Any] = {
        "calls": len(calls),
        "events": len(event_calls),
        "incidents": len({i for i in incident_of.values()}),
        "repeat_call_rate": round(repeat / len(calls), 3) if calls else 0.0,
        "response_all_s": stats(all_responses),
        "first_on_scene_s": stats(first_any),
        "missed": sum(missed.values()),
        "agencies": agencies_out,
        "green_wave": {
            "trips": len(gw),
            "saved_s": stats(saved),
            "saved_total_s": round(sum(saved), 1),
            "expected_saved_s": stats(expected_saved),
            "per_trip": [
                {
                    "unit_id": t.unit_id,
                    "incident_id": t.incident_id,
                    "with_s": round(t.duration_s or 0, 1),
                    "without_s": round(t.without_priority_s or 0, 1),
                }
                for t in gw
            ],
        },
        "whistles": {
            "count": len(whistles),
            "blown_after_first_call_s": stats(_whistle_delays(whistles, calls, incident_of, off)),
            "ack_s": {a: stats(v) for a, v in sorted(acks.items())},
            "escalations": sum(w["escalations"] for w in whistles.values()),
            "unanswered": sum(len(w["unanswered"]) for w in whistles.values()),
        },
        "utilisation": {a: round(float(np.mean(v)), 3) for a, v in sorted(units_by_agency.items())},
        "trips": {
            "count": len(trips_done),
            "signal_wait_s": stats([t.signal_wait_s for t in trips_done]),
            "to_scene_s": stats([t.duration_s for t in trips_done if t.purpose == "to_scene"]),
        },  # type: ignore[misc]
        "per_event": per_event,
    }
    out["expectations"] = _expectations(scenario, out, whistles, calls, incident_of, off)
    return out


def _whistle_delays(
    whistles: dict[str, dict[str, Any]],
    calls: dict[str, ev.CallReceived],
    incident_of: dict[str, str],
    off: Any,
) -> list[float]:
    out = []
    for w in whistles.values():
        received = [
            off(c.received_at) for cid, c in calls.items() if incident_of.get(cid) == w["incident_id"]
        ]
        if received:
            out.append(w["blown_s"] - min(received))
    return out


def _expectations(
    scenario: LoadedScenario,
    kpis: dict[str, Any],
    whistles: dict[str, dict[str, Any]],
    calls: dict[str, ev.CallReceived],
    incident_of: dict[str, str],
    off: Any,
) -> list[dict[str, Any]]:
    """Each expectation met or not, with the worst measured figure (or what is missing)."""
    exp = scenario.spec.expect
    rows = [r for r in kpis["per_event"] if exp.event is None or r["event"] == exp.event]
    incidents = {i for r in rows for i in r["incidents"]}
    mine = {k: w for k, w in whistles.items() if w["incident_id"] in incidents}
    about = f" ({exp.event})" if exp.event else ""
    out: list[dict[str, Any]] = []
    if exp.whistle_within_s is not None:
        delays = _whistle_delays(mine, calls, incident_of, off)
        worst = max(delays) if delays else None
        out.append({"expectation": f"the whistle is blown within {exp.whistle_within_s:.0f} s of the "
                    f"first call{about}", "met": worst is not None and worst <= exp.whistle_within_s,
                    "measured": "not blown" if worst is None else round(worst, 1)})
    if exp.acknowledged_within_s is not None:
        acks = [t for w in mine.values() for t in w["acknowledged"].values()]
        silent = sorted({a for w in mine.values() for a in w["summoned"] if a not in w["acknowledged"]})
        worst = max(acks) if acks else None
        out.append({"expectation": f"every convener acknowledges within {exp.acknowledged_within_s:.0f} s"
                    f"{about}", "met": bool(mine) and not silent and worst is not None
                    and worst <= exp.acknowledged_within_s,
                    "measured": ("not blown" if not mine else f"no answer from {', '.join(silent)}" if silent
                                 else round(worst or 0.0, 1))})
    for agency, limit in exp.on_scene_within_s.items():
        times = [r["agencies"][agency]["response_s"] for r in rows if agency in r["agencies"]]
        missing = sum(t is None for t in times)
        worst = max((t for t in times if t is not None), default=None)
        out.append({"expectation": f"{agency} on scene within {limit:.0f} s of the first call{about}",
                    "met": bool(times) and not missing and worst is not None and worst <= limit,
                    "measured": f"{missing} never came" if missing else worst})
    return out
