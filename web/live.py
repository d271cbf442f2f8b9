"""The live websocket: a snapshot with its sequence number, then every event in log order.

A client that reconnects with `?since=N` gets exactly the events after N from the log (no gap, no
duplicate), or a fresh snapshot when it is too far behind. Each client has a bounded queue: a
slow client is sent a snapshot again instead of holding everyone else back."""

import asyncio
import contextlib
import json
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from dispatch import events as ev
from dispatch.plans import ResponsePlans
from dispatch.service import DispatchService
from dispatch.state import DispatchState
from web.views import incident_view

QUEUE_LIMIT = 2000
HEARTBEAT_S = 15.0
MAX_BACKLOG = 20000  # beyond this a snapshot is cheaper than replaying the log


def _incident_ids(e: ev.Event) -> list[str]:
    ids = [getattr(e, name) for name in ("incident_id", "target_id", "source_id", "from_incident_id")
           if hasattr(e, name)]
    return [i for i in ids if i]


class LiveHub:
    def __init__(self, service: DispatchService, plans: ResponsePlans) -> None:
        self.service, self.plans = service, plans
        self.clients: set[asyncio.Queue[dict[str, Any] | None]] = set()
        service.subscribe(self._on_event)

    def message(self, seq: int, e: ev.Event, state: DispatchState) -> dict[str, Any]:
        incidents = [incident_view(state.incidents[i], state, self.plans)
                     for i in _incident_ids(e) if i in state.incidents]
        return {"type": "event", "seq": seq, "event": ev.to_record(e), "incidents": incidents}

    def snapshot(self) -> dict[str, Any]:
        state = self.service.state
        return {"type": "snapshot", "seq": state.version,
                "incidents": [incident_view(i, state, self.plans) for i in state.incidents.values()
                              if i.active]}

    def _on_event(self, seq: int, e: ev.Event, state: DispatchState) -> None:
        msg = self.message(seq, e, state)
        for queue in list(self.clients):
            try:
                queue.put_nowait(msg)
            except asyncio.QueueFull:
                # Too slow: drop what it has queued and let it start again from a snapshot.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait({"type": "resync"})

    async def serve(self, ws: WebSocket, since: int | None) -> None:
        await ws.accept()
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
        async with self.service.lock:
            version = self.service.state.version
            self.clients.add(queue)
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
                    await ws.send_text(json.dumps(self.message(r.seq, r.event, self.service.state)))
            sender = asyncio.create_task(self._send(ws, queue))
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
            self.clients.discard(queue)

    async def _send(self, ws: WebSocket, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        while True:
            try:
                msg = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
            except TimeoutError:
                msg = {"type": "heartbeat", "seq": self.service.state.version}
            if msg is None:
                return
            if msg.get("type") == "resync":
                msg = self.snapshot()
            await ws.send_text(json.dumps(msg))
