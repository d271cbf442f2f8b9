"""The incident feed for agency systems: every change to an incident, in log order, as JSON,
GeoJSON or CAP 1.2, pulled by cursor or followed as a server-sent event stream.

The cursor is the log's sequence number, so it means the same thing in every process and after
every restart: a page holds the changes after the cursor, up to the log position the server had
folded when it answered, and the next page starts exactly there. The index is built by folding
the log (a listener that hears every event, replay included), so nothing is kept that the log
cannot rebuild; each entry is the incident as it stood at that position. One event can touch
two incidents (a merge): a page never splits one sequence number."""

import asyncio
import bisect
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from dispatch import events as ev
from dispatch.plans import ResponsePlans
from dispatch.rejection import Rejected
from dispatch.state import ACTIVE_STATUSES, Call, DispatchState, Incident, IncidentStatus
from web.access import ALL_AGENCIES, Denied, identify
from web.api_keys import ApiKey
from web.audit import AuditLog, origin_of
from web.cap import atom_feed
from web.deps import BackendDep, IdentityDep, ServiceDep
from web.eido import EIDO_PAGE_MEDIA_TYPE, Centre, IncidentLinks, Link, eido
from web.live import _incident_ids
from web.schemas import ViewRoute, schema_ref
from web.schemas_feeds import EidoFeed, FeedPage, GeoFeed, feed_stream_event
from web.timeline_text import describe
from web.views import call_view, incident_view

router = APIRouter(route_class=ViewRoute)
STREAM_BATCH = 200
STREAM_WAKE_S = 1.0  # also how soon a revoked key's open stream is ended, busy or idle


@dataclass(frozen=True)
class CallsAt:
    """An incident's calls as at one entry: the first `count` of a list its later entries share
    for as long as calls only arrive, so a hot incident's entries cost one call each, not all
    its calls each (800 calls about one fire were 260 MB when each entry held a copy)."""

    shared: list[dict[str, Any]]
    count: int

    def views(self) -> list[dict[str, Any]]:
        return self.shared[:self.count]


@dataclass
class _CallViews:
    """The list an incident's entries share, and what each call's view was drawn from."""

    views: list[dict[str, Any]] = field(default_factory=list)
    drawn_from: list[tuple[Any, ...]] = field(default_factory=list)


def _call_key(call: Call) -> tuple[Any, ...]:
    """What of a call can change after it is received (a merge, a split, a repeat)."""
    return (call.call_id, call.incident_id, call.merged, call.reason, call.repeat)


@dataclass(frozen=True)
class FeedEntry:
    seq: int
    at: datetime
    event: str
    head: dict[str, Any]  # the incident as at `seq`, its calls aside, before any field rule
    agencies: frozenset[str]  # agencies entitled to it then: a task in it, or took one of its calls
    msg_type: Literal["Alert", "Update", "Cancel"]  # as a viewer entitled from the start sees it
    first_seq: int
    first_at: datetime
    links: tuple[Link, ...] = ()  # its merges and splits so far, for the EIDO
    changed: dict[str, Any] = field(default_factory=dict)  # what this entry changed (what_changed)
    green_wave: dict[str, Any] = field(default_factory=dict)  # the incident's green waves, summed
    closing: bool = False  # the entry at which the incident closed (or was merged away)
    after_close: bool = False  # a change after that (units going home, waves given back)
    # the incident's entries so far, this one included: who saw what first is read from it
    history: list["FeedEntry"] = field(default_factory=list, compare=False, repr=False)
    calls: CallsAt = field(default_factory=lambda: CallsAt([], 0), compare=False, repr=False)

    @property
    def incident_id(self) -> str:
        return str(self.head["incident_id"])

    @property
    def incident(self) -> dict[str, Any]:
        """The incident with its calls, as at `seq` (drawn when asked: a copy of the list)."""
        return {**self.head, "calls": self.calls.views()}


