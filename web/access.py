"""Who may call what: the one access table (endpoint -> the roles allowed, each with the scope it
acts in) and the dependency that enforces it on every route and websocket.

A route missing from the table is refused to everyone, so a new endpoint is closed until someone
decides who may use it. 401 means "who are you?" (no key, unknown key, revoked key) and carries
`WWW-Authenticate`; 403 means "known, but not allowed" and names the role or agency missing."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi.requests import HTTPConnection
from fastapi.responses import JSONResponse

from web.api_keys import ApiKey, KeyRing, Role
from web.deps import backend

R = Role


@dataclass(frozen=True)
class Scope:
    """What a role may act on at one endpoint.

    any: anything the endpoint reaches; agency: the agency named at `field` must be the key's;
    unit: the unit named at `field` must be the key's own device unit; unit_agency: the unit
    named at `field` must belong to the key's agency. `field` is `path:NAME`, `body:NAME`, or
    `body:LIST[].NAME` for every item of a list, or `query:NAME`."""

    kind: Literal["any", "agency", "unit", "unit_agency"] = "any"
    field: str | None = None


ANY = Scope()


def own_agency(field: str) -> Scope:
    return Scope("agency", field)


def own_unit(field: str) -> Scope:
    return Scope("unit", field)


def unit_of_agency(field: str) -> Scope:
    return Scope("unit_agency", field)


PUBLIC: dict[Role, Scope] = {}  # marker: no key needed (health check, the page's own files)

# People at the joint screens: everyone who watches the shared map. A feed reader is a machine
# of one agency, a vehicle device only posts its own unit's fixes and status.
SCREENS = (R.CALL_TAKER, R.DISPATCHER, R.CONVENER, R.SUPERVISOR, R.TRAINER, R.ADMIN)


def _all(roles: tuple[Role, ...]) -> dict[Role, Scope]:
    return dict.fromkeys(roles, ANY)


UNIT_PATH = "path:unit_id"
ACCESS: dict[str, dict[Role, Scope]] = {
    "GET /": PUBLIC,
    "GET /healthz": PUBLIC,
    "GET /docs": PUBLIC,  # the API's reference page; the document itself says what needs a key
    "GET /responder": PUBLIC,  # the community responders' page; its calls carry the key
    "GET /v1/whoami": _all(tuple(Role)),
    "GET /v1/centre": _all(tuple(Role)),  # a time zone and a clock: nothing any key may not know
    # intake
    "POST /v1/calls": {R.CALL_TAKER: own_agency("body:hotline"), R.SUPERVISOR: ANY},
    "GET /v1/calls/{call_id}": _all((R.CALL_TAKER, R.DISPATCHER, R.SUPERVISOR)),
    "POST /v1/calls/{call_id}/split": _all((R.DISPATCHER, R.SUPERVISOR)),
    # an EIDO another centre sent, taken as a call on the key's own hotline (web/eido_api.py)
    "POST /v1/calls/eido": {R.CALL_TAKER: own_agency("query:hotline"), R.SUPERVISOR: ANY},
    # incidents
    # a feed reader reads incidents through the feed, which holds only its agency's
    "GET /v1/incidents": _all(SCREENS),
    "GET /v1/incidents/{incident_id}": _all(SCREENS),
    # an agency's system reads the EIDO of an incident its feed holds (404 otherwise)
    "GET /v1/incidents/{incident_id}/eido": _all((*SCREENS, R.FEED_READER)),
    "POST /v1/incidents/{incident_id}/merge": _all((R.DISPATCHER, R.SUPERVISOR)),
    "POST /v1/incidents/{incident_id}/status": _all((R.DISPATCHER, R.SUPERVISOR)),
    # a note is written for the key's own agency (web/incidents_api.py takes it from the key)
    "POST /v1/incidents/{incident_id}/notes": _all((R.CALL_TAKER, R.DISPATCHER, R.CONVENER, R.SUPERVISOR)),
    # an agency checks in its own crew on scene (the key's agency when the body names none)
    "POST /v1/incidents/{incident_id}/check-ins": {
        R.DISPATCHER: own_agency("body:agency"), R.CONVENER: own_agency("body:agency"),
        R.SUPERVISOR: ANY},
    "POST /v1/incidents/{incident_id}/tasks/{agency}/status": {
        R.DISPATCHER: own_agency("path:agency"), R.SUPERVISOR: ANY},
    "GET /v1/incidents/{incident_id}/recommendation": _all((R.DISPATCHER, R.CONVENER, R.SUPERVISOR)),
    # a dispatcher sends their own agency's units; dispatch.decide checks each unit's agency
    "POST /v1/incidents/{incident_id}/assign": _all((R.DISPATCHER, R.SUPERVISOR)),
    "POST /v1/incidents/{incident_id}/mutual-aid": _all((R.DISPATCHER, R.SUPERVISOR)),
    "POST /v1/mutual-aid/{request_id}/answer": _all((R.DISPATCHER, R.SUPERVISOR)),
    "GET /v1/plans": _all((*SCREENS, R.FEED_READER)),
    "GET /v1/map/roads": _all(SCREENS),
    "GET /v1/roads/restrictions": _all(SCREENS),
    "POST /v1/roads/restrictions": _all((R.DISPATCHER, R.SUPERVISOR)),
    "POST /v1/roads/restrictions/{restriction_id}/reopen": _all((R.DISPATCHER, R.SUPERVISOR)),
    "WS /v1/live": _all(SCREENS),
    # fleet
    "GET /v1/units": _all(SCREENS),
    "GET /v1/fleet": _all(SCREENS),
    "GET /v1/routes": _all(SCREENS),
    "GET /v1/units/{unit_id}": _all(SCREENS),
    "POST /v1/units": _all((R.SUPERVISOR, R.ADMIN)),
    "POST /v1/units/{unit_id}/status": {
        R.DISPATCHER: unit_of_agency(UNIT_PATH), R.VEHICLE_DEVICE: own_unit(UNIT_PATH),
        R.SUPERVISOR: ANY},
    "POST /v1/units/{unit_id}/release": {R.DISPATCHER: unit_of_agency(UNIT_PATH), R.SUPERVISOR: ANY},
    "POST /v1/units/{unit_id}/position": {
        R.DISPATCHER: unit_of_agency(UNIT_PATH), R.VEHICLE_DEVICE: own_unit(UNIT_PATH),
        R.SUPERVISOR: ANY},
    "POST /v1/positions": {
        R.DISPATCHER: unit_of_agency("body:positions[].unit_id"),
        R.VEHICLE_DEVICE: own_unit("body:positions[].unit_id"), R.SUPERVISOR: ANY},
    # checked again on every message, with the unit ids the message names
    "WS /v1/units/positions/ws": {
        R.DISPATCHER: unit_of_agency("message:unit_id"), R.VEHICLE_DEVICE: own_unit("message:unit_id"),
        R.SUPERVISOR: ANY},
    # whistle and roster
    "POST /v1/incidents/{incident_id}/whistle": {
        R.DISPATCHER: own_agency("body:agency"), R.SUPERVISOR: ANY},
    "POST /v1/whistles/{whistle_id}/ack": {R.CONVENER: own_agency("body:agency"), R.SUPERVISOR: ANY},
    "GET /v1/whistles": _all(SCREENS),
    "GET /v1/whistles/{whistle_id}": _all(SCREENS),
    "GET /v1/roster": _all(SCREENS),
    "GET /v1/roster/{day}": _all(SCREENS),
    "PUT /v1/roster/{day}": _all((R.SUPERVISOR,)),
    # agency systems
    "GET /v1/feeds/incidents": _all((R.FEED_READER, R.SUPERVISOR)),
    "GET /v1/feeds/incidents/stream": _all((R.FEED_READER, R.SUPERVISOR)),
    # NENA-STA-024 subscribe/notify for EIDOs: the feed's incidents, pushed (web/eido_notify.py)
    "WS /v1/eido/ws": _all((R.FEED_READER, R.SUPERVISOR)),
    "POST /v1/webhooks": _all((R.FEED_READER, R.ADMIN)),
    "GET /v1/webhooks": _all((R.FEED_READER, R.ADMIN)),
    "DELETE /v1/webhooks/{webhook_id}": _all((R.FEED_READER, R.ADMIN)),
    "GET /v1/webhooks/{webhook_id}/dead-letters": _all((R.FEED_READER, R.ADMIN)),
    "GET /v1/audit": _all((R.SUPERVISOR, R.ADMIN)),
    # home alarms (web/homes_api.py): a platform pushes devices' messages; the care plan in a
    # resident's record is the field rules' business, not the table's
    "POST /v1/devices/messages": _all((R.DEVICE_PLATFORM, R.SUPERVISOR)),
    "GET /v1/devices/maintenance": _all(SCREENS),
    "POST /v1/register": _all((R.SUPERVISOR, R.ADMIN)),
    "GET /v1/register/residents/{resident_id}": _all((*SCREENS, R.COMMUNITY_RESPONDER)),
    "GET /v1/alarms": _all(SCREENS),
    "GET /v1/map/homes": _all(SCREENS),  # homes and alarms on the map; the care plan never
    "GET /v1/alarms/{alarm_id}": _all(SCREENS),
    "POST /v1/alarms/{alarm_id}/answer": _all((R.CALL_TAKER, R.DISPATCHER, R.SUPERVISOR)),
    # a responder sees and reports only their own tasks (web/homes_api.py, dispatch.home_alarms)
    "GET /v1/responder-tasks": _all((R.COMMUNITY_RESPONDER, R.DISPATCHER, R.SUPERVISOR)),
    "POST /v1/responder-tasks/{task_id}/report": _all((R.COMMUNITY_RESPONDER, R.SUPERVISOR)),
    # staging posts (web/posts_api.py): every screen sees the posts and plans; a supervisor
    # proposes, accepts or rejects a plan
    "GET /v1/posts": _all(SCREENS),
    "GET /v1/posts/plans": _all(SCREENS),
    "POST /v1/posts/plans": _all((R.SUPERVISOR,)),
    "POST /v1/posts/plans/{plan_id}/accept": _all((R.SUPERVISOR,)),
    "POST /v1/posts/plans/{plan_id}/reject": _all((R.SUPERVISOR,)),
    # move-up: a dispatcher moves their own agency's units (dispatch.posts checks the post's agency)
    "GET /v1/posts/move-up": _all((R.DISPATCHER, R.SUPERVISOR)),
    "POST /v1/posts/move-up/confirm": {R.DISPATCHER: unit_of_agency("body:unit_id"), R.SUPERVISOR: ANY},
    # the training map's controls (web/training_map.py: only on the app a replay serves)
    "GET /v1/training": _all(SCREENS),
    "POST /v1/training/pause": _all((R.TRAINER, R.SUPERVISOR)),
    "POST /v1/training/resume": _all((R.TRAINER, R.SUPERVISOR)),
    "POST /v1/training/jump": _all((R.TRAINER, R.SUPERVISOR)),
    "POST /v1/training/speed": _all((R.TRAINER, R.SUPERVISOR)),
}
TRAINING_ONLY = frozenset(e for e in ACCESS if e.startswith(("GET /v1/training", "POST /v1/training")))

# Roles that see every agency's incidents in the feeds; the others see the incidents their
# agency has a task in or took a call for.
ALL_AGENCIES = frozenset({R.SUPERVISOR, R.ADMIN})


class Denied(Exception):
    """401 (no usable key), 403 (a key without the role or agency the endpoint needs), or 429."""

    def __init__(self, status: int, message: str, missing: dict[str, Any], field: str | None = None,
                 reason: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.missing, self.field, self.reason = (
            status, message, missing, field, reason)
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        headers = dict(self.headers)
        if self.status == 401:
            challenge = 'Bearer realm="jointdispatch"'
            if self.reason:
                challenge += f', error="invalid_token", error_description="{self.reason}"'
            headers["WWW-Authenticate"] = challenge
        return JSONResponse(status_code=self.status, headers=headers, content={
            "error": self.message, "field": self.field, "missing": self.missing})


def endpoint_of(conn: HTTPConnection) -> str:
    route = conn.scope.get("route")
    path = getattr(route, "path", conn.url.path)
    method = "WS" if conn.scope["type"] == "websocket" else conn.scope["method"]
    return f"{method} {path}"


def presented_key(conn: HTTPConnection) -> str | None:
    """A key from `Authorization: Bearer`, `X-API-Key`, or, for what a browser opens without
    headers (websocket, EventSource), the `key` query parameter."""
    auth = conn.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    if conn.headers.get("x-api-key"):
        return conn.headers["x-api-key"].strip()
    streaming = conn.scope["type"] == "websocket" or conn.url.path.endswith("/stream")
    return conn.query_params.get("key") if streaming else None


async def identify(conn: HTTPConnection, keys: KeyRing) -> ApiKey:
    plain = presented_key(conn)
    if plain is None:
        raise Denied(401, "an API key is needed: send `Authorization: Bearer <key>`",
                     {"credential": "api key"})
    key = await keys.lookup(plain)
    if key is None:
        raise Denied(401, "unknown API key", {"credential": "a valid api key"}, reason="unknown key")
    if key.revoked:
        raise Denied(401, f"API key {key.key_id} was revoked at {key.revoked_at}",
                     {"credential": "an unrevoked api key"}, reason="revoked key")
    return key


async def key_still_valid(conn: HTTPConnection, keys: KeyRing) -> bool:
    """Asked again and again by an open websocket or stream: a revoked key's connection ends."""
    try:
        await identify(conn, keys)
    except Denied:
        return False
    return True


