"""The live websocket: a snapshot with its sequence number, then every event in log order, and
unit positions alongside.

A client that reconnects with `?since=N` gets exactly the events after N from the log (no gap, no
duplicate), or a fresh snapshot when it is too far behind. Each client has a bounded event queue:
a slow client is sent a snapshot again instead of holding everyone else back. Positions are not
history: for each client only the latest fix per unit is kept until it can be sent, so a slow
screen sees units jump, never a growing backlog; a screen that keeps up is sent the very frame
every other screen gets, serialised once per batch. Positions reach every server process through
Redis pub/sub, so several processes serve screens from one Redis."""

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from fastapi import WebSocket, WebSocketDisconnect
from pydantic_core import from_json, to_json

from dispatch import events as ev
from dispatch.background import end_in_handler
from dispatch.plans import ResponsePlans
from dispatch.service import DispatchService
from dispatch.state import DispatchState
from web.views import corridor_view, incident_view, restriction_view, unit_view
from web.whistle_view import whistle_view

Redact = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]  # an event message as one viewer sees it
QUEUE_LIMIT = 2000
HEARTBEAT_S = 15.0
KEY_CHECK_S = 1.0  # a revoked key's screen is closed within this (and a moment), whatever flows
StillAllowed = Callable[[], Awaitable[bool]]
MAX_BACKLOG = 20000  # beyond this a snapshot is cheaper than replaying the log
GATHER_S = 0.025  # position batches arriving this close together are sent as one frame
BATCHES_BEHIND = 32  # position batches a screen may owe (a few seconds) before they are folded
GREEN_WAVE_EVENTS = (ev.GreenWaveRequested, ev.GreenWaveAnswered, ev.GreenWaveRetimed, ev.GreenWaveReleased)
ROAD_EVENTS = (ev.RoadClosed, ev.RoadSlowed, ev.RoadReopened)


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


class PositionBatch:
    """One published batch of fixes as the screens get it, built once and shared by all of them.

    On the wire a fix is compact, `[unit_id, lon, lat, heading, speed_kmh]`, and the frame says
    when its oldest fix was taken (`at`, UNIX seconds: how late the frame is, at worst). A city's
    fleet at 1 Hz to hundreds of screens is bytes the kernel copies and every screen parses, so a
    third of the size matters.
    The full fix (with its own time) stays available from the units API."""

    __slots__ = ("frame", "fixes", "at")

    def __init__(self, fixes: dict[str, list[Any]], at: float) -> None:
        self.fixes, self.at = fixes, at  # unit id -> its compact fix
        self.frame = '{"type":"positions","at":%.3f,"positions":%s}' % (  # noqa: UP031
            at, to_json(list(fixes.values())).decode())

    @classmethod
    def from_published(cls, fixes_json: str) -> "PositionBatch":
        compact: dict[str, list[Any]] = {}
        taken: set[str] = set()
        for f in from_json(fixes_json):
            compact[f["unit_id"]] = [f["unit_id"], round(f["lon"], 6), round(f["lat"], 6),
                                     f.get("heading"), f.get("speed_kmh")]
            taken.add(f["at"])  # a gateway's batch mostly shares one time: parse each once
        return cls(compact, min((datetime.fromisoformat(t).timestamp() for t in taken), default=0.0))


def coalesce(batches: list[PositionBatch]) -> PositionBatch:
    """Several batches as one, keeping only the latest fix of each unit."""
    latest: dict[str, list[Any]] = {}
    for b in batches:
        latest.update(b.fixes)
    return PositionBatch(latest, min(b.at for b in batches))


class LiveClient:
    def __init__(self, centre: str | None = None) -> None:
        self.centre = centre  # the agency whose centre this console staffs (None: a tablet, a feed)
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        # Position batches not yet sent, oldest first, shared with every other screen. A screen
        # that falls behind has them folded into one with the latest fix per unit, so what it owes
        # stays bounded by the fleet's size, never by how long it has been slow.
        self.batches: list[PositionBatch] = []
        self.wake = asyncio.Event()

    def owe(self, batch: PositionBatch) -> None:
        self.batches.append(batch)
        if len(self.batches) > BATCHES_BEHIND:
            self.batches = [coalesce(self.batches)]
        self.wake.set()


