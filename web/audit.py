"""The audit trail: every read of a sensitive field and every change, with who (client and key),
when, and from where, in a Redis stream of its own; readable by supervisors and admins.

Changes are recorded by a small ASGI wrapper after the answer is known (so the status is in the
record, refusals included); sensitive reads by `AuditLog.disclose`, the one door through which
call records leave the server. Vehicle positions are telemetry, not changes, and are left out,
as they are left out of the incident log."""

import json
import logging
from datetime import datetime
from typing import Annotated, Any

import redis.asyncio as aioredis
import redis.exceptions as redis
from fastapi import APIRouter, Query
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.clock import Clock
from dispatch.rejection import Rejected
from web.api_keys import ApiKey
from web.deps import BackendDep, started_backend
from web.field_rules import disclose
from web.schemas import ViewRoute
from web.schemas_feeds import AuditPage

router = APIRouter(route_class=ViewRoute)
TELEMETRY_SUFFIXES = ("/position", "/positions")
AUDIT_MAXLEN = 5_000_000  # a bound so a runaway client cannot fill the disk; years of a city's load

log = logging.getLogger(__name__)


def who(key: ApiKey | None) -> dict[str, Any]:
    if key is None:
        return {"client_id": None, "key_id": None, "agency": None, "roles": []}
    return {"client_id": key.client_id, "key_id": key.key_id, "agency": key.agency,
            "roles": [str(r) for r in key.roles]}


class AuditLog:
    def __init__(self, redis: aioredis.Redis, namespace: str, clock: Clock) -> None:
        self.redis, self.clock = redis, clock
        self.key = f"{namespace}:audit"

    async def record(self, kind: str, key: ApiKey | None, origin: str, action: str,
                     **detail: Any) -> None:
        entry = {"at": self.clock.now().isoformat(), "kind": kind, **who(key), "from": origin,
                 "action": action, **detail}
        await self.redis.xadd(self.key, {"e": json.dumps(entry, default=str)},
                              maxlen=AUDIT_MAXLEN, approximate=True)

    async def disclose(self, calls: list[dict[str, Any]], viewer: ApiKey, origin: str,
                       action: str) -> list[dict[str, Any]]:
        """The calls (or residents' records) as `viewer` may see them; what they reveal is
        recorded in one entry, by call id or resident id."""
        shown, revealed = [], {}
        for call in calls:
            view, fields = disclose(call, viewer)
            shown.append(view)
            if fields:
                revealed[str(call.get("call_id") or call.get("resident_id"))] = fields
        if revealed:
            await self.record("read", viewer, origin, action, revealed=revealed)
        return shown

    async def entries(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        start = f"({after}" if after else "-"
        rows = await self.redis.xrange(self.key, min=start, max="+", count=limit)
        out = []
        for stream_id, fields in rows:
            sid = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
            out.append({"id": sid, **json.loads(fields[b"e"])})
        return out


def origin_of(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "unknown"


class AuditChanges:
    """Records every request that may change something, once its status is known."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS") \
                or scope["path"].endswith(TELEMETRY_SUFFIXES):
            await self.app(scope, receive, send)
            return
        status = 500

        async def seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, seen)
        finally:
            backend = started_backend(scope["app"])
            if backend is not None:
                audit = backend.audit
                route = scope.get("route")
                action = f"{scope['method']} {getattr(route, 'path', scope['path'])}"
                key = scope.get("state", {}).get("identity")
                try:
                    await audit.record("change", key, origin_of(scope), action, path=scope["path"],
                                       status=status)
                except (redis.ConnectionError, redis.TimeoutError) as e:
                    # The answer has gone (a 503 while the log was down): the attempt is kept in
                    # the server's own log instead, so the trail has no silent hole.
                    log.warning("audit entry not written, Redis unreachable (%s): %s %s -> %s by %s",
                                e, action, scope["path"], status, getattr(key, "key_id", None))


@router.get("/v1/audit", response_model=AuditPage)
async def read_audit(
    backend: BackendDep,
    after: Annotated[str | None, Query(pattern=r"^\d+-\d+$", description="last entry id seen")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    client_id: Annotated[str | None, Query(max_length=128)] = None,
    kind: Annotated[str | None, Query(pattern="^(read|change|key)$")] = None,
) -> dict[str, Any]:
    """Audit entries in the order they were written; `after` pages on from the last id seen."""
    if after is not None and any(int(part) >= 2**64 for part in after.split("-")):
        # a stream id is two 64-bit numbers; Redis refuses larger ones outright
        raise Rejected(422, "after", f"{after} is not an audit entry id (each part below 2^64)")
    rows = await backend.audit.entries(after, limit)
    last = rows[-1]["id"] if rows else after
    found = [r for r in rows if (client_id is None or r["client_id"] == client_id)
             and (kind is None or r["kind"] == kind)]
    return {"count": len(found), "entries": found, "next_after": last,
            "generated_at": datetime.now().astimezone().isoformat()}
