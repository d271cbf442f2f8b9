"""The fleet over HTTP: units, live positions (single, batch, device websocket), recommendation
and assignment. Positions go to telemetry (Redis GEO and a bounded stream), never to the log;
what follows from an assignment or a status (routes, green waves, hospitals) is the workflows'."""

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from coordination.coordinator import Coordinator, Sent
from dispatch.background import end_in_handler
from dispatch.decide import ChangeUnitStatus, RegisterUnit, Rejected
from dispatch.recommend import Need
from dispatch.routes import UnitRoute
from dispatch.telemetry import GEO_MAX_LAT, Position, is_stale
from dispatch.units import Unit, UnitStatus
from web.access import Denied, key_still_valid, permit_message
from web.api_keys import Role
from web.bootstrap import Backend
from web.deps import BackendDep, CoordinatorDep, IdentityDep, ServiceDep
from web.live import KEY_CHECK_S
from web.schemas import ViewRoute, refusals
from web.schemas_units import (
    FleetPlaces,
    PositionsAccepted,
    Recommendation,
    RoutesByUnit,
    UnitList,
    UnitsSent,
    UnitView,
)
from web.views import unit_view

router = APIRouter(route_class=ViewRoute)
AgencyCode = Literal["110", "119", "120", "122"]
MAX_BATCH = 10_000


class PositionIn(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-GEO_MAX_LAT, le=GEO_MAX_LAT,
                       description="Within ±85.05112878°, the geo index's limit.")
    at: AwareDatetime | None = Field(None, description="When the fix was taken; defaults to now.")
    heading: float | None = Field(None, ge=0, lt=360)
    speed_kmh: float | None = Field(None, ge=0, le=400)


class UnitPositionIn(PositionIn):
    unit_id: str = Field(max_length=64)


class PositionBatchIn(BaseModel):
    positions: list[UnitPositionIn] = Field(max_length=MAX_BATCH)


class UnitIn(BaseModel):
    unit_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    agency: AgencyCode
    kind: str = Field(min_length=1, max_length=64)
    call_sign: str = Field(min_length=1, max_length=100)
    station_id: str = Field(max_length=64)
    crew: int = Field(ge=1, le=50)
    capabilities: list[str] = Field(default_factory=list, max_length=50)


class UnitStatusIn(BaseModel):
    status: str
    reason: str = Field("", max_length=500)
    by: str = Field("dispatcher", max_length=64)
    hospital_id: str | None = Field(None, max_length=64,
                                    description="Transporting: the hospital, if not the recommended one.")


class AssignIn(BaseModel):
    units: list[str] | None = Field(
        None, description="Unit ids to send; omit to confirm the recommendation as it stands.")
    reason: str = Field("", max_length=500, description="Why, when not the recommended units.")
    by: str = Field("dispatcher", max_length=64)


def silent_too_long(unit: Unit, position: Position | None, now: datetime, stale_after_s: float) -> bool:
    """Stale: no fix for too long, unless the unit is parked on scene, where silence is normal."""
    return unit.status != UnitStatus.ON_SCENE and is_stale(position, now, stale_after_s)


def route_view(r: UnitRoute) -> dict[str, Any]:
    p = r.plan
    return {"incident_id": r.incident_id, "purpose": r.purpose.value, "hospital_id": r.hospital_id,
            "destination": list(r.destination), "given_at": r.given_at.isoformat(), "reason": r.reason,
            "eta_s": round(p.eta_s, 1), "eta_green_s": round(p.eta_green_s, 1),
            "length_m": round(p.length_m, 1), "coords": [[round(x, 6), round(y, 6)] for x, y in p.coords],
            "signals": [s.__dict__ for s in p.signals]}


