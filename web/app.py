"""The FastAPI application: joint intake API, incident queries, the live websocket and the map page."""

import asyncio
import contextlib
import gc
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import redis.asyncio as aioredis
import xstatic.pkg.leaflet as xleaflet
from fastapi import Depends, FastAPI, Header, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from dispatch.clock import Clock, SystemClock
from dispatch.decide import (
    ChangeIncidentStatus,
    ChangeTaskStatus,
    MergeIncidents,
    ReceiveCall,
    Rejected,
    Rules,
    SplitCall,
)
from dispatch.fleet import Fleet
from dispatch.merging import MergeRules
from dispatch.plans import ResponsePlans
from dispatch.roster import RosterRules
from dispatch.service import DispatchService
from dispatch.state import IncidentStatus
from dispatch.store import EventStore
from dispatch.telemetry import PositionStore
from greenwave.http_gateway import HttpSignalGateway
from routing.network import RoadNetwork
from web.access import Denied, authorise, identify
from web.api_keys import ApiKey, KeyRing
from web.audit import AuditChanges, AuditLog, origin_of
from web.audit import router as audit_router
from web.body_limit import BodyLimit
from web.demo_drive import DemoDrive
from web.feeds import FeedIndex
from web.feeds import router as feeds_router
from web.live import LiveHub
from web.rate_limits import RateLimits
from web.road_restrictions import RoadRestrictions
from web.road_restrictions import router as road_restrictions_router
from web.road_router import RoadRouter
from web.settings import Settings
from web.signal_priority import SignalPriority, signal_places
from web.units_api import Fleetwork
from web.units_api import router as units_router
from web.views import call_view, incident_view
from web.webhooks import WebhookDeliveries
from web.webhooks import router as webhooks_router
from web.whistle_api import escalation_clock
from web.whistle_api import router as whistle_router

