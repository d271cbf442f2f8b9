"""Webhooks: an agency registers a URL and a secret and is sent each feed item it is entitled to.

Delivery runs beside intake, never in it: a worker follows the feed index (itself a fold of the
log), so a call is acknowledged whatever the receivers do. Everything the worker knows is in
Redis (each hook's cursor, pending deliveries with their next attempt, the dead letters), so a
restart resumes where it stopped, and a lease lets only one process deliver at a time.

Each delivery has a stable id (hook, log position, incident): a retry or a redelivery after a
crash carries the same id, so the receiver drops duplicates. The body is signed with
HMAC-SHA256 over `<timestamp>.<body>`; the timestamp is signed too, so an old delivery cannot be
replayed later. Failed attempts are retried with growing delays; after the last one the delivery
goes to the hook's dead-letter list, with the reason in plain words (never the raw connection
error, which can name internal hosts and ports).

One receiver delays only its own deliveries: each hook has its own due list and at most
`PER_HOOK` attempts in flight, an attempt has one deadline for all of it (connect, send, answer;
a receiver dripping a byte every few seconds is cut off there), and of a reply only the status
and the first `REPLY_LIMIT` bytes are read. Targets are checked by web/webhook_targets.py at
registration and before every attempt."""

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import httpx
import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, Path
from pydantic import AnyHttpUrl, BaseModel, Field

from dispatch.background import end, end_all
from dispatch.rejection import Rejected
from web.api_keys import ApiKey, Role
from web.audit import AuditLog
from web.deps import BackendDep, IdentityDep
from web.feeds import FeedIndex, disclosed_items, parse_cursor
from web.schemas import ViewRoute, refusals
from web.schemas_feeds import DeadLetters, WebhookCreated, WebhookList
from web.webhook_targets import TargetRefused, TargetRules