class FeedIndex:
    """Feed entries in log order, kept current by folding the log."""

    def __init__(self, plans: ResponsePlans) -> None:
        self.plans = plans
        self.entries: list[FeedEntry] = []
        self.seqs: list[int] = []
        self.first: dict[str, tuple[int, datetime]] = {}
        self.links = IncidentLinks()
        self.agencies_of: dict[str, frozenset[str]] = {}  # incident id -> entitled agencies now
        self.latest: dict[str, FeedEntry] = {}  # incident id -> its last entry
        # (incident id, agency) -> the first position the agency was entitled to the incident at
        self.first_for: dict[tuple[str, str], int] = {}
        self.history: dict[str, list[FeedEntry]] = {}
        self._calls: dict[str, _CallViews] = {}
        self._changed = asyncio.Event()

    def _calls_at(self, inc: Incident, state: DispatchState) -> CallsAt:
        """The incident's calls now, sharing the list of its earlier entries when they only grew."""
        keys = [_call_key(state.calls[c]) for c in inc.call_ids]
        shared = self._calls.get(inc.incident_id)
        if shared is None or shared.drawn_from != keys[:len(shared.drawn_from)]:
            shared = self._calls[inc.incident_id] = _CallViews()  # a call changed: a new list
        for key, call_id in zip(keys[len(shared.drawn_from):], inc.call_ids[len(shared.drawn_from):],
                                strict=True):
            shared.views.append(call_view(state.calls[call_id]))
            shared.drawn_from.append(key)
        if len(keys) < len(shared.drawn_from):  # a call left (a split): the shorter list is new
            shared = self._calls[inc.incident_id] = _CallViews(shared.views[:len(keys)],
                                                                shared.drawn_from[:len(keys)])
        return CallsAt(shared.views, len(keys))

    def on_event(self, seq: int, e: ev.Event, state: DispatchState) -> None:
        self.links.on_event(e)
        for incident_id in _incident_ids(e, state):
            inc = state.incidents.get(incident_id)
            if inc is None:
                continue
            first = self.first.setdefault(incident_id, (seq, e.at))
            view = incident_view(inc, state, self.plans)
            calls = self._calls_at(inc, state)
            agencies = frozenset(inc.tasks) | {state.calls[c].hotline for c in inc.call_ids}
            self.agencies_of[incident_id] = agencies
            for agency in agencies:
                self.first_for.setdefault((incident_id, agency), seq)
            kind: Literal["Alert", "Update", "Cancel"] = (
                "Alert" if first[0] == seq else "Cancel" if inc.status == IncidentStatus.MERGED else "Update")
            history = self.history.setdefault(incident_id, [])
            previous = history[-1] if history else None
            was_active = previous is None or previous.head["status"] in ACTIVE_STATUSES
            entry = FeedEntry(seq, e.at, e.type, view, agencies, kind, *first,
                              links=self.links.of(incident_id),
                              changed=what_changed(previous.head if previous else None, view,
                                                   _told(inc, seq, e),
                                                   previous.calls if previous else None, calls),
                              green_wave=green_wave_state(view), closing=not inc.active and was_active,
                              after_close=not inc.active and not was_active, history=history,
                              calls=calls)
            history.append(entry)
            self.entries.append(entry)
            self.latest[incident_id] = entry
            self.seqs.append(seq)
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, timeout_s: float) -> None:
        """Return when the index grows, or after `timeout_s`.

        asyncio.wait rather than wait_for or asyncio.timeout: on Python 3.11 both of those can
        swallow a cancellation that lands as the timeout fires, and a worker that misses its
        cancel never ends, so the server never finishes shutting down."""
        waiter = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({waiter}, timeout=timeout_s)
        finally:
            waiter.cancel()

    def after(self, cursor: int, viewer: ApiKey, limit: int, upto: int) -> tuple[list[FeedEntry], int]:
        """Entries after `cursor` the viewer is entitled to, and the cursor to continue from."""
        every_agency = any(r in ALL_AGENCIES for r in viewer.roles)
        out: list[FeedEntry] = []
        i = bisect.bisect_right(self.seqs, cursor)
        reached = cursor
        while i < len(self.entries) and self.entries[i].seq <= upto:
            entry = self.entries[i]
            if len(out) >= limit and entry.seq != reached:
                return out, reached
            if every_agency or viewer.agency in entry.agencies:
                out.append(entry)
            reached = entry.seq
            i += 1
        return out, max(reached, upto)

    def entitled_at(self, viewer: ApiKey, incident_id: str) -> int | None:
        """The first position at which `viewer`'s feed shows the incident (None: not yet)."""
        if any(r in ALL_AGENCIES for r in viewer.roles):
            first = self.first.get(incident_id)
            return first[0] if first else None
        return self.first_for.get((incident_id, viewer.agency))

    def entitled(self, viewer: ApiKey, incident_id: str) -> bool:
        """Whether the feed shows this incident to `viewer` now (as of its latest entry)."""
        return any(r in ALL_AGENCIES for r in viewer.roles) or \
            viewer.agency in self.agencies_of.get(incident_id, frozenset())


