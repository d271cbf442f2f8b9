"""How calls and incidents look on the wire: the JSON shapes the API, map and feeds share."""

from typing import Any

from dispatch.plans import ResponsePlans
from dispatch.roads import RoadRestriction
from dispatch.state import Call, CorridorState, DispatchState, Incident
from dispatch.telemetry import Position
from dispatch.units import Unit


def call_view(call: Call) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "hotline": call.hotline,
        "received_at": call.received_at.isoformat(),
        "caller_number": call.caller_number,
        "location": {"lon": call.lon, "lat": call.lat, "address": call.address},
        "kind": call.kind,
        "text": call.text,
        "details": dict(call.details),
        "incident_id": call.incident_id,
        "merged": call.merged,
        "reason": call.reason,
        "repeat": call.repeat,
    }


def incident_view(
    inc: Incident, state: DispatchState, plans: ResponsePlans | None = None, detail: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "incident_id": inc.incident_id,
        "kind": inc.kind,
        "label": _labels(inc.kind, plans),
        "severity": inc.severity,
        "status": inc.status.value,
        "location": {"lon": inc.lon, "lat": inc.lat, "address": inc.address},
        "opened_at": inc.opened_at.isoformat(),
        "reported_at": inc.reported_at.isoformat(),
        "last_call_at": inc.last_call_at.isoformat() if inc.last_call_at else None,
        "whistle_qualifies": inc.whistle_qualifies,
        "call_count": len(inc.call_ids),
        "repeat_calls": inc.repeat_calls,
        "hotlines": sorted({state.calls[c].hotline for c in inc.call_ids}),
        "tasks": {a: {"status": t.status.value, "reason": t.reason} for a, t in inc.tasks.items()},
        "merged_into": inc.merged_into,
    }
    if detail:
        out["corridors"] = [corridor_view(c) for c in state.corridors.values()
                            if c.incident_id == inc.incident_id]
        out["calls"] = [call_view(state.calls[c]) for c in inc.call_ids]
        out["timeline"] = [
            {"seq": t.seq, "at": t.at.isoformat(), "type": t.type, "summary": t.summary}
            for t in inc.timeline
        ]
    return out


def _labels(kind: str, plans: ResponsePlans | None) -> dict[str, str]:
    if plans is None or kind not in plans:
        return {"en": kind.replace("_", " "), "zh": ""}
    plan = plans[kind]
    return {"en": plan.label_en, "zh": plan.label_zh}


def unit_view(unit: Unit, position: Position | None, stale: bool) -> dict[str, Any]:
    return {
        "unit_id": unit.unit_id,
        "agency": unit.agency,
        "kind": unit.kind,
        "call_sign": unit.call_sign,
        "station_id": unit.station_id,
        "crew": unit.crew,
        "capabilities": list(unit.capabilities),
        "status": unit.status.value,
        "status_at": unit.status_at.isoformat() if unit.status_at else None,
        "incident_id": unit.incident_id,
        "position": position.to_wire() if position else None,
        "stale": stale,
    }


def corridor_view(c: CorridorState) -> dict[str, Any]:
    """A unit's green wave signal by signal, with what is not covered (refused, or the controller
    unreachable) and the ETA with and without it."""
    signals = sorted(c.signals.values(), key=lambda s: (s.get("order", 0), s.get("eta", 0)))
    uncovered = [s["signal_id"] for s in signals
                 if s["status"] != "released" and (s.get("degraded") or s["status"] == "refused")]
    return {"unit_id": c.unit_id, "incident_id": c.incident_id, "whistle_id": c.whistle_id,
            "eta_s": c.eta_s, "eta_green_s": c.eta_green_s, "saved_s": round(c.saved_s, 1),
            # Live until every signal is given back; a degraded signal is still owed an answer.
            "active": any(s["status"] != "released" and (s["status"] != "refused" or s.get("degraded"))
                          for s in signals),
            "degraded": any(s.get("degraded") and s["status"] != "released" for s in signals),
            "uncovered": uncovered, "signals": signals}


def restriction_view(r: RoadRestriction) -> dict[str, Any]:
    return {"restriction_id": r.restriction_id, "road": [list(p) for p in r.road],
            "both_ways": r.both_ways, "state": "closed" if r.speed_kmh is None else "slowed",
            "speed_kmh": r.speed_kmh, "reason": r.reason, "by": r.by, "by_agency": r.by_agency,
            "since": r.since.isoformat(),
            "reopened_at": r.reopened_at.isoformat() if r.reopened_at else None}
