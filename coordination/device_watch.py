"""Home devices' telemetry and the watch over it: heartbeats, battery levels and the last motion
each sensor saw, kept in Redis (latest per device, never in the incident log, as vehicle
positions are), and the periodic look that turns a silent device or a low battery into a
maintenance task and a motion sensor quiet past its rule's hours into a `no_motion` alarm.

Taking an alarm from a device (MQTT or an IoT platform's push) is here too, so both edges
and a replay go one way: `DeviceIntake.alarm` and `DeviceIntake.heard`."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis

from dispatch import events as ev
from dispatch.alarm_rules import AlarmRules
from dispatch.device_health import CloseMaintenanceTask, OpenMaintenanceTask
from dispatch.home_alarms import RaiseDeviceAlarm
from dispatch.rejection import Rejected
from dispatch.service import DispatchService

log = logging.getLogger(__name__)
NO_MOTION = "no_motion"


@dataclass(frozen=True)
class Heard:
    """One heartbeat or battery report: the device was heard at `at` (its own time)."""

    device_id: str
    at: datetime
    battery: float | None = None  # percent
    motion_at: datetime | None = None  # the last motion a motion sensor saw


class DeviceTelemetry:
    """Latest heard time, battery and motion per device, three Redis hashes of one namespace."""

    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self.redis = redis
        self.heard_key = f"{namespace}:devices:heard"
        self.battery_key = f"{namespace}:devices:battery"
        self.motion_key = f"{namespace}:devices:motion"
        self.taken_key = f"{namespace}:devices:taken"  # messages stored, ever: what an operator graphs

    async def record(self, batch: list[Heard]) -> None:
        if not batch:
            return
        heard: dict[str, float] = {}
        battery: dict[str, float] = {}
        motion: dict[str, float] = {}
        for h in batch:
            heard[h.device_id] = max(heard.get(h.device_id, 0.0), h.at.timestamp())
            if h.battery is not None:
                battery[h.device_id] = h.battery
            if h.motion_at is not None:
                motion[h.device_id] = max(motion.get(h.device_id, 0.0), h.motion_at.timestamp())
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(self.heard_key, mapping=heard)  # type: ignore[arg-type]
            if battery:
                pipe.hset(self.battery_key, mapping=battery)  # type: ignore[arg-type]
            if motion:
                pipe.hset(self.motion_key, mapping=motion)  # type: ignore[arg-type]
            pipe.incrby(self.taken_key, len(batch))
            await pipe.execute()

    async def latest(self) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        """(heard, battery, motion) by device id: epoch seconds, percent, epoch seconds."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.heard_key)
            pipe.hgetall(self.battery_key)
            pipe.hgetall(self.motion_key)
            rows = await pipe.execute()
        return tuple({k.decode(): float(v) for k, v in row.items()} for row in rows)  # type: ignore[return-value]


class DeviceIntake:
    """Where every device message goes once an edge has checked its fields."""

    def __init__(self, service: DispatchService, telemetry: DeviceTelemetry, rules: AlarmRules) -> None:
        self.service, self.telemetry, self.rules = service, telemetry, rules

    def check_sender(self, device_id: str, gateway_id: str | None) -> None:
        """A device of the register, sent by its own gateway (None: a platform's push by key)."""
        device = self.service.state.homes.devices.get(device_id)
        if device is None:
            raise Rejected(422, "device_id", f"device {device_id!r} is not in the register")
        if gateway_id is not None and device.gateway_id != gateway_id:
            raise Rejected(403, "gateway_id", f"device {device_id} belongs to gateway {device.gateway_id}, "
                           f"not {gateway_id}")

    async def alarm(self, cmd: RaiseDeviceAlarm) -> list[ev.Event]:
        """Raise (or count) the alarm; `Rejected` names the field of a message the register refuses.
        An alarm is also a sign of life: a device that raises one is not silent."""
        events = await self.service.execute(cmd)
        await self.heard([Heard(cmd.device_id, cmd.raised_at)])
        return events

    async def heard(self, batch: list[Heard]) -> None:
        """Store the batch, then open or close the battery and silence tasks it decides."""
        known = self.service.state.homes.devices
        batch = [h for h in batch if h.device_id in known]
        await self.telemetry.record(batch)
        state = self.service.state
        for h in batch:
            if (h.device_id, "silent") in state.maintenance_open:
                await self._tell(CloseMaintenanceTask(h.device_id, "silent", "heard again", "device watch"))
            if h.battery is None:
                continue
            low = self.rules.battery_low_percent
            if h.battery < low and (h.device_id, "low_battery") not in state.maintenance_open:
                await self._tell(OpenMaintenanceTask(h.device_id, "low_battery",
                                                     f"battery at {h.battery:g}% (below {low:g}%)"))
            elif h.battery >= low + 10 and (h.device_id, "low_battery") in state.maintenance_open:
                # a margin above the threshold, so a level wavering about it is not a task a minute
                await self._tell(CloseMaintenanceTask(h.device_id, "low_battery",
                                                      f"battery recovered to {h.battery:g}%", "device watch"))

    async def _tell(self, cmd: OpenMaintenanceTask | CloseMaintenanceTask) -> None:
        with contextlib.suppress(Rejected):
            await self.service.execute(cmd)


class DeviceWatch:
    """Looks over every registered device every `interval_s`."""

    def __init__(self, intake: DeviceIntake, interval_s: float = 30.0) -> None:
        self.intake, self.interval_s = intake, interval_s

    async def look(self) -> None:
        service, rules = self.intake.service, self.intake.rules
        heard, _battery, motion = await self.intake.telemetry.latest()
        now = service.clock.now()
        state = service.state
        quiet_rule = rules.kinds.get(NO_MOTION)
        quiet_hours = quiet_rule.no_motion_hours if quiet_rule is not None else None
        for device in list(state.homes.devices.values()):
            last = heard.get(device.device_id, device.registered_at.timestamp())
            silent_s = now.timestamp() - last
            if silent_s > device.heartbeat_s * rules.heartbeat_grace \
                    and (device.device_id, "silent") not in state.maintenance_open:
                await self.intake._tell(OpenMaintenanceTask(
                    device.device_id, "silent", f"not heard for {silent_s / 60:.0f} min "
                    f"(expected every {device.heartbeat_s / 60:g} min), last {_iso(last)}"))
            if device.kind != "motion_sensor" or quiet_hours is None:
                continue
            moved = motion.get(device.device_id, device.registered_at.timestamp())
            if now.timestamp() - moved < quiet_hours * 3600:
                continue
            latest = state.alarm_by_device.get((device.device_id, NO_MOTION))
            if latest is not None and state.alarms[latest].raised_at.timestamp() >= moved:
                continue  # already raised for this quiet spell
            with contextlib.suppress(Rejected):
                await service.execute(RaiseDeviceAlarm(device.device_id, None, NO_MOTION, now,
                                                       value=round((now.timestamp() - moved) / 3600, 1),
                                                       via="watch"))

    async def run(self) -> None:
        while True:
            try:
                await self.look()
            except asyncio.CancelledError:
                raise
            except Exception:  # a Redis hiccup must not end the watch
                log.exception("device watch: one look failed; looking again")
            await asyncio.sleep(self.interval_s)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