def _told(inc: Incident, seq: int, e: ev.Event) -> str:
    """The incident's timeline line for this position, as a dispatcher reads it."""
    told = [t for t in inc.timeline[-3:] if t.seq == seq]
    return describe(told[-1]) if told else e.type.replace("_", " ")


def what_changed(before: dict[str, Any] | None, after: dict[str, Any], summary: str,
                 calls_before: CallsAt | None = None, calls_after: CallsAt | None = None) -> dict[str, Any]:
    """What an entry changed against the incident's previous entry: the fields (a task as
    `tasks.<agency>`), the units and calls that came, went or changed, and the line that says it."""
    old = before or {}
    fields: list[str] = []
    calls_differ = False
    if calls_after is not None:
        before_views = calls_before.views() if calls_before else []
        after_views = calls_after.views()
        calls_differ = before_views != after_views
        known = {c["call_id"] for c in before_views}
        new_calls = [c["call_id"] for c in after_views if c["call_id"] not in known]
    else:
        known = {c["call_id"] for c in old.get("calls", [])}
        new_calls = [c["call_id"] for c in after.get("calls", []) if c["call_id"] not in known]
    for key in after:
        if key == "tasks":
            agencies = set(old.get("tasks", {})) | set(after["tasks"])
            fields += [f"tasks.{a}" for a in sorted(agencies)
                       if old.get("tasks", {}).get(a) != after["tasks"].get(a)]
        elif old.get(key) != after[key]:
            fields.append(key)
    if calls_differ:
        fields.append("calls")  # last, where the incident's calls are in its view
    units_before = {u["unit_id"]: u for u in old.get("units", [])}
    units_after = {u["unit_id"]: u for u in after.get("units", [])}
    units = sorted(u for u in units_before.keys() | units_after.keys()
                   if units_before.get(u) != units_after.get(u))
    return {"summary": summary, "fields": fields, "units": units, "calls": new_calls}


def green_wave_state(view: dict[str, Any]) -> dict[str, Any]:
    """The incident's green waves in one: live for any unit, degraded anywhere, seconds saved."""
    waves = [(u["unit_id"], u["green_wave"]) for u in view.get("units", []) if u.get("green_wave")]
    return {"active": any(w["active"] for _, w in waves), "degraded": any(w["degraded"] for _, w in waves),
            "units": [uid for uid, w in waves if w["active"]],
            "saved_s": round(sum(w["saved_s"] for _, w in waves), 1),
            "uncovered": sorted({s for _, w in waves for s in w["uncovered"]})}


