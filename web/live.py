"""The live websocket: a snapshot with its sequence number, then every event in log order, and
unit positions alongside.

A client that reconnects with `?since=N` gets exactly the events after N from the log (no gap, no
duplicate), or a fresh snapshot when it is too far behind. Each client has a bounded event queue:
a slow client is sent a snapshot again instead of holding everyone else back. Positions are not
history: for each client only the latest fix per unit is kept until it can be sent, so a slow
screen sees units jump, never a growing backlog. Positions reach every server process through
Redis pub/sub, so several processes serve screens from one Redis."""

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from fastapi import WebSocket, WebSocketDisconnect

from dispatch import events as ev
from dispatch.plans import ResponsePlans
from dispatch.service import DispatchService
from dispatch.state import DispatchState
from web.views import incident_view, unit_view
from web.whistle_view import whistle_view

Redact = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]  # an event message as one viewer sees it
QUEUE_LIMIT = 2000
HEARTBEAT_S = 15.0
MAX_BACKLOG = 20000  # beyond this a snapshot is cheaper than replaying the log


def _incident_ids(e: ev.Event, state: DispatchState) -> list[str]:
    ids = [getattr(e, name) for name in ("incident_id", "target_id", "source_id", "from_incident_id")
           if hasattr(e, name)]
    whistle = state.whistles.get(getattr(e, "whistle_id", ""))
    if whistle is not None:
        ids.append(whistle.incident_id)
    unit = state.units.get(getattr(e, "unit_id", ""))
    if unit is not None and unit.incident_id:
        ids.append(unit.incident_id)
    return list(dict.fromkeys(i for i in ids if i))


class LiveClient:
    def __init__(self) -> None:
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self.positions: dict[str, str] = {}  # unit id -> latest fix as JSON, coalesced
        self.wake = asyncio.Event()


class LiveHub:
    def __init__(self, service: DispatchService, plans: ResponsePlans) -> None:
        self.service, self.plans = service, plans
        self.clients: set[LiveClient] = set()
        service.subscribe(self._on_event)

    def message(self, seq: int, e: ev.Event, state: DispatchState) -> dict[str, Any]:
        incidents = [incident_view(state.incidents[i], state, self.plans)
                     for i in _incident_ids(e, state) if i in state.incidents]
        msg: dict[str, Any] = {"type": "event", "seq": seq, "event": ev.to_record(e),
                               "incidents": incidents}
        whistle = state.whistles.get(getattr(e, "whistle_id", ""))
        if whistle is not None:
            msg["whistles"] = [whistle_view(whistle)]
        unit = state.units.get(getattr(e, "unit_id", ""))
        if unit is not None:
            msg["units"] = [unit_view(unit, None, False)]
        return msg

    def snapshot(self) -> dict[str, Any]:
        state = self.service.state
        return {"type": "snapshot", "seq": state.version,
                "incidents": [incident_view(i, state, self.plans) for i in state.incidents.values()
                              if i.active],
                "whistles": [whistle_view(w) for w in state.whistles.values() if w.active],
                "units": [unit_view(u, None, False) for u in state.units.values()]}

    def _on_event(self, seq: int, e: ev.Event, state: DispatchState) -> None:
        if not self.clients:
            return
        msg = self.message(seq, e, state)
        for client in list(self.clients):
            try:
                client.events.put_nowait(msg)
            except asyncio.QueueFull:
                # Too slow: drop what it has queued and let it start again from a snapshot.
                while not client.events.empty():
                    client.events.get_nowait()
                client.events.put_nowait({"type": "resync"})
            client.wake.set()

    def on_positions(self, fixes: list[dict[str, Any]]) -> None:
        encoded = {f["unit_id"]: json.dumps(f, separators=(",", ":")) for f in fixes}
        for client in self.clients:
            client.positions.update(encoded)
            client.wake.set()

    async def follow_positions(self, redis: aioredis.Redis, channel: str) -> None:
        """Forward every process's position batches to this process's screens."""
        while True:
            try:
                async with redis.pubsub() as pubsub:
                    await pubsub.subscribe(channel)
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self.on_positions(json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away for a moment: subscribe again
                await asyncio.sleep(0.5)

    async def serve(self, ws: WebSocket, since: int | None, redact: Redact | None = None) -> None:
        redact = redact or _unchanged
        await ws.accept()
        client = LiveClient()
        async with self.service.lock:
            version = self.service.state.version
            self.clients.add(client)
            first = self.snapshot() if since is None or not 0 <= since <= version \
                or version - since > MAX_BACKLOG else None
        try:
            if first is not None:
                await ws.send_text(json.dumps(first))
            else:
                assert since is not None
                for r in await self.service.store.read(after=since):
                    if r.seq > version:
                        break
                    msg = await redact(self.message(r.seq, r.event, self.service.state))
                    await ws.send_text(json.dumps(msg))
            sender = asyncio.create_task(self._send(ws, client, redact))
            try:
                while True:  # reading notices a closed socket; clients say nothing else we need
                    await ws.receive_text()
            except WebSocketDisconnect:
                pass
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sender
        finally:
            self.clients.discard(client)

    async def _send(self, ws: WebSocket, client: LiveClient, redact: Redact) -> None:
        while True:
            # Clear before looking, so a wake-up that lands while we look is never lost.
            client.wake.clear()
            while not client.events.empty():
                msg = client.events.get_nowait()
                if msg.get("type") == "resync":
                    msg = self.snapshot()
                await ws.send_text(json.dumps(await redact(msg)))
            if client.positions:
                batch, client.positions = client.positions, {}
                await ws.send_text('{"type":"positions","positions":[' + ",".join(batch.values()) + "]}")
            if client.wake.is_set():
                continue
            try:
                await asyncio.wait_for(client.wake.wait(), HEARTBEAT_S)
            except TimeoutError:
                await ws.send_text(json.dumps({"type": "heartbeat", "seq": self.service.state.version}))


async def _unchanged(msg: dict[str, Any]) -> dict[str, Any]:
    return msg
