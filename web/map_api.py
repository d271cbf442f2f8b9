"""The shared screen's endpoints: the page, the road layer, the live websocket; and the two a
client asks first (who am I, is the server up)."""

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.responses import FileResponse, Response

from dispatch.units import UNIT_TRANSITIONS
from web.access import key_still_valid
from web.audit import origin_of
from web.deps import BackendDep, IdentityDep
from web.presence import CENTRE_ROLES
from web.schemas import ViewRoute
from web.schemas_map import Centre, Health, RoadLayer, WhoAmI

STATIC = Path(__file__).with_name("static")
router = APIRouter(route_class=ViewRoute)


@router.get("/v1/whoami", response_model=WhoAmI)
async def whoami(key: IdentityDep, backend: BackendDep) -> dict[str, Any]:
    """The key's client, agency and roles, and the rate it is held to."""
    return {**key.public(), "rate_limit": str(backend.rate_limits.limit_of(key))}


@router.get("/v1/centre", response_model=Centre)
async def centre(backend: BackendDep) -> dict[str, Any]:
    """The centre's time zone and the server's clock: a call's receipt time and every elapsed
    timer on the console are the server's, whatever the browser's own clock says."""
    settings = backend.settings
    now = backend.service.clock.now().astimezone(settings.zone)
    offset = now.utcoffset()
    return {"time_zone": settings.time_zone, "now": now.isoformat(),
            "utc_offset_min": int(offset.total_seconds() // 60) if offset is not None else 0,
            "stale_after_s": settings.stale_after_s, "ack_deadline_s": settings.ack_deadline_s,
            "check_in_after_s": settings.check_in_minutes * 60,
            # the board offers a unit only the statuses the domain accepts next
            "unit_transitions": {s.value: sorted(n.value for n in nexts)
                                 for s, nexts in UNIT_TRANSITIONS.items()}}


@router.get("/healthz", response_model=Health)
async def healthz(backend: BackendDep) -> dict[str, Any]:
    await backend.service.store.ping()
    return {"status": "ok", "log_version": backend.service.state.version}


# The layer is sent as the bytes drawn once (megabytes for a city), so the model only documents it.
@router.get("/v1/map/roads", responses={200: {"model": RoadLayer}})
async def map_roads(backend: BackendDep) -> Response:
    """The served road network as drawn on the map (computed once, then cached)."""
    if backend.roads_json is None:
        net = backend.network
        backend.roads_json = json.dumps(
            {"bounds": net.bounds(), "roads": net.road_lines(), "signals": net.signals()},
            separators=(",", ":")).encode()
    return Response(backend.roads_json, media_type="application/json")


@router.websocket("/v1/live")
async def live(ws: WebSocket, backend: BackendDep, viewer: IdentityDep, since: int | None = None) -> None:
    async def as_viewer_sees(msg: dict[str, Any]) -> dict[str, Any]:
        event = msg.get("event")
        if msg.get("type") != "event" or not event or event.get("type") != "call_received":
            return msg
        [call] = await backend.audit.disclose([event], viewer, origin_of(ws.scope), "WS /v1/live")
        return {**msg, "event": call}

    staffs = viewer.agency if CENTRE_ROLES & {str(r) for r in viewer.roles} else None
    await backend.hub.serve(ws, since, redact=as_viewer_sees,
                            still_allowed=lambda: key_still_valid(ws, backend.keys), centre=staffs)


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html")