STATIC = Path(__file__).with_name("static")


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
    details: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(None, max_length=128)


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


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def create_app(
    settings: Settings | None = None,
    network: RoadNetwork | None = None,
    clock: Clock | None = None,
    redis_url: str | None = None,
) -> FastAPI:
    settings = settings or Settings()
    plans = ResponsePlans.load(settings.plans_file)
    rules = Rules(plans=plans, merge=MergeRules(settings.merge_radius_m, settings.merge_window_min),
                  roster=RosterRules.load(settings.roster_file), ack_deadline_s=settings.ack_deadline_s)
    fleet = Fleet.load(settings.fleet_file)
    clock = clock or SystemClock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = redis_url or settings.redis_url
        if url is None:
            raise RuntimeError("no Redis: set REDIS_URL, or start with `jointdispatch serve`")
        client = aioredis.Redis.from_url(url)
        service = DispatchService(EventStore(client, settings.namespace), rules, clock)
        app.state.settings = settings
        app.state.keys = KeyRing(client, settings.keys_namespace or settings.namespace)
        app.state.rate_limits = RateLimits(client, settings.namespace, settings.rate_limit)
        app.state.audit = AuditLog(client, settings.namespace, clock)
        app.state.feed = FeedIndex(plans)
        service.subscribe(app.state.feed.on_event)  # before start: the replay builds the feed
        app.state.webhooks = WebhookDeliveries(client, settings.namespace, app.state.feed,
                                               app.state.audit, settings.webhook_backoff_s,
                                               settings.webhook_timeout_s)
        net = network if network is not None else load_network(settings)
        road = await asyncio.to_thread(RoadRouter, net, settings.snap_max_m)
        await asyncio.to_thread(net.contains, 0.0, 0.0)  # builds the served area now, not on a call
        # before start: replaying the log puts standing road closures back into the router
        app.state.road_restrictions = RoadRestrictions(service, road)
        await service.start()
        app.state.service = service
        app.state.hub = LiveHub(service, plans)
        app.state.network = net
        app.state.roads_json = None
        app.state.fleetwork = Fleetwork(service, PositionStore(client, settings.namespace), road,
                                        fleet, settings.stale_after_s)
        await app.state.fleetwork.register_fleet()
        app.state.road_restrictions.reroute = app.state.fleetwork.reroute_where
        app.state.signal_priority = (
            SignalPriority(service, HttpSignalGateway(settings.signal_controller_url), signal_places(net),
                           settings.corridor_settings())
            if settings.signal_controller_url
            else SignalPriority.simulated(service, net, settings.corridor_settings()))
        app.state.fleetwork.followers.append(app.state.signal_priority)
        app.state.hub.fix_listeners.append(app.state.signal_priority.on_fix)
        # The road network is millions of long-lived objects; left to the cyclic collector they
        # cost half-second pauses under load. Freeze what start-up built out of its sight.
        gc.collect()
        gc.freeze()
        tasks = [asyncio.create_task(escalation_clock(service)),
                 asyncio.create_task(app.state.hub.follow_positions(
                     client, app.state.fleetwork.positions.channel)),
                 asyncio.create_task(app.state.webhooks.run(lambda: service.state.version))]
        if settings.drives_demo_fleet:
            tasks.append(asyncio.create_task(
                DemoDrive.on(app.state.fleetwork, net, settings.demo_pace).run()))
        try:
            yield
        finally:
            app.state.webhooks.closing()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await app.state.webhooks.stop()
            await service.stop()
            await client.aclose()

    # Every route and websocket passes `authorise`: the access table in web/access.py decides.
    app = FastAPI(title="Joint dispatch coordinator", version="0.1.0", lifespan=lifespan,
                  description="One intake for the 110, 119 and 120 hotlines; joint incidents.",
                  dependencies=[Depends(authorise)])
    app.add_middleware(AuditChanges)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       per_path={"/v1/positions": settings.max_batch_body_bytes})
    app.include_router(units_router)
    app.include_router(whistle_router)
    app.include_router(road_restrictions_router)
    app.include_router(feeds_router)
    app.include_router(webhooks_router)
    app.include_router(audit_router)
    app.mount("/static/leaflet", StaticFiles(directory=xleaflet.BASE_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_name(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        return JSONResponse(status_code=422, content={
            "error": f"{first['field']}: {first['message']}", "field": first["field"],
            "errors": errors})

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied) -> JSONResponse:
        return exc.response()

    @app.exception_handler(Rejected)
    async def _rejected(request: Request, exc: Rejected) -> JSONResponse:
        return JSONResponse(status_code=exc.code, content={"error": exc.message, "field": exc.field})

    def service_of(request: Request) -> DispatchService:
        return request.app.state.service  # type: ignore[no-any-return]

    async def shown(request: Request, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Calls as the caller's key may see them (field rules), their sensitive reads audited."""
        audit: AuditLog = request.app.state.audit
        route = request.scope.get("route")
        return await audit.disclose(calls, request.state.identity, origin_of(request.scope),
                                    f"GET {getattr(route, 'path', request.url.path)}")

    @app.get("/v1/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        """The key's client, agency and roles, and the rate it is held to."""
        key: ApiKey = request.state.identity
        return {**key.public(), "rate_limit": str(request.app.state.rate_limits.limit_of(key))}

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        service = service_of(request)
        await service.store.redis.ping()
        return {"status": "ok", "log_version": service.state.version}

    @app.post("/v1/calls", status_code=201)
    async def post_call(
        body: CallIn, request: Request, response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    ) -> dict[str, Any]:
        """Take one call from any hotline; answers once the call is in the durable log."""
        service = service_of(request)
        net: RoadNetwork = request.app.state.network
        loc = body.location
        if loc.lon is not None and loc.lat is not None and not net.contains(loc.lon, loc.lat):
            w, s, e, n = net.bounds()
            raise Rejected(422, "location", f"({loc.lon}, {loc.lat}) is outside the served area "
                           f"(lon {w:.3f}..{e:.3f}, lat {s:.3f}..{n:.3f})")
        if body.kind not in plans:
            raise Rejected(422, "kind", f"unknown kind {body.kind!r}; known: {', '.join(plans.kinds)}")
        key = idempotency_key or body.idempotency_key
        command = ReceiveCall(
            hotline=body.hotline, received_at=body.received_at or clock.now(), kind=body.kind,
            text=body.text, caller_number=body.caller_number, lon=loc.lon, lat=loc.lat,
            address=loc.address, idempotency_key=key, details=body.details,
        )
        events = await service.execute(command)
        state = service.state
        call_id = events[0].call_id if events else state.idempotency[key]  # type: ignore[attr-defined,index]
        if not events:
            response.headers["Idempotent-Replayed"] = "true"
        call = state.calls[call_id]
        return {"call_id": call.call_id, "incident_id": call.incident_id, "merged": call.merged,
                "reason": call.reason, "repeat": call.repeat}

    @app.get("/v1/calls/{call_id}")
    async def get_call(call_id: str, request: Request) -> dict[str, Any]:
        state = service_of(request).state
        if call_id not in state.calls:
            raise Rejected(404, "call_id", f"no call {call_id}")
        return (await shown(request, [call_view(state.calls[call_id])]))[0]

    @app.get("/v1/incidents")
    async def list_incidents(
        request: Request,
        status: Annotated[list[IncidentStatus] | None, Query()] = None,
        agency: Annotated[Literal["110", "119", "120", "122"] | None, Query()] = None,
        since: Annotated[datetime | None, Query(description="first reported at or after")] = None,
        until: Annotated[datetime | None, Query(description="first reported before")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> dict[str, Any]:
        service = service_of(request)
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
                "incidents": [incident_view(i, state, plans) for i in found[:limit]]}

    @app.get("/v1/incidents/{incident_id}")
    async def get_incident(incident_id: str, request: Request) -> dict[str, Any]:
        service = service_of(request)
        await service.catch_up()
        inc = service.state.incidents.get(incident_id)
        if inc is None:
            raise Rejected(404, "incident_id", f"no incident {incident_id}")
        view = incident_view(inc, service.state, plans, detail=True)
        view["calls"] = await shown(request, view["calls"])
        return view

    @app.post("/v1/incidents/{incident_id}/merge")
    async def merge_incidents(incident_id: str, body: MergeIn, request: Request) -> dict[str, Any]:
        """Fold `source_id` into this incident: its calls and tasks move here."""
        service = service_of(request)
        await service.execute(MergeIncidents(incident_id, body.source_id, body.reason, body.by))
        view = incident_view(service.state.incidents[incident_id], service.state, plans, detail=True)
        view["calls"] = await shown(request, view["calls"])
        return view

    @app.post("/v1/calls/{call_id}/split")
    async def split_call(call_id: str, body: SplitIn, request: Request) -> dict[str, Any]:
        """Take a wrongly merged call out of its incident into a new one."""
        service = service_of(request)
        await service.execute(SplitCall(call_id, body.reason, body.by))
        call = service.state.calls[call_id]
        return {"call_id": call_id, "incident_id": call.incident_id, "reason": call.reason}

    @app.post("/v1/incidents/{incident_id}/status")
    async def change_status(incident_id: str, body: StatusIn, request: Request) -> dict[str, Any]:
        service = service_of(request)
        await service.execute(ChangeIncidentStatus(incident_id, body.status, body.by, body.reason))
        if body.status == "closed":  # junctions held for its units go back to their plans
            for corridor in list(service.state.corridors.values()):
                if corridor.incident_id == incident_id:
                    await request.app.state.signal_priority.release(corridor.unit_id, "incident closed")
        return incident_view(service.state.incidents[incident_id], service.state, plans)

    @app.post("/v1/incidents/{incident_id}/tasks/{agency}/status")
    async def change_task_status(
        incident_id: str, agency: str, body: StatusIn, request: Request
    ) -> dict[str, Any]:
        service = service_of(request)
        await service.execute(ChangeTaskStatus(incident_id, agency, body.status, body.by))
        return incident_view(service.state.incidents[incident_id], service.state, plans)

    @app.get("/v1/plans")
    async def get_plans() -> dict[str, Any]:
        return {k: {"agencies": list(p.agencies), "whistle": p.whistle, "severity": p.severity,
                    "label": {"en": p.label_en, "zh": p.label_zh}} for k, p in plans.plans.items()}

    @app.get("/v1/map/roads")
    async def map_roads(request: Request) -> Response:
        """The served road network as drawn on the map (computed once, then cached)."""
        if request.app.state.roads_json is None:
            net: RoadNetwork = request.app.state.network
            request.app.state.roads_json = json.dumps(
                {"bounds": net.bounds(), "roads": net.road_lines(), "signals": net.signals()},
                separators=(",", ":")).encode()
        return Response(request.app.state.roads_json, media_type="application/json")

    @app.websocket("/v1/live")
    async def live(ws: WebSocket, since: int | None = None) -> None:
        viewer: ApiKey = ws.state.identity
        audit: AuditLog = ws.app.state.audit

        async def as_viewer_sees(msg: dict[str, Any]) -> dict[str, Any]:
            event = msg.get("event")
            if msg.get("type") != "event" or not event or event.get("type") != "call_received":
                return msg
            [call] = await audit.disclose([event], viewer, origin_of(ws.scope), "WS /v1/live")
            return {**msg, "event": call}

        async def key_still_valid() -> bool:
            try:
                await identify(ws, ws.app.state.keys)
            except Denied:
                return False
            return True

        await ws.app.state.hub.serve(ws, since, redact=as_viewer_sees, still_allowed=key_still_valid)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app


def load_network(settings: Settings) -> RoadNetwork:
    """The road network the server routes on: an imported OSM cache, or the demo city."""
    if settings.osm_cache is not None:
        from routing.cache import load_cached

        return load_cached(settings.osm_cache)
    from routing.demo_city import build_demo_city

    return build_demo_city(seed=settings.city_seed, scale=settings.city_scale)
