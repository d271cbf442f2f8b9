"""The MQTT edge of device intake: subscribe to every home's topics on the broker, check each
message, hand alarms to the intake at once and heartbeats in batches, and answer every refused
message on the gateway's error topic (and in the server's log) with the field named.

Alarms come through a session of their own (`homes/+/+/alarm`): the broker keeps one queue per
client, so with one session an alarm waited behind every heartbeat queued before it, and when
that queue overflowed under a flood of telemetry it was dropped with them (the bench saw both).
The other session takes everything else (`homes/+/+/+`, passing over the alarms it also gets).

Several server processes share the work through shared subscriptions
(`$share/jointdispatch-alarms/...`, `$share/jointdispatch/...`): the broker hands each message to
one of them. Each session reconnects by itself when the broker goes away; QoS 1 both ways, and
alarms' `message_id` makes a redelivery count once."""

import asyncio
import contextlib
import logging
import os
import uuid
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import aiomqtt

from coordination.device_watch import DeviceIntake, Heard
from dispatch.background import end
from dispatch.rejection import Rejected
from web.device_messages import (
    ALARMS,
    SUBSCRIPTION,
    TOPIC_ROOT,
    AlarmBody,
    BadMessage,
    BatteryBody,
    HeartbeatBody,
    alarm_command,
    error_report,
    heard_of,
    parse_body,
    parse_topic,
)

log = logging.getLogger(__name__)
FLUSH_EVERY_S = 0.2
FLUSH_AT = 2000
YIELD_EVERY = 200


class MqttIntake:
    def __init__(self, url: str, intake: DeviceIntake, client_id: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError(f"JD_MQTT_URL {url!r}: expected mqtt://user:password@host:port")
        self.host, self.port = parts.hostname, parts.port or 1883
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.intake = intake
        self.client_id = client_id or f"jointdispatch-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.subscribed = asyncio.Event()  # set while both sessions are (tests and health wait on it)
        self._up: set[str] = set()
        self.refused = 0
        self._heard: list[Heard] = []
        self._client: aiomqtt.Client | None = None

    async def run(self) -> None:
        flusher = asyncio.create_task(self._flush_forever())
        alarms = asyncio.create_task(self._keep(ALARMS, "jointdispatch-alarms", "-alarms"))
        try:
            await self._keep(SUBSCRIPTION, "jointdispatch", "")
        finally:
            await end(alarms, name="the MQTT alarm session")
            await end(flusher, name="the MQTT batch flusher")
            await self._flush()

    async def _keep(self, topics: str, group: str, suffix: str) -> None:
        """One session, connected again whenever the broker goes away."""
        backoff = 0.5
        while True:
            try:
                await self._session(topics, group, suffix)
            except aiomqtt.MqttError as e:
                self._up.discard(topics)
                self.subscribed.clear()
                log.warning(
                    "MQTT broker %s:%s (%s): %s; reconnecting in %.1f s", self.host, self.port, topics, e,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _session(self, topics: str, group: str, suffix: str) -> None:
        async with aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=self.client_id + suffix,
            clean_session=True,
            max_queued_incoming_messages=200_000,
        ) as client:
            if topics == SUBSCRIPTION:
                self._client = client
            await client.subscribe(f"$share/{group}/{topics}", qos=1)
            self._up.add(topics)
            if len(self._up) == 2:
                self.subscribed.set()
            taken = 0
            async for message in client.messages:
                topic = message.topic.value
                if topics == SUBSCRIPTION and topic.endswith("/alarm"):
                    continue  # the alarm session's
                await self.take(
                    topic,
                    message.payload if isinstance(message.payload, bytes) else str(message.payload).encode(),
                )
                taken += 1
                if taken % YIELD_EVERY == 0:
                    # A queue of heartbeats is taken without ever waiting: let the alarm session,
                    # the API and the screens have their turn (the bench saw the loop held 20 s).
                    await asyncio.sleep(0)

    async def take(self, topic: str, payload: bytes) -> None:
        """One message from the broker; nothing refused goes unanswered."""
        gateway = topic.split("/")[1] if topic.count("/") >= 1 else ""
        try:
            where = parse_topic(topic)
            body = parse_body(where.what, payload)
            self.intake.check_sender(where.device_id, where.gateway_id)
            if isinstance(body, AlarmBody):
                await self.intake.alarm(alarm_command(where.device_id, where.gateway_id, body, "mqtt"))
            elif isinstance(body, HeartbeatBody | BatteryBody):
                self._heard.append(heard_of(where.device_id, body))
                if len(self._heard) >= FLUSH_AT:
                    await self._flush()
        except BadMessage as e:
            await self._refuse(topic, gateway, e)
        except Rejected as e:
            await self._refuse(topic, gateway, BadMessage(e.field, e.message))

    async def _refuse(self, topic: str, gateway: str, err: BadMessage) -> None:
        self.refused += 1
        log.warning("device message refused on %s: %s: %s", topic, err.field, err.message)
        if self._client is None or not gateway or topic.endswith("/errors"):
            return
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.publish(
                f"{TOPIC_ROOT}/{gateway}/errors", error_report(topic, err, datetime.now(UTC)), qos=1
            )

    async def _flush(self) -> None:
        batch, self._heard = self._heard, []
        if batch:
            await self.intake.heard(batch)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            try:
                await self._flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("device heartbeats not stored; they are retried with the next batch")
