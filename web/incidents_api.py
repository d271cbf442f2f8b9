"""Calls and incidents over HTTP: intake from every hotline, incident queries, merge and split,
incident and task status, mutual aid between agencies, the response plans."""

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from dispatch.decide import (
    AddIncidentNote,
    ChangeIncidentStatus,
    ChangeTaskStatus,
    MergeIncidents,
    ReceiveCall,
    RecordCheckIn,
    Rejected,
    SplitCall,
)
from dispatch.mutual_aid import AnswerMutualAid, RequestMutualAid
from dispatch.state import IncidentStatus
from web.audit import origin_of
from web.deps import BackendDep, IdentityDep, ServiceDep
from web.plain_json import (
    DETAILS_MAX_DEPTH,
    DETAILS_MAX_ITEMS,
    DETAILS_MAX_KEY,
    DETAILS_MAX_STRING,
    check_plain_json,
)
from web.schemas import ViewRoute, refusals
from web.schemas_incidents import (
    CallAccepted,
    CallSplit,
    CallView,
    CheckInView,
    IncidentDetail,
    IncidentList,
    IncidentView,
    MutualAidView,
    NoteView,
    PlanBook,
)
from web.views import call_view, incident_view, mutual_aid_view, note_view

router = APIRouter(route_class=ViewRoute)
AgencyCode = Literal["110", "119", "120", "122"]


class LocationIn(BaseModel):
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    address: str | None = Field(None, max_length=300)

    @model_validator(mode="after")
    def _something_to_go_on(self) -> "LocationIn":
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        if self.lon is None and not (self.address or "").strip():
            raise ValueError("a location needs lon/lat or an address")
        return self


class CallIn(BaseModel):
    hotline: Literal["110", "119", "120", "122"]
    received_at: AwareDatetime | None = Field(
        None, description="When the hotline answered, with its UTC offset; defaults to now.")
    caller_number: str | None = Field(None, max_length=32, pattern=r"^\+?[0-9 \-]{3,32}$")
    location: LocationIn
    kind: str = Field(max_length=64)
    text: str = Field("", max_length=2000)
    details: dict[str, Any] = Field(default_factory=dict, description=(
        f"Free-form facts of the call; at most {DETAILS_MAX_DEPTH} levels deep and {DETAILS_MAX_ITEMS} "
        f"keys and items in all, strings up to {DETAILS_MAX_STRING} characters, keys up to "
        f"{DETAILS_MAX_KEY}, numbers finite."))
    idempotency_key: str | None = Field(None, max_length=128)

    @field_validator("details")
    @classmethod
    def _plain_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_plain_json(value)
        return value


class MergeIn(BaseModel):
    source_id: str = Field(description="The incident that folds into the one in the path.")
    reason: str = Field(min_length=1, max_length=500)
    by: str = Field("dispatcher", max_length=64)


class SplitIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    by: str = Field("dispatcher", max_length=64)


class StatusIn(BaseModel):
    status: str
    reason: str = Field("", max_length=500)
    by: str = Field("dispatcher", max_length=64)


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    by: str = Field("dispatcher", min_length=1, max_length=64)


class CheckInIn(BaseModel):
    agency: AgencyCode | None = Field(
        None, description="The agency checking in; defaults to the key's (a supervisor may name any).")
    by: str = Field("dispatcher", min_length=1, max_length=64)


class MutualAidIn(BaseModel):
    to_agency: AgencyCode = Field(description="The agency asked to lend its units.")
    reason: str = Field(min_length=1, max_length=500, description="What is needed, e.g. one ambulance.")
    by: str = Field("dispatcher", min_length=1, max_length=64)


class MutualAidAnswerIn(BaseModel):
    accepted: bool
    reason: str = Field("", max_length=500)
    by: str = Field("dispatcher", min_length=1, max_length=64)


