"""The whistle over HTTP: blow it for an incident, acknowledge summons, see and plan the roster.

Blowing it is one click: the summons, the recommended units and their routes in one request
(coordination.coordinator); the clock that escalates silent summons is coordination's too."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from dispatch.lead import roster_for
from dispatch.rejection import Rejected
from dispatch.roster import ESCALATION
from dispatch.state import CorridorState
from dispatch.whistle import AcknowledgeSummons, PlanRosterDay
from web.deps import CoordinatorDep, ServiceDep
from web.schemas import ViewRoute, refusals
from web.schemas_whistle import RosterDayPlanned, RosterDayView, WhistleAnswer, WhistleList, WhistleView
from web.units_api import sent_view
from web.whistle_view import roster_view, whistle_view

router = APIRouter(route_class=ViewRoute)
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


@router.post("/v1/incidents/{incident_id}/whistle", status_code=201, response_model=WhistleAnswer,
             responses=refusals(403, 404, 409, said={
                 403: "Only the 120 or 119 centre, or the day's lead agency, blows the whistle."}))
async def blow_whistle(incident_id: str, body: BlowIn, coordinator: CoordinatorDep) -> dict[str, Any]:
    """Summon every agency's convener and send the recommended units; every unit of the incident,
    sent now or before, is routed and gets its green wave."""
    whistle_id, sent = await coordinator.blow_whistle(incident_id, body.by, body.agency, body.override_reason)
    state = coordinator.service.state
    inc = state.incidents[incident_id]
    waves = {uid: green_wave_summary(state.corridors[uid]) for uid in dict.fromkeys(inc.unit_ids)
             if uid in state.corridors and state.corridors[uid].whistle_id == whistle_id}
    return {"whistle": whistle_view(state.whistles[whistle_id]), **sent_view(coordinator, sent),
            "green_waves": waves}


def green_wave_summary(c: CorridorState) -> dict[str, Any]:
    """The corridor as it stands now: a later unit's request may already have moved this one's
    window at a junction both cross (queued behind it)."""
    statuses = [s.status for s in c.signals.values()]
    return {"signals": len(statuses), "granted": statuses.count("granted"),
            "queued": statuses.count("queued"), "eta_s": c.eta_s, "eta_green_s": c.eta_green_s}


@router.post("/v1/whistles/{whistle_id}/ack", response_model=WhistleView, responses=refusals(404, 409))
async def acknowledge(whistle_id: str, body: AckIn, service: ServiceDep) -> dict[str, Any]:
    await service.execute(AcknowledgeSummons(whistle_id, body.agency, body.by))
    return whistle_view(service.state.whistles[whistle_id])


@router.get("/v1/whistles", response_model=WhistleList)
async def list_whistles(service: ServiceDep, active: bool | None = None) -> dict[str, Any]:
    state = service.state
    found = [w for w in state.whistles.values() if active is None or w.active == active]
    return {"count": len(found), "whistles": [whistle_view(w) for w in found]}


@router.get("/v1/whistles/{whistle_id}", response_model=WhistleView, responses=refusals(404))
async def get_whistle(whistle_id: str, service: ServiceDep) -> dict[str, Any]:
    w = service.state.whistles.get(whistle_id)
    if w is None:
        raise Rejected(404, "whistle_id", f"no whistle {whistle_id}")
    return whistle_view(w)


@router.get("/v1/roster", response_model=RosterDayView)
async def today_roster(service: ServiceDep) -> dict[str, Any]:
    rules = service.rules.roster
    day = roster_for(service.state, rules, rules.duty_day(service.clock.now()))
    return roster_view(day)


@router.get("/v1/roster/{day}", response_model=RosterDayPlanned)
async def get_roster_day(day: Annotated[date, Path()], service: ServiceDep) -> dict[str, Any]:
    history = [{"at": e.at.isoformat(), "by": e.by, "lead": e.lead}
               for e in service.state.roster_history if e.day == day.isoformat()]
    return {**roster_view(roster_for(service.state, service.rules.roster, day)),
            "history": history}


@router.put("/v1/roster/{day}", response_model=RosterDayPlanned)
async def put_roster_day(day: Annotated[date, Path()], body: RosterDayIn,
                         service: ServiceDep) -> dict[str, Any]:
    """A supervisor plans a duty day ahead: lead agency and every agency's three levels."""
    duties = {a: {lvl: getattr(d, lvl).model_dump() for lvl in ESCALATION} for a, d in body.duties.items()}
    await service.execute(PlanRosterDay(day, body.lead, duties, body.by))
    return await get_roster_day(day, service)
