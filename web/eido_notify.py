"""EIDO subscribe/notify over a websocket, as NENA-STA-024 describes it (its JSON messages:
subscribe, subscribeResponse, event, eventResponse, unsubscribe, unsubscribeResponse, terminate,
terminateResponse, response).

Two kinds of subscription (`requestSubType`): `new`, told of each incident the key's agency
becomes entitled to, and `single`, told of every change to one incident (`incidentId`). A new
subscription is sent an initial notification at once: every active incident (`new`; an empty
notification when there is none) or the incident as it stands (`single`). `maxRate` holds
notifications at least that many seconds apart (changes meanwhile are sent together, a `single`
one as its latest state); `minRate` sends one when that many seconds passed without (the
incident as it stands, or an empty one). A subscription ends by `unsubscribe`, by expiry (a
`terminate`), or with the key (the socket is closed, code 4401).

Nothing is lost across a reconnect: a subscription lives in Redis (its kind, its key and the log
position of the last notification the subscriber acknowledged with an `eventResponse` 200), so a
`subscribe` naming its `subscriptionId` on a new socket, in any process, picks up after that
position; what was sent and not acknowledged is sent again. Positions are feed cursors (the log's
sequence numbers), the same in every process. EIDOs pass the field rules (and the audit) as the
feed's items do."""

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import WebSocket, WebSocketDisconnect

from dispatch.background import end_in_handler
from web.access import key_still_valid
from web.api_keys import ApiKey
from web.audit import origin_of
from web.eido import eido, unit_fixes
from web.feeds import FeedEntry, disclosed_items, eido_centre

if TYPE_CHECKING:
    from web.bootstrap import Backend

SUBPROTOCOL = "emergency-ent"  # chosen when the subscriber offers it
ACCEPTS = ("application/emergency.eido+json", "application/json", "EIDO", "EIDO+json")
EXPIRES_S = (60, 3600, 86400)  # least, default, most
MAX_MESSAGE = 64 * 1024
TICK_S = 0.5  # how often subscriptions are looked over; also how soon a revoked key is noticed
BATCH = 200
ACTION = "WS /v1/eido/ws"


@dataclass
class Subscription:
    """What is kept of a subscription in Redis (all of it: a reconnect rebuilds from this)."""

    subscription_id: str
    key_id: str
    sub_type: str  # "new" or "single"
    incident_id: str | None
    acked: int  # the log position the subscriber has acknowledged up to
    min_rate: int | None
    max_rate: int | None
    expires_at: float  # unix time


@dataclass
class Live:
    """A subscription as this socket serves it."""

    sub: Subscription
    sent: int  # position sent up to (acknowledged or not)
    initial: bool  # owes the initial notification
    last_sent: float = 0.0  # monotonic time of the last notification
    unacked: dict[str, int] = field(default_factory=dict)  # transaction id -> position


