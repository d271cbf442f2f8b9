"""What a home device's gateway or an IoT platform may send, field by field, and the one topic
scheme over MQTT:

    homes/<gateway>/<device>/alarm      {"kind": "smoke", "at": "...+08:00", "message_id": "m1"}
    homes/<gateway>/<device>/heartbeat  {"at": "...", "battery": 87, "motion_at": "..."}
    homes/<gateway>/<device>/battery    {"at": "...", "level": 15}
    homes/<gateway>/errors              what this system refused, with the field named

The HTTP push (`POST /v1/devices/messages`) carries the same bodies with `type` and
`device_id` in each, so both ways are checked by the same models."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter, ValidationError

from coordination.device_watch import Heard
from dispatch.home_alarms import RaiseDeviceAlarm

TOPIC_ROOT = "homes"
SUBSCRIPTION = f"{TOPIC_ROOT}/+/+/+"
ALARMS = f"{TOPIC_ROOT}/+/+/alarm"
ID = r"^[A-Za-z0-9_.\-]{1,64}$"
ALARM_KINDS = Literal["smoke", "fall", "sos", "no_motion", "door_open", "heart_rate"]


class AlarmBody(BaseModel):
    kind: ALARM_KINDS
    at: AwareDatetime = Field(description="When the device raised it, with its UTC offset.")
    value: float | None = Field(None, allow_inf_nan=False, description="A measure: heart rate, hours quiet.")
    message_id: str | None = Field(None, max_length=128, description="Repeats with one id count once.")


class HeartbeatBody(BaseModel):
    at: AwareDatetime
    battery: float | None = Field(None, ge=0, le=100)
    motion_at: AwareDatetime | None = Field(None, description="The last motion a motion sensor saw.")


class BatteryBody(BaseModel):
    at: AwareDatetime
    level: float = Field(ge=0, le=100, description="Percent.")


class PushedAlarm(AlarmBody):
    type: Literal["alarm"]
    device_id: str = Field(pattern=ID)


class PushedHeartbeat(HeartbeatBody):
    type: Literal["heartbeat"]
    device_id: str = Field(pattern=ID)


class PushedBattery(BatteryBody):
    type: Literal["battery"]
    device_id: str = Field(pattern=ID)


Pushed = Annotated[PushedAlarm | PushedHeartbeat | PushedBattery, Field(discriminator="type")]


class PushIn(BaseModel):
    messages: list[Pushed] = Field(min_length=1, max_length=5000)


BODIES: dict[str, type[BaseModel]] = {"alarm": AlarmBody, "heartbeat": HeartbeatBody, "battery": BatteryBody}


class BadMessage(ValueError):
    """A message refused: `field` names what is wrong (`topic`, `kind`, `at`, `battery`...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class Topic:
    gateway_id: str
    device_id: str
    what: str


def parse_topic(topic: str) -> Topic:
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != TOPIC_ROOT or parts[3] not in BODIES:
        raise BadMessage("topic", f"{topic!r} is not homes/<gateway>/<device>/<alarm|heartbeat|battery>")
    return Topic(parts[1], parts[2], parts[3])


def first_error(e: ValidationError, prefix: str = "") -> BadMessage:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return BadMessage(f"{prefix}{where}", err["msg"])


def parse_body(what: str, payload: bytes) -> BaseModel:
    try:
        raw = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadMessage("body", f"not JSON: {e}") from None
    try:
        return BODIES[what].model_validate(raw)
    except ValidationError as e:
        raise first_error(e) from None


def alarm_command(device_id: str, gateway_id: str | None, body: AlarmBody, via: str) -> RaiseDeviceAlarm:
    return RaiseDeviceAlarm(device_id=device_id, gateway_id=gateway_id, kind=body.kind, raised_at=body.at,
                            value=body.value, via=via, message_id=body.message_id)


def heard_of(device_id: str, body: HeartbeatBody | BatteryBody) -> Heard:
    if isinstance(body, BatteryBody):
        return Heard(device_id, body.at, battery=body.level)
    return Heard(device_id, body.at, battery=body.battery, motion_at=body.motion_at)


def error_report(topic: str, err: BadMessage, at: datetime) -> bytes:
    record: dict[str, Any] = {"topic": topic, "field": err.field, "error": err.message, "at": at.isoformat()}
    return json.dumps(record, ensure_ascii=False).encode()


PUSH_ADAPTER: TypeAdapter[PushIn] = TypeAdapter(PushIn)
