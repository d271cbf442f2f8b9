"""The home-alarm programme over HTTP: IoT platforms push device messages, the register is
imported, alarms are followed and their call-backs answered, community responders see and
report their tasks, and the programme lists the devices needing a visit.

Residents' records (and the alarms that carry them) leave only through `AuditLog.disclose`:
the care plan is shown to 120, supervisors and the responder sent to the home, and every read
of it is in the audit trail."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from coordination.device_watch import Heard
from coordination.register_file import RegisterIn
from dispatch import events as ev
from dispatch.home_alarms import AnswerAlarmStep, ReportResponderTask
from dispatch.rejection import Rejected
from web.api_keys import Role
from web.audit import origin_of
from web.deps import BackendDep, IdentityDep
from web.device_messages import PushedAlarm, PushIn, alarm_command, heard_of
from web.homes_views import (
    alarm_view,
    homes_layer,
    maintenance_view,
    resident_record,
    responder_task_view,
)
from web.map_api import STATIC
from web.schemas import ViewRoute, refusals
from web.schemas_homes import (
    AlarmList,
    AlarmView,
    HomesLayer,
    MaintenanceList,
    PushAccepted,
    RegisterImported,
    ResidentView,
    ResponderTaskList,
    ResponderTaskView,
)

router = APIRouter(route_class=ViewRoute)


class AnswerIn(BaseModel):
    outcome: Literal["all_well", "needs_help", "no_answer"] = Field(
        description="all_well resolves the alarm, needs_help calls the hotline now, no_answer goes on."
    )
    by: str = Field(min_length=1, max_length=64, description="Who called back.")
    note: str = Field("", max_length=500)


class ReportIn(BaseModel):
    report: Literal["accepted", "arrived", "outcome"]
    outcome: Literal["all_well", "needs_120", "no_answer", "needs_help", "other", ""] = Field(
        "",
        description="With report=outcome: all_well (resident fine), needs_120 (an ambulance: a 120 "
        "task on the alarm's incident, or a 120 call), no_answer (nobody answers the door), "
        "needs_help (the alarm rule's own incident), other (say what in `note`).",
    )
    note: str = Field("", max_length=500)
    responder_id: str | None = Field(None, max_length=64, description="Only a supervisor names one.")


async def _disclosed(
    request: Request, backend: BackendDep, viewer: IdentityDep, records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    route = request.scope.get("route")
    return await backend.audit.disclose(
        records, viewer, origin_of(request.scope), f"GET {getattr(route, 'path', request.url.path)}"
    )


@router.post(
    "/v1/devices/messages", response_model=PushAccepted, responses=refusals(422, 403)
)
async def push_device_messages(body: PushIn, backend: BackendDep) -> dict[str, Any]:
    """An IoT platform's push: alarms, heartbeats and battery reports of registered devices.
    Every message is checked before any is taken, so a refusal (naming `messages[i].field`)
    leaves nothing half done; answers once the alarms are in the durable log."""
    intake = backend.devices
    for i, m in enumerate(body.messages):
        try:
            intake.check_sender(m.device_id, None)
        except Rejected as e:
            raise Rejected(e.code, f"messages[{i}].{e.field}", e.message) from None
    results: list[dict[str, Any]] = []
    heard: list[Heard] = []
    for i, m in enumerate(body.messages):
        if isinstance(m, PushedAlarm):
            events = await intake.alarm(alarm_command(m.device_id, None, m, "http"))
            alarm_id = next(
                (e.alarm_id for e in events if isinstance(e, ev.DeviceAlarmRaised | ev.DeviceAlarmRepeated)),
                None,
            )
            if alarm_id is None:  # a redelivered message id: the alarm it counted in
                alarm_id = backend.service.state.alarm_by_device.get((m.device_id, m.kind))
            results.append(
                {
                    "index": i,
                    "type": "alarm",
                    "device_id": m.device_id,
                    "alarm_id": alarm_id,
                    "repeat": not any(isinstance(e, ev.DeviceAlarmRaised) for e in events),
                }
            )
        else:
            heard.append(heard_of(m.device_id, m))
            results.append({"index": i, "type": m.type, "device_id": m.device_id})
    await intake.heard(heard)
    return {"accepted": len(results), "results": results}


@router.post("/v1/register", response_model=RegisterImported, responses=refusals(422))
async def import_register(body: RegisterIn, backend: BackendDep, viewer: IdentityDep) -> dict[str, Any]:
    """Import residents, devices and community responders (the register file's shape); what is
    new or changed becomes events in the log."""
    events = await backend.service.execute(body.command(f"api:{viewer.client_id}"))
    return {
        "events": len(events),
        "residents": sum(isinstance(e, ev.ResidentRegistered) for e in events),
        "devices": sum(isinstance(e, ev.DeviceRegistered) for e in events),
        "responders": sum(isinstance(e, ev.CommunityResponderRegistered) for e in events),
    }


@router.get("/v1/register/residents/{resident_id}", response_model=ResidentView,
            responses=refusals(403, 404))
async def get_resident(
    resident_id: str, request: Request, backend: BackendDep, viewer: IdentityDep
) -> dict[str, Any]:
    """A resident's record; the care plan only as the field rules allow (the read is audited)."""
    state = backend.service.state
    if resident_id not in state.homes.residents:
        raise Rejected(404, "resident_id", f"no resident {resident_id}")
    mine = _responder_of(viewer, None)
    if mine is not None and not any(
        t.resident_id == resident_id and t.responder_id == mine for t in state.responder_tasks.values()
    ):
        # a responder reads the homes they were sent to, not the programme's register
        raise Rejected(403, "resident_id", f"responder {mine} has no task at resident {resident_id}'s home")
    [shown] = await _disclosed(request, backend, viewer, [resident_record(state, resident_id)])
    return shown


async def _alarm_views(
    request: Request, backend: BackendDep, viewer: IdentityDep, alarms: list[Any]
) -> list[dict[str, Any]]:
    state = backend.service.state
    residents = await _disclosed(
        request, backend, viewer, [resident_record(state, a.resident_id) for a in alarms]
    )
    return [alarm_view(state, a, r) for a, r in zip(alarms, residents, strict=True)]


@router.get("/v1/alarms", response_model=AlarmList)
async def list_alarms(
    request: Request,
    backend: BackendDep,
    viewer: IdentityDep,
    status: Annotated[Literal["raised", "verifying", "escalated", "resolved"] | None, Query()] = None,
    incident_id: Annotated[
        str | None, Query(max_length=32, description="The alarms of one incident.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Home alarms, newest first, each with its steps and its resident's record."""
    found = [
        a
        for a in reversed(backend.service.state.alarms.values())
        if (status is None or a.status == status) and (incident_id is None or a.incident_id == incident_id)
    ]
    views = await _alarm_views(request, backend, viewer, found[:limit])
    return {"count": len(views), "alarms": views}


def _alarm(backend: BackendDep, alarm_id: str) -> Any:
    alarm = backend.service.state.alarms.get(alarm_id)
    if alarm is None:
        raise Rejected(404, "alarm_id", f"no alarm {alarm_id}")
    return alarm


@router.get("/v1/alarms/{alarm_id}", response_model=AlarmView, responses=refusals(404))
async def get_alarm(
    alarm_id: str, request: Request, backend: BackendDep, viewer: IdentityDep
) -> dict[str, Any]:
    [view] = await _alarm_views(request, backend, viewer, [_alarm(backend, alarm_id)])
    return view


@router.post("/v1/alarms/{alarm_id}/answer", response_model=AlarmView, responses=refusals(404, 409, 422))
async def answer_alarm(
    alarm_id: str, body: AnswerIn, request: Request, backend: BackendDep, viewer: IdentityDep
) -> dict[str, Any]:
    """The outcome of the alarm's current call-back (or welfare check): it decides the next step."""
    await backend.service.execute(AnswerAlarmStep(alarm_id, body.outcome, body.by, body.note))
    [view] = await _alarm_views(request, backend, viewer, [_alarm(backend, alarm_id)])
    return view


def _responder_of(viewer: IdentityDep, named: str | None) -> str | None:
    if Role.COMMUNITY_RESPONDER in viewer.roles and Role.SUPERVISOR not in viewer.roles:
        if viewer.responder_id is None:
            raise Rejected(403, "responder_id", f"key {viewer.key_id} names no responder of the register")
        return viewer.responder_id
    return named


@router.get("/v1/responder-tasks", response_model=ResponderTaskList)
async def list_responder_tasks(
    backend: BackendDep, viewer: IdentityDep, open_only: Annotated[bool, Query(alias="open")] = False
) -> dict[str, Any]:
    """A community responder's own tasks (everyone's, for a supervisor or dispatcher), newest first."""
    state = backend.service.state
    mine = _responder_of(viewer, None)
    tasks = [
        responder_task_view(state, t)
        for t in reversed(state.responder_tasks.values())
        if (mine is None or t.responder_id == mine) and (not open_only or t.outcome is None)
    ]
    return {"count": len(tasks), "tasks": tasks}


@router.post(
    "/v1/responder-tasks/{task_id}/report", response_model=ResponderTaskView,
    responses=refusals(403, 404, 409, 422),
)
async def report_responder_task(
    task_id: str, body: ReportIn, backend: BackendDep, viewer: IdentityDep
) -> dict[str, Any]:
    """Accepted, arrived, or the outcome: it reaches the alarm's incident; an outcome of a welfare
    check the alarm waits for decides its next step."""
    state = backend.service.state
    task = state.responder_tasks.get(task_id)
    if task is None:
        raise Rejected(404, "task_id", f"no responder task {task_id}")
    responder = _responder_of(viewer, body.responder_id) or task.responder_id
    await backend.service.execute(
        ReportResponderTask(task_id, responder, body.report, body.outcome, body.note)
    )
    return responder_task_view(state, state.responder_tasks[task_id])


@router.get("/v1/devices/maintenance", response_model=MaintenanceList)
async def list_maintenance(
    backend: BackendDep, open_only: Annotated[bool, Query(alias="open")] = True
) -> dict[str, Any]:
    """Devices needing a visit (silent past their heartbeat, or on low battery), oldest first."""
    state = backend.service.state
    tasks = [maintenance_view(state, t) for t in state.maintenance.values() if t.open or not open_only]
    return {"count": len(tasks), "tasks": tasks}


@router.get("/v1/map/homes", response_model=HomesLayer)
async def map_homes(backend: BackendDep) -> dict[str, Any]:
    """The map's homes layer: residents' homes and the alarms in hand (no care plan)."""
    return homes_layer(backend.service.state)


@router.get("/responder", include_in_schema=False)
async def responder_page() -> FileResponse:
    """The community responders' page (web/static/responder.html): the key in its URL fragment
    decides whose tasks it shows, as the console's does."""
    return FileResponse(STATIC / "responder.html")