Subjects = Callable[[str], list[str]]  # a scope's field -> the values this request names
UnitAgency = Callable[[str], str | None]  # unit id -> its agency, None when there is no such unit


def permit(key: ApiKey, endpoint: str, subjects: Subjects, unit_agency: UnitAgency) -> Role | None:
    """The role the key acts in here, or Denied. None for a public endpoint."""
    rules = ACCESS.get(endpoint)
    if rules is None:
        raise Denied(403, f"{endpoint} is not open to any role", {"role": []})
    if not rules:
        return None
    candidates = [r for r in key.roles if r in rules]
    if not candidates:
        needed = sorted(str(r) for r in rules)
        raise Denied(403, f"{endpoint} needs one of the roles {', '.join(needed)}; key {key.key_id} "
                     f"has {', '.join(key.roles)}", {"role": needed})
    refusal: Denied | None = None
    for role in candidates:
        scope = rules[role]
        problem = _outside(scope, key, subjects, unit_agency)
        if problem is None:
            return role
        refusal = refusal or problem
    assert refusal is not None
    raise refusal


def _outside(scope: Scope, key: ApiKey, subjects: Subjects, unit_agency: UnitAgency) -> Denied | None:
    if scope.kind == "any":
        return None
    assert scope.field is not None
    name = scope.field.split(":", 1)[1].replace("[]", "")
    for value in subjects(scope.field):
        if scope.kind == "agency" and value != key.agency:
            return Denied(403, f"key {key.key_id} acts for agency {key.agency} only, not {name} "
                          f"{value}", {"agency": value}, field=name)
        if scope.kind == "unit" and value != key.unit_id:
            return Denied(403, f"key {key.key_id} is the device of unit {key.unit_id}; it may not act "
                          f"for unit {value}", {"unit": value}, field=name)
        if scope.kind == "unit_agency":
            owner = unit_agency(value)
            if owner is not None and owner != key.agency:
                return Denied(403, f"unit {value} belongs to agency {owner}; key {key.key_id} acts "
                              f"for agency {key.agency}", {"agency": owner}, field=name)
    return None