def seen_by(entry: FeedEntry, viewer: ApiKey) -> dict[str, Any]:
    """The entry as this viewer's feed tells it: an agency that becomes entitled mid-incident
    gets an Alert first, and its Updates reference only what it received."""
    every = any(r in ALL_AGENCIES for r in viewer.roles)
    seen = [h for h in entry.history if h.seq <= entry.seq and (every or viewer.agency in h.agencies)]
    first = seen[0] if seen else entry
    previous = seen[-2] if len(seen) >= 2 else None
    msg_type = "Alert" if first is entry else "Cancel" if entry.head["status"] == "merged" else "Update"
    return {"msg_type": msg_type, "first_seq": first.seq, "first_at": first.at.isoformat(),
            "previous_seq": previous.seq if previous else None,
            "previous_at": previous.at.isoformat() if previous else None}


def item(entry: FeedEntry, viewer: ApiKey | None = None) -> dict[str, Any]:
    told = seen_by(entry, viewer) if viewer is not None else {
        "msg_type": entry.msg_type, "first_seq": entry.first_seq, "first_at": entry.first_at.isoformat(),
        "previous_seq": None, "previous_at": None}
    return {"cursor": str(entry.seq), "seq": entry.seq, "at": entry.at.isoformat(), "event": entry.event,
            **told, "closing": entry.closing, "after_close": entry.after_close, "changed": entry.changed,
            "green_wave": entry.green_wave, "incident": entry.incident}


async def disclosed_items(entries: list[FeedEntry], viewer: ApiKey, audit: AuditLog, origin: str,
                          action: str) -> list[dict[str, Any]]:
    """Feed items with each call passed through the field rules for `viewer` (and audited)."""
    items = [item(e, viewer) for e in entries]
    calls = [c for it in items for c in it["incident"]["calls"]]
    shown = iter(await audit.disclose(calls, viewer, origin, action))
    for it in items:
        it["incident"] = {**it["incident"], "calls": [next(shown) for _ in it["incident"]["calls"]]}
    return items


