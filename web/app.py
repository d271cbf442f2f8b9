"""The FastAPI application: the routers, middleware and error answers around one Backend."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import redis.exceptions as redis
import xstatic.pkg.leaflet as xleaflet
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from dispatch.clock import Clock, SystemClock
from dispatch.event_log import LogRewound, NotReplicated
from dispatch.rejection import Rejected
from routing.network import RoadNetwork
from web.access import Denied, authorise
from web.audit import AuditChanges
from web.audit import router as audit_router
from web.body_limit import BodyLimit
from web.bootstrap import Backend
from web.eido_api import router as eido_router
from web.feeds import router as feeds_router
from web.homes_api import router as homes_router
from web.incidents_api import router as incidents_router
from web.map_api import STATIC
from web.map_api import router as map_router
from web.openapi import DocumentedApp
from web.posts_api import router as posts_router
from web.road_restrictions import router as road_restrictions_router
from web.settings import Settings
from web.units_api import router as units_router
from web.webhooks import router as webhooks_router
from web.whistle_api import router as whistle_router


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

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = redis_url or settings.redis_url
        if url is None:
            raise RuntimeError("no Redis: set REDIS_URL, or start with `jointdispatch serve`")
        net = network if network is not None else load_network(settings)
        backend = await Backend.start(settings, net, clock or SystemClock(), url)
        app.state.backend = backend
        try:
            yield
        finally:
            await backend.stop()

    # Every route and websocket passes `authorise`: the access table in web/access.py decides.
    app = DocumentedApp(title="Joint dispatch coordinator", version="0.1.0", lifespan=lifespan,
                  description="One intake for the 110, 119 and 120 hotlines; joint incidents.",
                  dependencies=[Depends(authorise)])
    app.add_middleware(AuditChanges)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       per_path={"/v1/positions": settings.max_batch_body_bytes})
    for router in (incidents_router, units_router, whistle_router, road_restrictions_router, feeds_router,
                   webhooks_router, audit_router, map_router, homes_router, eido_router, posts_router):
        app.include_router(router)
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

    @app.exception_handler(redis.ConnectionError)
    @app.exception_handler(redis.TimeoutError)
    @app.exception_handler(redis.ReadOnlyError)
    async def _log_unreachable(request: Request, exc: Exception) -> JSONResponse:
        # The log is down (a restart, a failover): say so, and when to try again. Nothing was
        # acknowledged, so a retry with the same Idempotency-Key is safe.
        return JSONResponse(status_code=503, headers={"Retry-After": "1"}, content={
            "error": f"the event log (Redis) cannot be reached: {exc}; nothing was recorded, retry",
            "field": None})

    @app.exception_handler(NotReplicated)
    async def _not_replicated(request: Request, exc: NotReplicated) -> JSONResponse:
        outcome = ("it may be in the log or lost in a failover" if exc.appended
                   else "nothing was recorded")
        return JSONResponse(status_code=503, headers={"Retry-After": "2"}, content={
            "error": f"not acknowledged: {exc}; {outcome}. Retry with the same Idempotency-Key: "
                     "the retry gets the first answer if it was recorded", "field": None})

    @app.exception_handler(LogRewound)
    async def _rewound(request: Request, exc: LogRewound) -> JSONResponse:
        return JSONResponse(status_code=503, headers={"Retry-After": "5"}, content={
            "error": f"this node is restarting from the log after a failover ({exc}); another "
                     "node answers meanwhile", "field": None})

    return app


def load_network(settings: Settings) -> RoadNetwork:
    """The road network the server routes on: an imported OSM cache, or the demo city."""
    if settings.osm_cache is not None:
        from routing.cache import load_cached

        return load_cached(settings.osm_cache)
    from routing.demo_city import build_demo_city

    return build_demo_city(seed=settings.city_seed, scale=settings.city_scale)