class BadRequest(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


class SubscriptionStore:
    def __init__(self, backend: "Backend") -> None:
        self.redis = backend.redis
        self.prefix = f"{backend.settings.namespace}:eido-subscription:"

    async def save(self, sub: Subscription) -> None:
        ttl_ms = max(1, int((sub.expires_at - time.time()) * 1000))
        await self.redis.set(self.prefix + sub.subscription_id, json.dumps(asdict(sub)), px=ttl_ms)

    async def load(self, subscription_id: str) -> Subscription | None:
        raw = await self.redis.get(self.prefix + subscription_id)
        return Subscription(**json.loads(raw)) if raw else None

    async def drop(self, subscription_id: str) -> None:
        await self.redis.delete(self.prefix + subscription_id)


def _int(body: dict[str, Any], name: str, least: int = 0) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise BadRequest(400, f"{name} must be a whole number of seconds, at least {least}")
    return value


class Notifier:
    """One subscriber's socket: its subscriptions, what it owes each, one writer."""

    def __init__(self, ws: WebSocket, backend: "Backend", viewer: ApiKey) -> None:
        self.ws, self.backend, self.viewer = ws, backend, viewer
        self.store = SubscriptionStore(backend)
        self.live: dict[str, Live] = {}
        self.outbox: list[dict[str, Any]] = []
        self.wake = asyncio.Event()
        self.origin = origin_of(ws.scope)

    async def serve(self) -> None:
        offered = self.ws.scope.get("subprotocols") or []
        await self.ws.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        sender = asyncio.create_task(self._send_loop())
        try:
            while True:
                text = await self.ws.receive_text()
                if len(text) > MAX_MESSAGE:
                    await self.ws.close(code=1009, reason=f"a message is at most {MAX_MESSAGE} bytes")
                    return
                try:
                    message = json.loads(text)
                except ValueError:
                    await self.ws.close(code=1007, reason="messages are JSON objects (NENA-STA-024)")
                    return
                await self._on_message(message)
                self.wake.set()
        except WebSocketDisconnect:
            pass
        finally:
            await end_in_handler(sender, "an EIDO subscription's sender")

    # -- what the subscriber says ------------------------------------------------------------

    async def _on_message(self, message: Any) -> None:
        kind = next(iter(message), None) if isinstance(message, dict) and len(message) == 1 else None
        body = message.get(kind) if kind else None
        if not isinstance(body, dict):
            request_id = ""
            if isinstance(message, dict):
                inner = next(iter(message.values()), None)
                request_id = str(inner.get("requestId", "")) if isinstance(inner, dict) else ""
            self.outbox.append({"response": {"requestId": request_id, "statusCode": 501,
                                             "statusText": "Not implemented"}})
            return
        if kind == "subscribe":
            await self._subscribe(body)
        elif kind == "unsubscribe":
            await self._unsubscribe(body)
        elif kind == "eventResponse":
            await self._acknowledged(body)
        elif kind == "terminateResponse":
            pass  # the subscription is gone already; nothing is owed
        else:
            self.outbox.append({"response": {"requestId": str(body.get("requestId", "")), "statusCode": 501,
                                             "statusText": "Not implemented"}})

    async def _subscribe(self, body: dict[str, Any]) -> None:
        request_id = body.get("requestId")
        answer: dict[str, Any] = {"requestId": str(request_id) if request_id is not None else ""}
        try:
            if not isinstance(request_id, str) or not request_id:
                raise BadRequest(400, "requestId is required (a string)")
            live = await self._subscription(body)
        except BadRequest as e:
            self.outbox.append({"subscribeResponse": {**answer, "statusCode": e.code, "statusText": e.text}})
            return
        sub = live.sub
        self.live[sub.subscription_id] = live
        await self.store.save(sub)
        answer |= {"subscriptionId": sub.subscription_id, "expires": int(sub.expires_at - time.time()),
                   "statusCode": 200, "statusText": "OK"}
        for name, value in (("minRate", sub.min_rate), ("maxRate", sub.max_rate)):
            if value is not None:
                answer[name] = value
        self.outbox.append({"subscribeResponse": answer})

    async def _subscription(self, body: dict[str, Any]) -> Live:
        min_rate, max_rate = _int(body, "minRate", 1), _int(body, "maxRate", 0)
        expires = _int(body, "expires", 1)
        least, default, most = EXPIRES_S
        expires_at = time.time() + min(most, max(least, expires if expires is not None else default))
        accepts = body.get("requestAccepts")
        if accepts is not None and not (isinstance(accepts, str) and any(
                a.strip().split(";")[0] in ACCEPTS for a in accepts.split(","))):
            raise BadRequest(406, f"EIDOs are sent as {ACCEPTS[0]}; requestAccepts was {accepts!r}")
        if body.get("qualFilter") is not None:
            raise BadRequest(400, "qualFilter is not offered: subscribe to new incidents or to one")
        known = body.get("subscriptionId")
        if known is not None:  # a renewal, or a resume on a new socket
            if not isinstance(known, str):
                raise BadRequest(400, "subscriptionId must be a string")
            live = self.live.get(known)
            sub = live.sub if live is not None else await self.store.load(known)
            if sub is None:
                raise BadRequest(481, f"no subscription {known} (unsubscribed, expired or never made)")
            if sub.key_id != self.viewer.key_id:
                raise BadRequest(403, f"subscription {known} belongs to another key")
            sub.expires_at = expires_at
            sub.min_rate = min_rate if min_rate is not None else sub.min_rate
            sub.max_rate = max_rate if max_rate is not None else sub.max_rate
            return live or Live(sub, sent=sub.acked, initial=False)
        if body.get("requestType") != "EIDO":
            raise BadRequest(400, "requestType must be EIDO for a new subscription")
        sub_type = body.get("requestSubType")
        incident_id = body.get("incidentId")
        feed = self.backend.feed
        if sub_type == "single":
            if not isinstance(incident_id, str) or not incident_id:
                raise BadRequest(400, "a single subscription names its incidentId")
            if incident_id not in self.backend.service.state.incidents or \
                    not feed.entitled(self.viewer, incident_id):
                raise BadRequest(404, f"no incident {incident_id}")
        elif sub_type == "new":
            if incident_id is not None:
                raise BadRequest(400, "a subscription to new incidents names no incidentId")
        elif sub_type == "resource":
            raise BadRequest(400, "resource subscriptions are not offered: subscribe to new or single")
        else:
            raise BadRequest(400, "requestSubType must be new or single")
        await self.backend.service.catch_up()
        version = self.backend.service.state.version
        name = f"urn:jointdispatch:{self.backend.settings.cap_sender}:subscription:{uuid.uuid4()}"
        sub = Subscription(name, self.viewer.key_id, sub_type, incident_id, version, min_rate, max_rate,
                           expires_at)
        return Live(sub, sent=version, initial=True)

    async def _unsubscribe(self, body: dict[str, Any]) -> None:
        request_id, known = body.get("requestId"), body.get("subscriptionId")
        answer = {"requestId": str(request_id or ""), "subscriptionId": str(known or "")}
        if not isinstance(request_id, str) or not isinstance(known, str):
            self.outbox.append({"unsubscribeResponse": {
                **answer, "statusCode": 400, "statusText": "requestId and subscriptionId are required"}})
            return
        sub = self.live[known].sub if known in self.live else await self.store.load(known)
        if sub is None or sub.key_id != self.viewer.key_id:
            self.outbox.append({"unsubscribeResponse": {**answer, "statusCode": 481,
                                                        "statusText": f"no subscription {known}"}})
            return
        self.live.pop(known, None)
        await self.store.drop(known)
        self.outbox.append({"unsubscribeResponse": {**answer, "statusCode": 200, "statusText": "OK"}})

    async def _acknowledged(self, body: dict[str, Any]) -> None:
        transaction = body.get("transactionId")
        if body.get("statusCode") != 200 or not isinstance(transaction, str):
            return  # a refused notification is sent again after a reconnect: nothing moves on
        for live in self.live.values():
            position = live.unacked.pop(transaction, None)
            if position is not None and position > live.sub.acked:
                # acknowledging one notification acknowledges every earlier one of the subscription
                live.sub.acked = position
                live.unacked = {t: p for t, p in live.unacked.items() if p > position}
                await self.store.save(live.sub)

    # -- what the notifier sends ---------------------------------------------------------------

    async def _send_loop(self) -> None:
        try:
            while True:
                while self.outbox:
                    await self.ws.send_text(json.dumps(self.outbox.pop(0), ensure_ascii=False))
                for live in list(self.live.values()):
                    await self._serve(live)
                self.wake.clear()
                waiter = asyncio.ensure_future(self.backend.feed.changed(TICK_S))
                woken = asyncio.ensure_future(self.wake.wait())
                try:
                    await asyncio.wait({waiter, woken}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                    woken.cancel()
                if not await key_still_valid(self.ws, self.backend.keys):
                    await self.ws.close(code=4401, reason="API key revoked")
                    return
        except Exception as e:  # a failure here would leave the subscriber waiting on nothing
            with contextlib.suppress(Exception):
                await self.ws.close(code=1013, reason=f"notifications interrupted ({type(e).__name__}); "
                                                      "reconnect and subscribe with your subscriptionId")

    async def _serve(self, live: Live) -> None:
        sub, now = live.sub, time.monotonic()
        if time.time() >= sub.expires_at:
            self.live.pop(sub.subscription_id, None)
            await self.store.drop(sub.subscription_id)
            await self.ws.send_text(json.dumps({"terminate": {
                "requestId": str(uuid.uuid4()), "subscriptionId": sub.subscription_id}}))
            return
        if live.initial:
            live.initial = False
            await self._notify(live, await self._initial(live), live.sent)
            return
        if sub.max_rate and live.last_sent and now - live.last_sent < sub.max_rate:
            return  # too soon: what changes meanwhile goes out together
        version = self.backend.service.state.version
        entries, reached = self.backend.feed.after(live.sent, self.viewer, BATCH, version)
        mine = [e for e in entries if self._concerns(live, e)]
        if mine:
            if sub.sub_type == "single" or sub.max_rate:
                mine = _latest_of_each(mine)
            await self._notify(live, await self._eidos(mine), reached)
        elif sub.min_rate and now - live.last_sent >= sub.min_rate:
            await self._notify(live, await self._current(live), reached)
        else:
            live.sent = reached

    def _concerns(self, live: Live, entry: FeedEntry) -> bool:
        if live.sub.sub_type == "single":
            return entry.incident_id == live.sub.incident_id
        first: int | None = self.backend.feed.entitled_at(self.viewer, entry.incident_id)
        return entry.seq == first  # the first item of it the subscriber's feed holds

    async def _initial(self, live: Live) -> list[dict[str, Any]]:
        if live.sub.sub_type == "single":
            return await self._current(live)
        state, feed = self.backend.service.state, self.backend.feed
        latest = [feed.latest.get(i.incident_id) for i in state.active_incidents()
                  if feed.entitled(self.viewer, i.incident_id)]
        return await self._eidos([e for e in latest if e is not None])

    async def _current(self, live: Live) -> list[dict[str, Any]]:
        """`single`: the incident as it stands; `new`: nothing new, an empty notification."""
        if live.sub.sub_type != "single" or live.sub.incident_id is None:
            return []
        entry = self.backend.feed.latest.get(live.sub.incident_id)
        return await self._eidos([entry]) if entry is not None else []

    async def _eidos(self, entries: list[FeedEntry]) -> list[dict[str, Any]]:
        items = await disclosed_items(entries, self.viewer, self.backend.audit, self.origin, ACTION)
        units = [u["unit_id"] for it in items for u in it["incident"].get("units", [])]
        state = self.backend.service.state
        fixes = unit_fixes(state, await self.backend.positions.latest(units)) if units else {}
        centre = eido_centre(self.backend)
        return [eido(it["incident"], e.links, centre, it["at"], fixes)
                for it, e in zip(items, entries, strict=True)]

    async def _notify(self, live: Live, notification: list[dict[str, Any]], position: int) -> None:
        transaction = str(uuid.uuid4())
        live.unacked[transaction] = position
        live.sent, live.last_sent = position, time.monotonic()
        await self.ws.send_text(json.dumps({"event": {
            "subscriptionId": live.sub.subscription_id, "transactionId": transaction,
            "notification": notification}}, ensure_ascii=False))


def _latest_of_each(entries: list[FeedEntry]) -> list[FeedEntry]:
    """One entry per incident, its last, in the order of those last entries."""
    last = {e.incident_id: e for e in entries}
    return sorted(last.values(), key=lambda e: e.seq)
