"""How whistles and roster days look on the wire, for the API and the live map."""

from typing import Any

from dispatch.roster import ESCALATION, RosterDay
from dispatch.whistle import Whistle


def whistle_view(w: Whistle) -> dict[str, Any]:
    return {
        "whistle_id": w.whistle_id, "incident_id": w.incident_id, "by": w.by,
        "by_agency": w.by_agency, "blown_at": w.blown_at.isoformat(), "roster_day": w.roster_day,
        "lead": w.lead, "override_reason": w.override_reason, "active": w.active,
        "ended_at": w.ended_at.isoformat() if w.ended_at else None,
        "all_acknowledged_at": w.all_acknowledged_at.isoformat() if w.all_acknowledged_at else None,
        "summons": {
            a: {"level": s.level, "name": s.name, "channel": s.channel,
                "summoned_at": s.summoned_at.isoformat(), "deadline": s.deadline.isoformat(),
                "acknowledged_at": s.acknowledged_at.isoformat() if s.acknowledged_at else None,
                "acknowledged_by": s.acknowledged_by, "unanswered": s.unanswered,
                "steps": [{"at": t.isoformat(), "level": lvl, "name": n} for t, lvl, n in s.steps]}
            for a, s in sorted(w.summons.items())
        },
    }


def roster_view(day: RosterDay) -> dict[str, Any]:
    return {"day": day.day.isoformat(), "lead": day.lead, "planned_by": day.planned_by,
            "lead_reason": day.lead_reason,
            "duties": {a: {lvl: {"name": d.at_level(lvl).name, "channel": d.at_level(lvl).channel}
                           for lvl in ESCALATION} for a, d in sorted(day.duties.items())}}