router = APIRouter(route_class=ViewRoute)
MAX_IN_FLIGHT = 32
PER_HOOK = 4  # attempts one hook may have in flight: a slow receiver holds these, never all 32
REPLY_LIMIT = 4096  # bytes of a reply read; only the status counts
LEASE_MS = 10_000


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature_header: str, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does: check the `JD-Signature: t=<ts>,v1=<hex>` header."""
    parts = dict(p.split("=", 1) for p in signature_header.split(",") if "=" in p)
    ts, given = parts.get("t", ""), parts.get("v1", "")
    if not ts.isdigit() or abs(now - int(ts)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), given)


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    agency: str
    url: str
    secret: str
    client_id: str
    created_at: str

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("secret")
        return out

    def viewer(self) -> ApiKey:
        """What the hook may read: what a feed reader of its agency may read."""
        return ApiKey(f"webhook-{self.webhook_id}", f"webhook:{self.webhook_id}", self.agency,
                      (Role.FEED_READER,), self.created_at)


class WebhookIn(BaseModel):
    url: AnyHttpUrl
    secret: str = Field(min_length=16, max_length=256,
                        description="Shared secret for the signature; keep it on the receiver only.")
    cursor: str | None = Field(None, max_length=20,
                               description="Start after this feed cursor; default: from now on.")


class WebhookDeliveries:
    """Registered hooks and the worker that delivers to them."""

    def __init__(self, redis: aioredis.Redis, namespace: str, feed: FeedIndex, audit: AuditLog,
                 backoff_s: list[float], timeout_s: float, targets: TargetRules | None = None) -> None:
        self.redis, self.feed, self.audit = redis, feed, audit
        self.backoff_s, self.timeout_s = backoff_s, timeout_s
        self.targets = targets or TargetRules([])
        self.ns = namespace
        self.hooks_key = f"{namespace}:webhooks"
        self.pending_key = f"{namespace}:webhook:pending"  # delivery id -> delivery
        self.old_due_key = f"{namespace}:webhook:due"  # the one due list of before; emptied on recovery
        self.lease_key = f"{namespace}:webhook:lease"
        self.holder = secrets.token_hex(8)
        self.in_flight: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.busy: dict[str, int] = {}  # hook id -> attempts in flight
        self.stopping = False

    def due_key(self, webhook_id: str) -> str:
        """The hook's deliveries, scored by their next attempt (epoch s)."""
        return f"{self.ns}:webhook:{webhook_id}:due"

    def cursor_key(self, webhook_id: str) -> str:
        return f"{self.ns}:webhook:{webhook_id}:cursor"

    def dead_key(self, webhook_id: str) -> str:
        return f"{self.ns}:webhook:{webhook_id}:dead"

    async def register(self, agency: str, url: str, secret: str, client_id: str, cursor: int,
                       created_at: str) -> Webhook:
        hook = Webhook(f"wh_{secrets.token_hex(6)}", agency, url, secret, client_id, created_at)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.hooks_key, hook.webhook_id, json.dumps(asdict(hook)))
            pipe.set(self.cursor_key(hook.webhook_id), cursor)
            await pipe.execute()
        return hook

    async def hooks(self) -> list[Webhook]:
        rows = await self.redis.hgetall(self.hooks_key)
        return sorted((Webhook(**json.loads(v)) for v in rows.values()), key=lambda h: h.created_at)

    async def remove(self, webhook_id: str) -> None:
        keys = [k.decode() if isinstance(k, bytes) else k for k in await self.redis.hkeys(self.pending_key)]
        owed = [p for p in keys if _hook_of(p) == webhook_id]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.hooks_key, webhook_id)
            pipe.delete(self.due_key(webhook_id))
            if owed:
                pipe.hdel(self.pending_key, *owed)
            await pipe.execute()

    async def dead_letters(self, webhook_id: str) -> list[dict[str, Any]]:
        return [json.loads(r) for r in await self.redis.lrange(self.dead_key(webhook_id), 0, -1)]

    # --- the worker -----------------------------------------------------------------------------

    async def run(self, version: Any, idle_s: float = 1.0) -> None:
        """Deliver until cancelled; `version()` is how far the log is folded here."""
        async with httpx.AsyncClient(timeout=self.timeout_s) as http:
            # The flag as well as the cancel: on Python 3.11 a cancel that lands while a Redis
            # call's own timeout fires can arrive as a TimeoutError, which the loop survives.
            while not self.stopping:
                try:
                    if await self._hold_lease():
                        await self._enqueue_new(version())
                        await self._attempt_due(http)
                except asyncio.CancelledError:
                    raise
                except Exception:  # Redis away for a moment: the state is in Redis, try again
                    await asyncio.sleep(0.5)
                await self.feed.changed(idle_s)

    async def _hold_lease(self) -> bool:
        """One delivering process at a time; the lease lapses if its holder dies."""
        got = await self.redis.set(self.lease_key, self.holder, nx=True, px=LEASE_MS)
        if got:
            await self._recover()
            return True
        if (await self.redis.get(self.lease_key) or b"").decode() == self.holder:
            await self.redis.pexpire(self.lease_key, LEASE_MS)
            return True
        return False

    async def _recover(self) -> None:
        """A delivery whose attempt was cut short by a crash is due again (so is one left in the
        single due list of before per-hook lists)."""
        pending = [p.decode() if isinstance(p, bytes) else p
                   for p in await self.redis.hkeys(self.pending_key)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in pending:
                pipe.zscore(self.due_key(_hook_of(p)), p)
            scores = await pipe.execute()
        lost = [p for p, score in zip(pending, scores, strict=True) if score is None]
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            for p in lost:
                pipe.zadd(self.due_key(_hook_of(p)), {p: now})
            pipe.delete(self.old_due_key)
            await pipe.execute()

    async def _enqueue_new(self, version: int) -> None:
        for hook in await self.hooks():
            raw = await self.redis.get(self.cursor_key(hook.webhook_id))
            cursor = int(raw or 0)
            if cursor >= version:
                continue
            entries, reached = self.feed.after(cursor, hook.viewer(), 500, version)
            items = await disclosed_items(entries, hook.viewer(), self.audit, hook.url,
                                          f"webhook {hook.webhook_id}")
            now = time.time()
            async with self.redis.pipeline(transaction=True) as pipe:
                for it in items:
                    delivery_id = f"{hook.webhook_id}.{it['seq']}.{it['incident']['incident_id']}"
                    pipe.hset(self.pending_key, delivery_id, json.dumps(
                        {"delivery_id": delivery_id, "webhook_id": hook.webhook_id, "attempt": 0,
                         "body": json.dumps(it, ensure_ascii=False, separators=(",", ":"))}))
                    pipe.zadd(self.due_key(hook.webhook_id), {delivery_id: now})
                pipe.set(self.cursor_key(hook.webhook_id), reached)
                await pipe.execute()

    async def _attempt_due(self, http: httpx.AsyncClient) -> None:
        """Each hook's due deliveries, as many as its free places; hooks in turn, so one with a
        long backlog never keeps another's from starting."""
        for hook in await self.hooks():
            free = PER_HOOK - self.busy.get(hook.webhook_id, 0)
            if free <= 0:
                continue
            key = self.due_key(hook.webhook_id)
            for raw_id in await self.redis.zrangebyscore(key, "-inf", time.time(), start=0, num=free):
                delivery_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
                if not await self.redis.zrem(key, delivery_id):
                    continue  # claimed meanwhile
                await self.slots.acquire()
                self.busy[hook.webhook_id] = self.busy.get(hook.webhook_id, 0) + 1
                task = asyncio.create_task(self._attempt(http, delivery_id))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)

    async def _attempt(self, http: httpx.AsyncClient, delivery_id: str) -> None:
        try:
            raw = await self.redis.hget(self.pending_key, delivery_id)
            if raw is None:
                return
            delivery = json.loads(raw)
            hook_raw = await self.redis.hget(self.hooks_key, delivery["webhook_id"])
            if hook_raw is None:  # the hook was removed: nothing left to deliver to
                await self.redis.hdel(self.pending_key, delivery_id)
                return
            hook = Webhook(**json.loads(hook_raw))
            attempt = delivery["attempt"] + 1
            body = delivery["body"].encode()
            error = await self._post(http, hook, delivery_id, attempt, body)
            if error is None:
                await self.redis.hdel(self.pending_key, delivery_id)
            elif attempt > len(self.backoff_s):
                dead = {"delivery_id": delivery_id, "attempts": attempt, "last_error": error,
                        "dead_at": time.time(), "body": json.loads(body)}
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.rpush(self.dead_key(hook.webhook_id), json.dumps(dead))
                    pipe.hdel(self.pending_key, delivery_id)
                    await pipe.execute()
            else:
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.hset(self.pending_key, delivery_id,
                              json.dumps({**delivery, "attempt": attempt, "last_error": error}))
                    pipe.zadd(self.due_key(hook.webhook_id),
                              {delivery_id: time.time() + self.backoff_s[attempt - 1]})
                    await pipe.execute()
        finally:
            hook_id = _hook_of(delivery_id)
            self.busy[hook_id] = self.busy.get(hook_id, 1) - 1
            self.slots.release()

    async def _post(self, http: httpx.AsyncClient, hook: Webhook, delivery_id: str, attempt: int,
                    body: bytes) -> str | None:
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json", "JD-Webhook-Id": hook.webhook_id,
                   "JD-Delivery-Id": delivery_id, "JD-Delivery-Attempt": str(attempt),
                   "JD-Timestamp": ts, "JD-Signature": f"t={ts},v1={sign(hook.secret, ts, body)}"}
        try:
            target = await self.targets.resolve(hook.url)
        except TargetRefused as e:
            return f"target refused: {e}"
        headers["Host"] = target.host_header
        # One deadline for the whole attempt: httpx's timeouts are per read, so a receiver that
        # drips a byte now and then would hold the attempt (and its place) for ever.
        attempt_task = asyncio.ensure_future(self._send(http, target.connect_url, target.host, headers, body))
        try:
            done, _ = await asyncio.wait({attempt_task}, timeout=self.timeout_s)
        finally:
            if not attempt_task.done():
                await end(attempt_task, name="a webhook attempt")
        if not done:
            return f"no answer within {self.timeout_s:g} s"
        return attempt_task.result()

    async def _send(self, http: httpx.AsyncClient, url: str, host: str, headers: dict[str, str],
                    body: bytes) -> str | None:
        try:
            # to the address checked, with the name for TLS (SNI and the certificate's name)
            async with http.stream("POST", url, content=body, headers=headers,
                                   extensions={"sni_hostname": host}) as r:
                read = 0
                async for chunk in r.aiter_raw():
                    read += len(chunk)
                    if read >= REPLY_LIMIT:
                        break  # the rest is not read: a reply's size costs us nothing
                status = r.status_code
        except httpx.ConnectError:
            return "could not connect"
        except httpx.TimeoutException:
            return "timed out"
        except httpx.HTTPError:
            return "the connection failed"
        return None if 200 <= status < 300 else f"HTTP {status}"

    def closing(self) -> None:
        """Say the worker is to end (before cancelling it): it will not start another round."""
        self.stopping = True

    async def stop(self) -> None:
        self.stopping = True
        await end_all(list(self.in_flight))
        with contextlib.suppress(Exception):
            if (await self.redis.get(self.lease_key) or b"").decode() == self.holder:
                await self.redis.delete(self.lease_key)


