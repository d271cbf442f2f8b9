"""The home-alarm programme as the API shows it: alarms, residents, responders' tasks and
maintenance tasks as dicts (the models in web/schemas_homes.py describe them). A resident's
record is shaped for the field rules (care plan under `details.care`, the responders sent to the
home in `assigned_responders`), and goes out only through `AuditLog.disclose`."""

from datetime import datetime
from typing import Any

from dispatch.device_health import MaintenanceTask
from dispatch.home_alarms import HomeAlarm, ResponderTask
from dispatch.state import DispatchState


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def resident_record(state: DispatchState, resident_id: str) -> dict[str, Any]:
    r = state.homes.residents[resident_id]
    # Sent means sent now: a responder reads the care plan while their visit is open, not for
    # ever after one task.
    sent = sorted({t.responder_id for t in state.responder_tasks.values()
                   if t.resident_id == resident_id and t.outcome is None})
    return {
        "resident_id": r.resident_id,
        "name": r.name,
        "address": r.address,
        "location": [r.lon, r.lat],
        "phone": r.phone,
        "contacts": [dict(c) for c in r.contacts],
        "languages": list(r.languages),
        "devices": [
            {"device_id": d.device_id, "kind": d.kind, "gateway_id": d.gateway_id}
            for d in state.homes.devices.values()
            if d.resident_id == resident_id
        ],
        "details": {"care": dict(r.care)},
        "assigned_responders": sent,
    }


def responder_task_view(state: DispatchState, t: ResponderTask) -> dict[str, Any]:
    home = state.homes.residents[t.resident_id]
    return {
        "task_id": t.task_id,
        "alarm_id": t.alarm_id,
        "responder_id": t.responder_id,
        "resident_id": t.resident_id,
        "ask": t.ask,
        "reason": t.reason,
        "asked_at": _iso(t.asked_at),
        "accepted_at": _iso(t.accepted_at),
        "arrived_at": _iso(t.arrived_at),
        "outcome": t.outcome,
        "outcome_at": _iso(t.outcome_at),
        "notes": list(t.notes),
        "incident_id": state.alarms[t.alarm_id].incident_id,
        "alarm_kind": state.alarms[t.alarm_id].kind,
        "home": {"name": home.name, "address": home.address, "location": [home.lon, home.lat],
                 "phone": home.phone},
    }


def alarm_view(state: DispatchState, a: HomeAlarm, resident: dict[str, Any]) -> dict[str, Any]:
    """`resident`: the resident's record as the viewer may see it (already disclosed)."""
    return {
        "alarm_id": a.alarm_id,
        "device_id": a.device_id,
        "device_kind": state.homes.devices[a.device_id].kind,
        "resident_id": a.resident_id,
        "kind": a.kind,
        "status": a.status,
        "raised_at": _iso(a.raised_at),
        "received_at": _iso(a.received_at),
        "last_at": _iso(a.last_at or a.raised_at),
        "count": a.count,
        "value": a.value,
        "via": a.via,
        "location": [a.lon, a.lat],
        "acted": a.acted,
        "reason": a.reason,
        "steps": [
            {
                "step": s.step,
                "action": s.action,
                "who": s.who,
                "started_at": _iso(s.started_at),
                "deadline": _iso(s.deadline),
                "outcome": s.outcome,
                "ended_at": _iso(s.ended_at),
            }
            for s in a.steps
        ],
        "call_id": a.call_id,
        "incident_id": a.incident_id,
        "escalated_at": _iso(a.escalated_at),
        "escalation_reason": a.escalation_reason,
        "resolved_at": _iso(a.resolved_at),
        "outcome": a.outcome,
        "responder_tasks": [
            responder_task_view(state, state.responder_tasks[t]) for t in a.responder_task_ids
        ],
        "resident": resident,
    }


def maintenance_view(state: DispatchState, t: MaintenanceTask) -> dict[str, Any]:
    device = state.homes.devices[t.device_id]
    home = state.homes.residents[device.resident_id]
    return {
        "task_id": t.task_id,
        "device_id": t.device_id,
        "device_kind": device.kind,
        "gateway_id": device.gateway_id,
        "resident_id": device.resident_id,
        "address": home.address,
        "reason": t.reason,
        "detail": t.detail,
        "opened_at": _iso(t.opened_at),
        "closed_at": _iso(t.closed_at),
        "close_reason": t.close_reason,
    }


def homes_layer(state: DispatchState) -> dict[str, Any]:
    """The map's homes layer: every resident's home (where, who, which devices) and the alarms
    still in hand (checking, or in an incident that is still active). No care plan: a map is
    seen by every screen, and the care plan only by those the field rules name."""
    live = []
    for a in state.alarms.values():
        incident = state.incidents.get(a.incident_id) if a.incident_id else None
        if a.open or (incident is not None and incident.active):
            step = a.current_step
            live.append({"alarm_id": a.alarm_id, "kind": a.kind, "status": a.status, "count": a.count,
                         "resident_id": a.resident_id, "location": [a.lon, a.lat],
                         "raised_at": _iso(a.raised_at), "incident_id": a.incident_id,
                         "step": step.action if step is not None else None,
                         "deadline": _iso(step.deadline) if step is not None else None})
    kinds: dict[str, list[str]] = {}
    for d in state.homes.devices.values():
        kinds.setdefault(d.resident_id, []).append(d.kind)
    residents = [{"resident_id": r.resident_id, "name": r.name, "address": r.address,
                  "location": [r.lon, r.lat], "devices": sorted(kinds.get(r.resident_id, []))}
                 for r in state.homes.residents.values()]
    return {"residents": residents, "alarms": live}
