"""EIDO over HTTP: one incident as an EIDO (`GET /v1/incidents/{id}/eido`, field rules applied),
a neighbouring centre's EIDO taken in as a call (`POST /v1/calls/eido`), and NENA-STA-024
subscribe/notify (`WS /v1/eido/ws`, web/eido_notify.py)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, WebSocket
from pydantic import ValidationError

from dispatch.rejection import Rejected
from web.access import SCREENS
from web.api_keys import Role
from web.deps import BackendDep, IdentityDep
from web.eido import eido, read_call, unit_fixes
from web.eido_notify import Notifier
from web.feeds import eido_centre
from web.incidents_api import CallIn, post_call, shown
from web.schemas import ViewRoute, refusals
from web.schemas_feeds import EidoDocument
from web.schemas_incidents import CallAccepted
from web.views import incident_view

router = APIRouter(route_class=ViewRoute)


@router.get("/v1/incidents/{incident_id}/eido", response_model=EidoDocument, responses=refusals(404))
async def get_eido(incident_id: str, request: Request, backend: BackendDep,
                   viewer: IdentityDep) -> dict[str, Any]:
    """The incident as a NENA-STA-021 EIDO, now: its calls as this key may read them, units with
    their last fix, ETA and destination. An agency's system (feed reader) gets the incidents its
    feed holds; others are 404 to it."""
    service = backend.service
    await service.catch_up()
    state = service.state
    inc = state.incidents.get(incident_id)
    screen = any(r in SCREENS for r in viewer.roles)
    if inc is None or not (screen or backend.feed.entitled(viewer, incident_id)):
        raise Rejected(404, "incident_id", f"no incident {incident_id}")
    view = incident_view(inc, state, backend.plans, detail=True)
    view["calls"] = await shown(request, backend, viewer, view["calls"])
    fixes = unit_fixes(state, await backend.positions.latest([u["unit_id"] for u in view["units"]]))
    return eido(view, backend.feed.links.of(incident_id), eido_centre(backend),
                service.clock.now().isoformat(), fixes)


@router.post("/v1/calls/eido", status_code=201, response_model=CallAccepted,
             responses=refusals(409, 422, said={
                 422: "The EIDO holds no call, or a field of it cannot be read (the field is named)."}))
async def post_eido_call(
    body: dict[str, Any], request: Request, backend: BackendDep, viewer: IdentityDep, response: Response,
    hotline: Annotated[Literal["110", "119", "120", "122"] | None, Query(description=(
        "The hotline taking the call; a call taker's own by default, else the EIDO's queue."))] = None,
    kind: Annotated[str | None, Query(max_length=64, description=(
        "The kind of incident, when the EIDO names none of ours (NENA's sample call transfer names none)."))]
    = None,
) -> dict[str, Any]:
    """Take the (latest) call of an EIDO another centre sent: its location (PIDF-LO point or civic
    address), callback number, notes and comment become the call; the EIDO's call id is the
    idempotency key, so the same EIDO sent twice is one call."""
    read = read_call(body, backend.plans.kinds, backend.settings.cap_sender)
    taker = getattr(request.state, "acting_as", None) == Role.CALL_TAKER
    line = hotline or (viewer.agency if taker else read.hotline)
    if line is None:
        raise Rejected(422, "hotline", "the EIDO's queue is not one of our hotlines: give ?hotline=")
    what = kind or read.kind
    if what is None:
        raise Rejected(422, "kind", "the EIDO names no kind of incident we know: give ?kind=")
    location: dict[str, Any] = {"address": read.address}
    if read.lon is not None:
        location |= {"lon": read.lon, "lat": read.lat}
    fields = {"hotline": line, "kind": what, "location": location, "text": read.text, "details": read.details,
              "idempotency_key": read.idempotency_key}
    if read.received_at:
        fields["received_at"] = read.received_at
    if read.caller_number:
        fields["caller_number"] = read.caller_number
    try:
        call = CallIn.model_validate(fields)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise Rejected(422, where, f"the EIDO's {where} cannot be taken: {first['msg']}") from None
    taken: dict[str, Any] = await post_call(call, backend, response, None)
    return taken


@router.websocket("/v1/eido/ws")
async def eido_subscriptions(ws: WebSocket, backend: BackendDep, viewer: IdentityDep) -> None:
    """NENA-STA-024 subscribe/notify: EIDOs of new incidents, or of one, as the feed holds them."""
    await Notifier(ws, backend, viewer).serve()
