"""The whistle over HTTP: blow it for an incident, acknowledge summons, see and plan the roster.

Blowing it is one click: the summons, the recommended units and their routes in one request.
The clock that escalates silent summons runs here, at the edge, and sleeps until the next
deadline the log knows of."""

import asyncio
import contextlib
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from dispatch.decide import AssignUnits
from dispatch.rejection import Rejected
from dispatch.roster import ESCALATION
from dispatch.service import DispatchService
from dispatch.whistle import (
    AcknowledgeSummons,
    BlowWhistle,
    CheckDeadlines,
    PlanRosterDay,
    next_deadline,
    roster_for,
)
from web.units_api import Fleetwork, assignments_from
from web.whistle_view import roster_view, whistle_view

router = APIRouter()
AgencyCode = Literal["110", "119", "120", "122"]


class BlowIn(BaseModel):
    by: str = Field(min_length=1, max_length=64, description="The dispatcher pressing the button.")
    agency: AgencyCode = Field(description="The centre the dispatcher works for.")
    override_reason: str = Field("", max_length=500,
                                 description="Needed when the incident's kind does not qualify.")


class AckIn(BaseModel):
    agency: AgencyCode
    by: str = Field(min_length=1, max_length=64)


class PersonIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    channel: str = Field("", max_length=100)


class DutyIn(BaseModel):
    convener: PersonIn
    backup: PersonIn
    chief: PersonIn


class RosterDayIn(BaseModel):
    lead: Literal["110", "119", "120"]
    duties: dict[AgencyCode, DutyIn]
    by: str = Field("supervisor", max_length=64)


def _service(request: Request) -> DispatchService:
    return request.app.state.service  # type: ignore[no-any-return]


@router.post("/v1/incidents/{incident_id}/whistle", status_code=201)
async def blow_whistle(incident_id: str, body: BlowIn, request: Request) -> dict[str, Any]:
    """Summon every agency's convener, send the recommended units, give each its route."""
    service = _service(request)
    fw: Fleetwork = request.app.state.fleetwork
    events = await service.execute(BlowWhistle(incident_id, body.by, body.agency, body.override_reason))
    whistle_id = events[0].whistle_id  # type: ignore[attr-defined]
    sent: dict[str, Any] = {"assigned": [], "routes": {}}
    with contextlib.suppress(Rejected):  # no free unit must not undo the summons already made
        needs, _ = await fw.recommendation(incident_id)
        assignments = assignments_from(needs, None)
        if assignments:
            await service.execute(AssignUnits(incident_id, assignments, f"whistle {whistle_id}"))
            sent = await fw.route_assigned(incident_id, [a.unit_id for a in assignments])
    # Ask the 122 centre's signals for a green wave on every route just given out.
    priority = request.app.state.signal_priority
    waves = {}
    for uid in sent["routes"]:
        waves[uid] = await priority.request(uid, fw.routes[uid], whistle_id)
    return {"whistle": whistle_view(service.state.whistles[whistle_id]), **sent, "green_waves": waves}


@router.post("/v1/whistles/{whistle_id}/ack")
async def acknowledge(whistle_id: str, body: AckIn, request: Request) -> dict[str, Any]:
    service = _service(request)
    await service.execute(AcknowledgeSummons(whistle_id, body.agency, body.by))
    return whistle_view(service.state.whistles[whistle_id])


@router.get("/v1/whistles")
async def list_whistles(request: Request, active: bool | None = None) -> dict[str, Any]:
    state = _service(request).state
    found = [w for w in state.whistles.values() if active is None or w.active == active]
    return {"count": len(found), "whistles": [whistle_view(w) for w in found]}


@router.get("/v1/whistles/{whistle_id}")
async def get_whistle(whistle_id: str, request: Request) -> dict[str, Any]:
    w = _service(request).state.whistles.get(whistle_id)
    if w is None:
        raise Rejected(404, "whistle_id", f"no whistle {whistle_id}")
    return whistle_view(w)


@router.get("/v1/roster")
async def today_roster(request: Request) -> dict[str, Any]:
    service = _service(request)
    rules = service.rules.roster
    day = roster_for(service.state.roster_plans, rules, rules.duty_day(service.clock.now()))
    return roster_view(day)


@router.get("/v1/roster/{day}")
async def get_roster_day(day: Annotated[date, Path()], request: Request) -> dict[str, Any]:
    service = _service(request)
    history = [{"at": e.at.isoformat(), "by": e.by, "lead": e.lead}
               for e in service.state.roster_history if e.day == day.isoformat()]
    return {**roster_view(roster_for(service.state.roster_plans, service.rules.roster, day)),
            "history": history}


@router.put("/v1/roster/{day}")
async def put_roster_day(day: Annotated[date, Path()], body: RosterDayIn,
                         request: Request) -> dict[str, Any]:
    """A supervisor plans a duty day ahead: lead agency and every agency's three levels."""
    service = _service(request)
    duties = {a: {lvl: getattr(d, lvl).model_dump() for lvl in ESCALATION} for a, d in body.duties.items()}
    await service.execute(PlanRosterDay(day, body.lead, duties, body.by))
    return await get_roster_day(day, request)


async def escalation_clock(service: DispatchService, max_sleep_s: float = 1.0) -> None:
    """Wake at the next deadline (or every second, to see deadlines other processes added)."""
    while True:
        due = next_deadline(service.state)
        now: datetime = service.clock.now()
        if due is not None and due <= now:
            try:
                await service.execute(CheckDeadlines())
            except Exception:  # a Redis hiccup must not stop the clock; try again shortly
                await asyncio.sleep(0.5)
            continue
        wait = max_sleep_s if due is None else min(max_sleep_s, (due - now).total_seconds())
        await asyncio.sleep(max(0.01, wait))