class LiveHub:
    def __init__(self, service: DispatchService, plans: ResponsePlans) -> None:
        self.service, self.plans = service, plans
        self.clients: set[LiveClient] = set()
        self._gathering: list[PositionBatch] = []
        # Told of every fix any process took in (unit id, lon, lat): whoever follows a unit (its
        # green wave) hears it wherever the vehicle's gateway happened to post it.
        self.fix_listeners: list[Callable[[str, float, float], None]] = []
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
        if isinstance(e, GREEN_WAVE_EVENTS) and e.unit_id in state.corridors:
            msg["corridors"] = [corridor_view(state.corridors[e.unit_id])]
        if isinstance(e, ROAD_EVENTS):
            msg["roads"] = [restriction_view(state.roads[e.restriction_id])]
        return msg

    def snapshot(self) -> dict[str, Any]:
        state = self.service.state
        return {"type": "snapshot", "seq": state.version,
                "incidents": [incident_view(i, state, self.plans) for i in state.incidents.values()
                              if i.active],
                "whistles": [whistle_view(w) for w in state.whistles.values() if w.active],
                "units": [unit_view(u, None, False) for u in state.units.values()],
                "corridors": [corridor_view(c) for c in state.corridors.values()
                              if c.incident_id in state.incidents and state.incidents[c.incident_id].active],
                "roads": [restriction_view(r) for r in state.roads.values() if r.active]}

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

    def on_positions(self, fixes_json: str) -> None:
        """A published batch (a JSON array of fixes): held for a moment so that the batches of
        one tick (a gateway posts its fleet in several requests) go out as one frame, serialised
        once for every screen."""
        batch = PositionBatch.from_published(fixes_json)
        for listener in self.fix_listeners:
            for uid, lon, lat, _heading, _speed in batch.fixes.values():
                listener(uid, lon, lat)
        self._gathering.append(batch)
        if len(self._gathering) == 1:
            asyncio.get_running_loop().call_later(GATHER_S, self._flush_positions)

    def _flush_positions(self) -> None:
        batches, self._gathering = self._gathering, []
        if not batches:
            return
        batch = batches[0] if len(batches) == 1 else coalesce(batches)
        for client in self.clients:
            client.owe(batch)

    async def follow_positions(self, redis: aioredis.Redis, channel: str) -> None:
        """Forward every process's position batches to this process's screens.

        Messages are taken one `get_message` at a time rather than from `listen()`: redis-py can
        swallow the cancellation that stops this task while it is inside the pubsub, leaving the
        task (and the server's shutdown waiting for it) stuck; looking every second ends it."""
        stopping = asyncio.current_task().cancelling  # type: ignore[union-attr]
        while not stopping():
            try:
                async with redis.pubsub() as pubsub:
                    await pubsub.subscribe(channel)
                    while not stopping():
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if message is not None and message["type"] == "message":
                            data = message["data"]
                            self.on_positions(data.decode() if isinstance(data, bytes) else data)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away for a moment: subscribe again (unless stopping)
                if not stopping():
                    await asyncio.sleep(0.5)
        raise asyncio.CancelledError

    def consoles(self) -> dict[str, int]:
        """This node's live centre consoles by agency, for the presence board."""
        return dict(Counter(c.centre for c in self.clients if c.centre is not None))

    async def serve(self, ws: WebSocket, since: int | None, redact: Redact | None = None,
                    still_allowed: StillAllowed | None = None, centre: str | None = None) -> None:
        """`still_allowed` is asked at every heartbeat: a screen whose key was revoked is closed
        (code 4401) within one heartbeat, as the feed stream ends."""
        redact = redact or _unchanged
        await ws.accept()
        client = LiveClient(centre)
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
            sender = asyncio.create_task(self._send(ws, client, redact, still_allowed or _always))
            try:
                while True:  # reading notices a closed socket; clients say nothing else we need
                    await ws.receive_text()
            except WebSocketDisconnect:
                pass
            finally:
                await end_in_handler(sender, "a live screen's sender")
        finally:
            self.clients.discard(client)

    async def _send(self, ws: WebSocket, client: LiveClient, redact: Redact,
                    still_allowed: StillAllowed) -> None:
        try:
            await self._send_until_closed(ws, client, redact, still_allowed)
        except Exception as e:  # any failure here would leave a screen open on a stale picture
            # A Redis call failed (an audit write, a key look-up): close the socket, so the page
            # says it is offline and reconnects with its last seq, instead of showing "live" over
            # a picture that no longer moves. 1013: try again later.
            with contextlib.suppress(Exception):
                await ws.close(code=1013, reason=f"live stream interrupted ({type(e).__name__}); reconnect")

    async def _send_until_closed(self, ws: WebSocket, client: LiveClient, redact: Redact,
                                 still_allowed: StillAllowed) -> None:
        loop = asyncio.get_running_loop()
        checked = last_sent = loop.time()
        while True:
            # The key is asked after at least every KEY_CHECK_S, busy or idle: a screen fed
            # positions many times a second never goes idle long enough for a heartbeat.
            if loop.time() - checked >= KEY_CHECK_S:
                checked = loop.time()
                if not await still_allowed():
                    await ws.close(code=4401, reason="API key revoked")
                    return
            # Clear before looking, so a wake-up that lands while we look is never lost.
            client.wake.clear()
            while not client.events.empty():
                msg = client.events.get_nowait()
                if msg.get("type") == "resync":
                    msg = self.snapshot()
                await ws.send_text(json.dumps(await redact(msg)))
                last_sent = loop.time()
            while client.batches:
                await ws.send_text(client.batches.pop(0).frame)
                last_sent = loop.time()
            if client.wake.is_set():
                continue
            try:
                await asyncio.wait_for(client.wake.wait(), min(KEY_CHECK_S, HEARTBEAT_S))
            except TimeoutError:
                if loop.time() - last_sent >= HEARTBEAT_S:
                    last_sent = loop.time()
                    await ws.send_text(json.dumps({"type": "heartbeat", "seq": self.service.state.version}))


async def _unchanged(msg: dict[str, Any]) -> dict[str, Any]:
    return msg


async def _always() -> bool:
    return True
