"""How calls and incidents look on the wire: the JSON shapes the API, map and feeds share."""

from datetime import UTC, datetime, tzinfo
from typing import Any

from dispatch.events import IncidentNoteAdded
from dispatch.mutual_aid import MutualAidRequest
from dispatch.plans import ResponsePlans
from dispatch.roads import RoadRestriction
from dispatch.state import (
    AgencyTask,
    Call,
    CorridorSignal,
    CorridorState,
    DispatchState,
    Incident,
    TimelineEntry,
)
from dispatch.telemetry import Position
from dispatch.units import Unit
from web.timeline_text import describe


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
    inc: Incident, state: DispatchState, plans: ResponsePlans | None = None, detail: bool = False,
    zone: tzinfo = UTC,
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
        "tasks": {a: task_view(t) for a, t in inc.tasks.items()},
        "merged_into": inc.merged_into,
        # who is coming, how far they are, and where a patient is taken: what a receiving
        # hospital's board or another centre's screen needs of the incident
        "units": [responding_view(state, uid) for uid in dict.fromkeys(inc.unit_ids)
                  if state.units[uid].incident_id == inc.incident_id],
    }
    if detail:
        out["corridors"] = [corridor_view(c) for c in state.corridors.values()
                            if c.incident_id == inc.incident_id]
        out["calls"] = [call_view(state.calls[c]) for c in inc.call_ids]
        out["mutual_aid"] = [mutual_aid_view(r) for r in state.mutual_aid.values()
                             if r.incident_id == inc.incident_id]
        out["notes"] = [note_view(t) for t in inc.timeline if isinstance(t.event, IncidentNoteAdded)]
        out["timeline"] = [
            {"seq": t.seq, "at": t.at.isoformat(), "type": t.type, "summary": describe(t, zone),
             "summary_zh": describe(t, zone, "zh")}
            for t in inc.timeline
        ]
    return out


def task_view(t: AgencyTask) -> dict[str, Any]:
    since = t.check_in_since
    return {"status": t.status.value, "reason": t.reason,
            "changed_at": t.changed_at.isoformat() if t.changed_at else None,
            "checked_in_at": t.checked_in_at.isoformat() if t.checked_in_at else None,
            "checked_in_by": t.checked_in_by,
            "check_in_since": since.isoformat() if since else None}


def note_view(t: TimelineEntry) -> dict[str, Any]:
    e = t.event
    assert isinstance(e, IncidentNoteAdded)
    return {"seq": t.seq, "at": t.at.isoformat(), "agency": e.agency, "by": e.by, "text": e.text}


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
    signals = c.in_order()
    return {"unit_id": c.unit_id, "incident_id": c.incident_id, "whistle_id": c.whistle_id,
            "eta_s": c.eta_s, "eta_green_s": c.eta_green_s, "saved_s": round(c.saved_s, 1),
            # Live until every signal is given back; a degraded signal is still owed an answer.
            "active": any(s.status != "released" and (s.status != "refused" or s.degraded) for s in signals),
            "degraded": any(s.degraded and s.status != "released" for s in signals),
            "uncovered": [s.asked.signal_id for s in signals if s.uncovered],
            "signals": [corridor_signal_view(s) for s in signals]}


def corridor_signal_view(s: CorridorSignal) -> dict[str, Any]:
    """One junction: the window asked (request_id, order, approach, eta, window, saved_s), the
    controller's answer and the window it will serve."""
    w = s.asked
    return {"signal_id": w.signal_id, "request_id": w.request_id, "order": w.order, "approach": w.approach,
            "eta": w.eta, "eta_without": w.eta_without, "window_start": w.window_start,
            "window_end": w.window_end, "saved_s": w.saved_s, "status": s.status.value, "reason": s.reason,
            "degraded": s.degraded, "served_start": s.served_start, "served_end": s.served_end}


def restriction_view(r: RoadRestriction) -> dict[str, Any]:
    return {"restriction_id": r.restriction_id, "road": [list(p) for p in r.road],
            "both_ways": r.both_ways, "state": "closed" if r.speed_kmh is None else "slowed",
            "speed_kmh": r.speed_kmh, "reason": r.reason, "by": r.by, "by_agency": r.by_agency,
            "since": r.since.isoformat(),
            "reopened_at": r.reopened_at.isoformat() if r.reopened_at else None}


def responding_view(state: DispatchState, unit_id: str) -> dict[str, Any]:
    """One unit on an incident: its status, its route's ETA and destination, its green wave."""
    unit = state.units[unit_id]
    route = state.routes.get(unit_id)
    corridor = state.corridors.get(unit_id)
    out: dict[str, Any] = {"unit_id": unit.unit_id, "call_sign": unit.call_sign, "agency": unit.agency,
                           "kind": unit.kind, "status": unit.status.value,
                           "status_at": unit.status_at.isoformat() if unit.status_at else None,
                           "route": None, "green_wave": None}
    if route is not None:
        # an ETA is a moment, not a duration: a screen counts down to it whenever it looks
        arrive = route.given_at.timestamp() + (route.plan.eta_green_s if corridor is not None
                                               and corridor.incident_id == route.incident_id
                                               else route.plan.eta_s)
        out["route"] = {"purpose": route.purpose.value, "hospital_id": route.hospital_id,
                        "destination": list(route.destination), "eta_s": route.plan.eta_s,
                        "eta_green_s": route.plan.eta_green_s, "length_m": route.plan.length_m,
                        "arrive_by": datetime.fromtimestamp(arrive, UTC).isoformat(),
                        "given_at": route.given_at.isoformat()}
    if corridor is not None and corridor.incident_id == unit.incident_id:
        view = corridor_view(corridor)
        out["green_wave"] = {k: view[k] for k in ("active", "degraded", "saved_s", "uncovered")}
    return out


def mutual_aid_view(r: MutualAidRequest) -> dict[str, Any]:
    return {"request_id": r.request_id, "incident_id": r.incident_id, "from_agency": r.from_agency,
            "to_agency": r.to_agency, "by": r.by, "reason": r.reason,
            "requested_at": r.requested_at.isoformat(),
            "state": "pending" if r.accepted is None else "accepted" if r.accepted else "declined",
            "answered_by": r.answered_by,
            "answered_at": r.answered_at.isoformat() if r.answered_at else None}