async def request_subjects(conn: HTTPConnection) -> Subjects:
    """Reads a scope's field out of the path or the (already cached) JSON body."""
    body: Any = None
    if conn.scope["type"] == "http" and conn.scope["method"] in ("POST", "PUT", "PATCH"):
        try:
            body = await _json(conn)
        except ValueError:
            body = None

    def subjects(field: str) -> list[str]:
        where, name = field.split(":", 1)
        if where == "path":
            value = conn.path_params.get(name)
            return [str(value)] if value is not None else []
        if where == "body" and isinstance(body, dict):
            return values_at(body, name)
        if where == "query":
            return conn.query_params.getlist(name)
        return []

    return subjects


async def _json(conn: HTTPConnection) -> Any:
    from fastapi import Request

    assert isinstance(conn, Request)
    raw = await conn.body()  # cached by Starlette; the endpoint reads the same bytes
    return json.loads(raw) if raw else None


def values_at(body: dict[str, Any], name: str) -> list[str]:
    """`hotline` -> [body["hotline"]]; `positions[].unit_id` -> every item's unit_id."""
    if "[]." in name:
        items, inner = name.split("[].", 1)
        seq = body.get(items)
        return [str(i[inner]) for i in seq if isinstance(i, dict) and inner in i] \
            if isinstance(seq, list) else []
    value = body.get(name)
    return [str(value)] if isinstance(value, str | int) else []


def _unit_agency(conn: HTTPConnection) -> UnitAgency:
    units = backend(conn).service.state.units

    def agency(unit_id: str) -> str | None:
        unit = units.get(unit_id)
        return unit.agency if unit is not None else None

    return agency


def permit_message(conn: HTTPConnection, unit_ids: list[str]) -> None:
    """The table's check for one message on an open websocket, with the units it names."""
    permit(conn.state.identity, endpoint_of(conn),
           lambda field: unit_ids if field.startswith("message:") else [], _unit_agency(conn))


async def authorise(conn: HTTPConnection) -> None:
    """The app-wide dependency: identify the key, hold it to its rate, check the table.

    The identity is left on `conn.state.identity` for field rules, audit and feeds."""
    endpoint = endpoint_of(conn)
    rules = ACCESS.get(endpoint)
    if rules is not None and not rules:
        conn.state.identity = None
        return
    collaborators = backend(conn)
    key = await identify(conn, collaborators.keys)
    conn.state.identity = key
    await collaborators.rate_limits.hit(key)
    conn.state.acting_as = permit(key, endpoint, await request_subjects(conn), _unit_agency(conn))