async def shown(request: Request, backend: BackendDep, viewer: IdentityDep,
                calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Calls as the caller's key may see them (field rules), their sensitive reads audited."""
    route = request.scope.get("route")
    return await backend.audit.disclose(calls, viewer, origin_of(request.scope),
                                        f"GET {getattr(route, 'path', request.url.path)}")


@router.post("/v1/calls", status_code=201, response_model=CallAccepted,
             responses=refusals(409, said={409: "The Idempotency-Key came with another call before."}))
async def post_call(
    body: CallIn, backend: BackendDep, response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> dict[str, Any]:
    """Take one call from any hotline; answers once the call is in the durable log."""
    service, net, plans = backend.service, backend.network, backend.plans
    loc = body.location
    if loc.lon is not None and loc.lat is not None and not net.contains(loc.lon, loc.lat):
        w, s, e, n = net.bounds()
        raise Rejected(422, "location", f"({loc.lon}, {loc.lat}) is outside the served area "
                       f"(lon {w:.3f}..{e:.3f}, lat {s:.3f}..{n:.3f})")
    if body.kind not in plans:
        raise Rejected(422, "kind", f"unknown kind {body.kind!r}; known: {', '.join(plans.kinds)}")
    key = idempotency_key or body.idempotency_key
    command = ReceiveCall(
        hotline=body.hotline, received_at=body.received_at or service.clock.now(), kind=body.kind,
        text=body.text, caller_number=body.caller_number, lon=loc.lon, lat=loc.lat,
        address=loc.address, idempotency_key=key, details=body.details,
        received_at_told=body.received_at is not None,
    )
    events = await service.execute(command)
    state = service.state
    call_id = events[0].call_id if events else state.idempotency[key or ""]  # type: ignore[attr-defined]
    if not events:
        # answered from the fold: promise no more than the first answer did
        await service.store.confirm()
        response.headers["Idempotent-Replayed"] = "true"
    call = state.calls[call_id]
    return {"call_id": call.call_id, "incident_id": call.incident_id, "merged": call.merged,
            "reason": call.reason, "repeat": call.repeat}


@router.get("/v1/calls/{call_id}", response_model=CallView, responses=refusals(404))
async def get_call(call_id: str, request: Request, backend: BackendDep,
                   viewer: IdentityDep) -> dict[str, Any]:
    state = backend.service.state
    if call_id not in state.calls:
        raise Rejected(404, "call_id", f"no call {call_id}")
    return (await shown(request, backend, viewer, [call_view(state.calls[call_id])]))[0]


@router.get("/v1/incidents", response_model=IncidentList)
async def list_incidents(
    backend: BackendDep,
    status: Annotated[list[IncidentStatus] | None, Query()] = None,
    agency: Annotated[AgencyCode | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="first reported at or after")] = None,
    until: Annotated[datetime | None, Query(description="first reported before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    service = backend.service
    await service.catch_up()
    state = service.state
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise Rejected(422, name, f"{name} needs a UTC offset, e.g. 2026-05-01T08:00:00+08:00")
    found = [
        i for i in state.incidents.values()
        if (not status or i.status in status)
        and (agency is None or agency in i.tasks)
        and (since is None or i.reported_at >= since)
        and (until is None or i.reported_at < until)
    ]
    found.sort(key=lambda i: (-i.severity, -i.reported_at.timestamp()))
    return {"version": state.version, "count": len(found),
            "incidents": [incident_view(i, state, backend.plans) for i in found[:limit]]}


async def _detail(incident_id: str, request: Request, backend: BackendDep,
                  viewer: IdentityDep) -> dict[str, Any]:
    state = backend.service.state
    inc = state.incidents.get(incident_id)
    if inc is None:
        raise Rejected(404, "incident_id", f"no incident {incident_id}")
    view = incident_view(inc, state, backend.plans, detail=True, zone=backend.settings.zone)
    view["calls"] = await shown(request, backend, viewer, view["calls"])
    return view


@router.get("/v1/incidents/{incident_id}", response_model=IncidentDetail, responses=refusals(404))
async def get_incident(incident_id: str, request: Request, backend: BackendDep,
                       viewer: IdentityDep) -> dict[str, Any]:
    await backend.service.catch_up()
    return await _detail(incident_id, request, backend, viewer)


@router.post("/v1/incidents/{incident_id}/merge", response_model=IncidentDetail, responses=refusals(404, 409))
async def merge_incidents(incident_id: str, body: MergeIn, request: Request,
                          backend: BackendDep, viewer: IdentityDep) -> dict[str, Any]:
    """Fold `source_id` into this incident: its calls and tasks move here."""
    await backend.service.execute(MergeIncidents(incident_id, body.source_id, body.reason, body.by))
    return await _detail(incident_id, request, backend, viewer)


@router.post("/v1/calls/{call_id}/split", response_model=CallSplit, responses=refusals(404, 409))
async def split_call(call_id: str, body: SplitIn, service: ServiceDep) -> dict[str, Any]:
    """Take a wrongly merged call out of its incident into a new one."""
    await service.execute(SplitCall(call_id, body.reason, body.by))
    call = service.state.calls[call_id]
    return {"call_id": call_id, "incident_id": call.incident_id, "reason": call.reason}


@router.post("/v1/incidents/{incident_id}/status", response_model=IncidentView,
             responses=refusals(404, 409))
async def change_status(incident_id: str, body: StatusIn, backend: BackendDep) -> dict[str, Any]:
    """Closing an incident closes its tasks, frees its units and gives back every green wave."""
    service = backend.service
    await service.execute(ChangeIncidentStatus(incident_id, body.status, body.by, body.reason))
    return incident_view(service.state.incidents[incident_id], service.state, backend.plans)


@router.post("/v1/incidents/{incident_id}/notes", status_code=201, response_model=NoteView,
             responses=refusals(404, 409))
async def add_note(incident_id: str, body: NoteIn, service: ServiceDep, key: IdentityDep) -> dict[str, Any]:
    """A line of narrative on the incident, timestamped, for the key's agency."""
    await service.execute(AddIncidentNote(incident_id, key.agency, body.by, body.text))
    return note_view(service.state.incidents[incident_id].timeline[-1])


@router.post("/v1/incidents/{incident_id}/check-ins", status_code=201, response_model=CheckInView,
             responses=refusals(404, 409, said={
                 404: "No such incident, or the agency has no task in it.",
                 409: "The incident is closed or merged away, or the agency is not on scene."}))
async def check_in(incident_id: str, body: CheckInIn, backend: BackendDep,
                   key: IdentityDep) -> dict[str, Any]:
    """The crew on scene answered: the agency's check-in timer starts again (in the log, so every
    screen and a restart agree); overdue `check_in_after_s` after it."""
    service = backend.service
    agency = body.agency or key.agency
    await service.execute(RecordCheckIn(incident_id, agency, body.by))
    task = service.state.incidents[incident_id].tasks[agency]
    assert task.checked_in_at is not None
    due = task.checked_in_at + timedelta(minutes=backend.settings.check_in_minutes)
    return {"incident_id": incident_id, "agency": agency, "at": task.checked_in_at.isoformat(),
            "by": task.checked_in_by, "due_at": due.isoformat()}


@router.post("/v1/incidents/{incident_id}/tasks/{agency}/status", response_model=IncidentView,
             responses=refusals(404, 409))
async def change_task_status(incident_id: str, agency: str, body: StatusIn,
                             backend: BackendDep) -> dict[str, Any]:
    service = backend.service
    await service.execute(ChangeTaskStatus(incident_id, agency, body.status, body.by))
    return incident_view(service.state.incidents[incident_id], service.state, backend.plans)


@router.post("/v1/incidents/{incident_id}/mutual-aid", status_code=201, response_model=MutualAidView,
             responses=refusals(404, 409))
async def request_mutual_aid(incident_id: str, body: MutualAidIn, service: ServiceDep,
                             key: IdentityDep) -> dict[str, Any]:
    """Ask another agency to lend its units to this incident; once it accepts, this agency's
    dispatchers may send them."""
    events = await service.execute(RequestMutualAid(incident_id, key.agency, body.to_agency, body.by,
                                                    body.reason))
    return mutual_aid_view(service.state.mutual_aid[events[0].request_id])  # type: ignore[attr-defined]


@router.post("/v1/mutual-aid/{request_id}/answer", response_model=MutualAidView,
             responses=refusals(403, 404, 409))
async def answer_mutual_aid(request_id: str, body: MutualAidAnswerIn, service: ServiceDep,
                            key: IdentityDep) -> dict[str, Any]:
    """The agency asked accepts (it gets a task in the incident) or declines."""
    req = service.state.mutual_aid.get(request_id)
    agency = req.to_agency if req is not None and key.agency != req.to_agency and \
        "supervisor" in key.roles else key.agency
    await service.execute(AnswerMutualAid(request_id, agency, body.accepted, body.by, body.reason))
    return mutual_aid_view(service.state.mutual_aid[request_id])


@router.get("/v1/plans", response_model=PlanBook)
async def get_plans(backend: BackendDep) -> dict[str, Any]:
    return {k: {"agencies": list(p.agencies), "whistle": p.whistle, "severity": p.severity,
                "label": {"en": p.label_en, "zh": p.label_zh}} for k, p in backend.plans.plans.items()}