def geojson(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    features = []
    for it in items:
        loc = it["incident"]["location"]
        point = ({"type": "Point", "coordinates": [loc["lon"], loc["lat"]]}
                 if loc.get("lon") is not None and loc.get("lat") is not None else None)
        features.append({"type": "Feature", "id": f"{it['incident']['incident_id']}@{it['seq']}",
                         "geometry": point, "properties": it})
    return features


def parse_cursor(raw: str | None, version: int) -> int:
    if raw is None or raw == "":
        return 0
    if not (raw.isascii() and raw.isdigit()):  # "¹".isdigit() is true, and int() refuses it
        raise Rejected(422, "cursor", f"cursor must be a log position (a whole number), not {raw!r}")
    cursor = int(raw)
    if cursor > version:
        raise Rejected(422, "cursor", f"cursor {cursor} is ahead of the log, which is at {version}")
    return cursor


# One answer, three media types (`format=`): each is declared, since FastAPI files one model.
@router.get("/v1/feeds/incidents", responses={200: {"content": {
    "application/json": {"schema": schema_ref(FeedPage)},
    "application/geo+json": {"schema": schema_ref(GeoFeed)},
    "application/atom+xml": {"schema": {
        "type": "string", "contentMediaType": "application/atom+xml",
        "description": "An Atom feed, one entry per item, each holding its OASIS CAP 1.2 alert."}},
    EIDO_PAGE_MEDIA_TYPE: {"schema": schema_ref(EidoFeed)}}}})
async def incident_feed(
    request: Request, backend: BackendDep, viewer: IdentityDep,
    cursor: Annotated[str | None, Query(max_length=20, description="next_cursor of the last page")] = None,
    format: Annotated[Literal["json", "geojson", "cap", "eido"], Query()] = "json",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Changes to the incidents your agency is entitled to, oldest first, after `cursor`."""
    service = backend.service
    await service.catch_up()  # a cursor another process handed out is never ahead of this one
    version = service.state.version
    start = parse_cursor(cursor, version)
    entries, next_cursor = backend.feed.after(start, viewer, limit, version)
    items = await disclosed_items(entries, viewer, backend.audit, origin_of(request.scope),
                                  "GET /v1/feeds/incidents")
    more = next_cursor < version
    next_url = str(request.url.include_query_params(cursor=str(next_cursor)))
    headers = {"X-Next-Cursor": str(next_cursor), "Link": f'<{next_url}>; rel="next"'}
    if format == "cap":
        every = any(r in ALL_AGENCIES for r in viewer.roles)
        body = atom_feed(items, backend.settings.cap_sender, None if every else viewer.agency,
                         str(request.url), next_url, service.clock.now(), exercise=backend.settings.exercise)
        return Response(body, media_type="application/atom+xml", headers=headers)
    page: dict[str, Any] = {"next_cursor": str(next_cursor), "more": more, "log_version": version}
    if format == "eido":
        centre = eido_centre(backend)
        eidos = [{"cursor": it["cursor"], "seq": it["seq"], "at": it["at"], "event": it["event"],
                  "eido": eido(it["incident"], e.links, centre, it["at"])}
                 for it, e in zip(items, entries, strict=True)]
        return _json({"items": eidos, **page}, EIDO_PAGE_MEDIA_TYPE, headers)
    if format == "geojson":
        payload = {"type": "FeatureCollection", "features": geojson(items), **page}
        return _json(payload, "application/geo+json", headers)
    return _json({"items": items, **page}, "application/json", headers)


def eido_centre(backend: Any) -> Centre:
    """This coordinator as the EIDOs name it: its CAP sender as the domain, and its hospitals."""
    return Centre(backend.settings.cap_sender, {h.hospital_id: {"name": h.name, "lon": h.lon, "lat": h.lat}
                                                for h in backend.fleet.hospitals.values()})


def _json(payload: Any, media_type: str, headers: dict[str, str]) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                    media_type=media_type, headers=headers)


async def stream_start(
    service: ServiceDep,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> int:
    """Where a stream starts: checked before the first byte, so a bad cursor is a clean 422."""
    await service.catch_up()
    return parse_cursor(last_event_id or cursor, service.state.version)


@router.get("/v1/feeds/incidents/stream", response_class=EventSourceResponse, responses={200: {
    "content": {"text/event-stream": {"x-itemSchema": feed_stream_event()}}}})
async def incident_stream(
    request: Request, backend: BackendDep, viewer: IdentityDep,
    start: Annotated[int, Depends(stream_start)],
) -> AsyncIterator[ServerSentEvent]:
    """The same items as the feed, pushed as they happen; each event's id is its cursor, so a
    reconnecting EventSource (Last-Event-ID) or `?cursor=` resumes with nothing lost."""
    service = backend.service
    origin = origin_of(request.scope)
    position = start
    checked = asyncio.get_running_loop().time()
    while True:
        entries, reached = backend.feed.after(position, viewer, STREAM_BATCH, service.state.version)
        items = await disclosed_items(entries, viewer, backend.audit, origin,
                                      "GET /v1/feeds/incidents/stream")
        for i, it in enumerate(items):
            # One log position can hold two items (a merge): only the last carries the id, so a
            # client cut off between them resumes before both rather than after the first.
            last_of_seq = i + 1 == len(items) or items[i + 1]["seq"] != it["seq"]
            yield ServerSentEvent(data=it, id=it["cursor"] if last_of_seq else None, event="incident")
        position = reached
        if reached >= service.state.version:
            await backend.feed.changed(STREAM_WAKE_S)
            if await request.is_disconnected():
                return
        if asyncio.get_running_loop().time() - checked >= STREAM_WAKE_S:
            checked = asyncio.get_running_loop().time()
            try:
                await identify(request, backend.keys)
            except Denied:  # the key was revoked meanwhile: the stream ends here
                return