@router.get("/v1/units", response_model=UnitList)
async def list_units(
    backend: BackendDep,
    agency: Annotated[AgencyCode | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[list[UnitStatus] | None, Query()] = None,
    near: Annotated[str | None, Query(pattern=r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$",
                                      description="lon,lat")] = None,
    radius_m: Annotated[float, Query(gt=0, le=100_000)] = 5000,
) -> dict[str, Any]:
    state = backend.service.state
    units = [u for u in state.units.values()
             if (agency is None or u.agency == agency) and (kind is None or u.kind == kind)
             and (not status or u.status in status)]
    distance: dict[str, float] = {}
    if near is not None:
        lon, lat = (float(x) for x in near.split(","))
        if not (-180 <= lon <= 180 and -GEO_MAX_LAT <= lat <= GEO_MAX_LAT):
            raise Rejected(422, "near", f"{near} is not a place: lon within ±180, lat within ±{GEO_MAX_LAT}")
        distance = dict(await backend.positions.near(lon, lat, radius_m))
        units = sorted((u for u in units if u.unit_id in distance), key=lambda u: distance[u.unit_id])
    latest = await backend.positions.latest([u.unit_id for u in units])
    now = backend.service.clock.now()
    out = []
    for u in units:
        view = unit_view(u, latest.get(u.unit_id),
                         silent_too_long(u, latest.get(u.unit_id), now, backend.settings.stale_after_s))
        if u.unit_id in distance:
            view["distance_m"] = round(distance[u.unit_id], 1)
        out.append(view)
    return {"count": len(out), "units": out}


@router.get("/v1/fleet", response_model=FleetPlaces)
async def fleet_places(backend: BackendDep) -> dict[str, Any]:
    """Stations and hospitals, for the map and for units that have not reported a position."""
    fleet = backend.fleet
    return {"stations": [{"station_id": s.station_id, "agency": s.agency, "name": s.name,
                          "lon": s.lon, "lat": s.lat} for s in fleet.stations.values()],
            "hospitals": [{"hospital_id": h.hospital_id, "name": h.name, "lon": h.lon, "lat": h.lat,
                           "takes": sorted(h.takes)} for h in fleet.hospitals.values()]}


@router.get("/v1/routes", response_model=RoutesByUnit)
async def current_routes(service: ServiceDep) -> dict[str, Any]:
    """The route each moving unit is following (as the log says), for the map."""
    await service.catch_up()
    return {uid: route_view(r) for uid, r in service.state.routes.items()}


@router.get("/v1/units/{unit_id}", response_model=UnitView, responses=refusals(404))
async def get_unit(unit_id: str, backend: BackendDep) -> dict[str, Any]:
    service = backend.service
    await service.catch_up()
    unit = service.state.units.get(unit_id)
    if unit is None:
        raise Rejected(404, "unit_id", f"no unit {unit_id}")
    pos = (await backend.positions.latest([unit_id])).get(unit_id)
    stale = silent_too_long(unit, pos, service.clock.now(), backend.settings.stale_after_s)
    view = unit_view(unit, pos, stale)
    if unit_id in service.state.routes:
        view["route"] = route_view(service.state.routes[unit_id])
    return view


@router.post("/v1/units", status_code=201, response_model=UnitView, responses=refusals(409))
async def register_unit(body: UnitIn, service: ServiceDep) -> dict[str, Any]:
    await service.execute(RegisterUnit(body.unit_id, body.agency, body.kind, body.call_sign,
                                       body.station_id, body.crew, tuple(body.capabilities)))
    return unit_view(service.state.units[body.unit_id], None, True)


@router.post("/v1/units/{unit_id}/status", response_model=UnitView, responses=refusals(404, 409))
async def change_unit_status(unit_id: str, body: UnitStatusIn, backend: BackendDep) -> dict[str, Any]:
    """A crew's button: en route, on scene, transporting (to `hospital_id`, or the recommended
    hospital), at hospital, returning, available, out of service."""
    if body.hospital_id is not None and body.hospital_id not in backend.fleet.hospitals:
        raise Rejected(422, "hospital_id", f"no hospital {body.hospital_id}; known: "
                       f"{', '.join(sorted(backend.fleet.hospitals))}")
    service = backend.service
    await service.execute(ChangeUnitStatus(unit_id, body.status, body.by, body.reason, body.hospital_id))
    view = unit_view(service.state.units[unit_id], None, False)
    if unit_id in service.state.routes:
        view["route"] = route_view(service.state.routes[unit_id])
    return view


@router.post("/v1/units/{unit_id}/release", response_model=UnitView, responses=refusals(404, 409))
async def release_unit(unit_id: str, body: UnitStatusIn, backend: BackendDep) -> dict[str, Any]:
    """Free a unit from its incident: it turns back (returning) and can be sent again."""
    return await change_unit_status(unit_id, UnitStatusIn(status="returning", reason=body.reason,
                                                          by=body.by), backend)


def _positions(backend: Backend, items: list[UnitPositionIn]) -> list[Position]:
    now = backend.service.clock.now()
    units = backend.service.state.units
    for i, p in enumerate(items):
        if p.unit_id not in units:
            raise Rejected(422, f"positions[{i}].unit_id", f"no unit {p.unit_id}")
    return [Position(p.unit_id, p.lon, p.lat, p.at or now, p.heading, p.speed_kmh) for p in items]


@router.post("/v1/units/{unit_id}/position", response_model=PositionsAccepted,
             responses=refusals(404))
async def post_position(unit_id: str, body: PositionIn, backend: BackendDep) -> dict[str, Any]:
    if unit_id not in backend.service.state.units:
        raise Rejected(404, "unit_id", f"no unit {unit_id}")
    fixes = _positions(backend, [UnitPositionIn(unit_id=unit_id, **body.model_dump())])
    await backend.ingest(fixes)
    return {"accepted": 1}


@router.post("/v1/positions", response_model=PositionsAccepted)
async def post_positions(body: PositionBatchIn, backend: BackendDep) -> dict[str, Any]:
    """Many units at once, as a vehicle gateway sends them; all stored, or none."""
    fixes = _positions(backend, body.positions)
    await backend.ingest(fixes)
    return {"accepted": len(body.positions)}


@router.websocket("/v1/units/positions/ws")
async def position_ingress(ws: WebSocket, backend: BackendDep) -> None:
    """Devices stream fixes: each message one position or a list; each answered with a count
    or an error naming the field, and a bad message never closes the stream. A revoked key's
    stream is closed (4401) within KEY_CHECK_S, busy or idle."""
    await ws.accept()

    async def close_when_revoked() -> None:
        while await key_still_valid(ws, backend.keys):
            await asyncio.sleep(KEY_CHECK_S)
        await ws.close(code=4401, reason="API key revoked")

    watch = asyncio.create_task(close_when_revoked())
    try:
        while True:
            text = await ws.receive_text()
            try:
                raw = json.loads(text)
                batch = PositionBatchIn(positions=raw if isinstance(raw, list) else [raw])
                permit_message(ws, [p.unit_id for p in batch.positions])
                fixes = _positions(backend, batch.positions)
                await backend.ingest(fixes)
                await ws.send_json({"accepted": len(batch.positions)})
            except ValidationError as e:
                err = e.errors()[0]
                await ws.send_json({"error": err["msg"], "field": ".".join(map(str, err["loc"]))})
            except (Rejected, Denied) as e:
                await ws.send_json({"error": e.message, "field": e.field})
            except json.JSONDecodeError as e:
                await ws.send_json({"error": f"not JSON: {e}", "field": "body"})
    except WebSocketDisconnect:
        return
    except RuntimeError:  # closed by the watch above while a message was being answered
        if not watch.done():
            raise
    finally:
        await end_in_handler(watch, "a device stream's key watch")


def _need_view(n: Need) -> dict[str, Any]:
    return {"agency": n.agency, "kind": n.kind,
            "candidates": [{**c.__dict__, "eta_s": round(c.eta_s, 1)} for c in n.candidates]}


@router.get("/v1/incidents/{incident_id}/recommendation", response_model=Recommendation,
            responses=refusals(404, 409, said={409: "The incident has no coordinates to route to yet."}))
async def get_recommendation(incident_id: str, coordinator: CoordinatorDep) -> dict[str, Any]:
    await coordinator.service.catch_up()
    needs = await coordinator.recommendation(incident_id)
    hospital = coordinator.recommender.hospital_for_incident(incident_id)
    return {"incident_id": incident_id, "needs": [_need_view(n) for n in needs],
            "hospital": hospital.view() if hospital else None,
            "computed_at": coordinator.service.clock.now().isoformat()}


@router.post("/v1/incidents/{incident_id}/assign", response_model=UnitsSent,
             responses=refusals(403, 404, 409, said={
                 403: "A unit of another agency, sent without a supervisor, the whistle or mutual aid."}))
async def assign(incident_id: str, body: AssignIn, coordinator: CoordinatorDep,
                 key: IdentityDep) -> dict[str, Any]:
    """Confirm the recommendation, or send other units with a reason; each gets its route. A
    dispatcher sends their own agency's units; a supervisor any agency's."""
    await coordinator.service.catch_up()
    authority: Literal["dispatcher", "supervisor"] = "supervisor" if Role.SUPERVISOR in key.roles \
        else "dispatcher"
    sent = await coordinator.send(incident_id, body.units, body.by, key.agency, body.reason, authority)
    return sent_view(coordinator, sent)


def sent_view(coordinator: Coordinator, sent: Sent) -> dict[str, Any]:
    """The units sent, with the route each was given (and its green wave, when whistled)."""
    state = coordinator.service.state
    routes = {uid: route_view(state.routes[uid]) for uid in sent.unit_ids if uid in state.routes}
    return {"incident_id": sent.incident_id, "assigned": list(sent.unit_ids), "routes": routes}