def _hook_of(delivery_id: str) -> str:
    """A delivery id is `<hook>.<log position>.<incident>`."""
    return delivery_id.split(".", 1)[0]


async def own_hook(webhook_id: Annotated[str, Path(max_length=64)], backend: BackendDep,
                   key: IdentityDep) -> Webhook:
    """A hook of the caller's agency; another agency's hook does not exist for them."""
    for hook in await backend.webhooks.hooks():
        if hook.webhook_id == webhook_id and hook.agency == key.agency:
            return hook
    raise Rejected(404, "webhook_id", f"no webhook {webhook_id} for agency {key.agency}")


OwnHookDep = Annotated[Webhook, Depends(own_hook)]


@router.post("/v1/webhooks", status_code=201, response_model=WebhookCreated)
async def register_webhook(body: WebhookIn, backend: BackendDep, key: IdentityDep) -> dict[str, Any]:
    """Deliver your agency's feed items to `url`, signed with `secret`."""
    try:
        await backend.webhooks.targets.resolve(str(body.url))
    except TargetRefused as e:
        raise Rejected(422, "url", str(e)) from None
    service = backend.service
    await service.catch_up()
    cursor = parse_cursor(body.cursor, service.state.version) if body.cursor is not None \
        else service.state.version
    hook = await backend.webhooks.register(key.agency, str(body.url), body.secret, key.client_id,
                                           cursor, service.clock.now().isoformat())
    return {**hook.public(), "cursor": str(cursor)}


@router.get("/v1/webhooks", response_model=WebhookList)
async def list_webhooks(backend: BackendDep, key: IdentityDep) -> dict[str, Any]:
    hooks = [h.public() for h in await backend.webhooks.hooks() if h.agency == key.agency]
    return {"count": len(hooks), "webhooks": hooks}


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, responses=refusals(404))
async def remove_webhook(hook: OwnHookDep, backend: BackendDep) -> None:
    await backend.webhooks.remove(hook.webhook_id)


@router.get("/v1/webhooks/{webhook_id}/dead-letters", response_model=DeadLetters,
            responses=refusals(404))
async def dead_letters(hook: OwnHookDep, backend: BackendDep) -> dict[str, Any]:
    """Deliveries that failed every attempt, oldest first, with the last error and the body."""
    dead = await backend.webhooks.dead_letters(hook.webhook_id)
    return {"count": len(dead), "dead_letters": dead}
