"""The home-alarm register as a file or an API body: residents, devices, community responders,
each field checked (pydantic) so a bad entry is refused with its place named
(`residents[3].location.lat`) before anything is written."""

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from dispatch.home_register import ImportRegister

DEMO_REGISTER_FILE = Path(__file__).resolve().parent.parent / "dispatch" / "demo_register.yaml"
PHONE = r"^\+?[0-9 \-]{3,32}$"
ID = r"^[A-Za-z0-9_.\-]{1,64}$"


class Place(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class Contact(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(pattern=PHONE)
    relation: str = Field("contact", max_length=50)


class CarePlan(BaseModel):
    """Medical: shown only to 120, supervisors and the responder sent to the home."""

    model_config = {"extra": "allow"}  # a programme's own care fields travel with the plan
    mobility: str = Field("", max_length=500)
    dementia: bool = False
    medication: list[str] = Field(default_factory=list, max_length=50)
    services: list[str] = Field(default_factory=list, max_length=50)
    plan: str = Field("", max_length=2000, description="The one plan for this person, in words.")


class ResidentIn(BaseModel):
    resident_id: str = Field(pattern=ID)
    name: str = Field(min_length=1, max_length=100)
    address: str = Field(min_length=1, max_length=300)
    location: Place
    phone: str | None = Field(None, pattern=PHONE)
    contacts: list[Contact] = Field(default_factory=list, max_length=10)
    languages: list[str] = Field(default_factory=list, max_length=10)
    care: CarePlan = Field(default_factory=lambda: CarePlan.model_validate({}))


class DeviceIn(BaseModel):
    device_id: str = Field(pattern=ID)
    kind: Literal["smoke_alarm", "motion_sensor", "door_contact", "wristband", "sos_button"]
    resident_id: str = Field(pattern=ID)
    gateway_id: str = Field(pattern=ID, description="The MQTT user the device's gateway logs in as.")
    heartbeat_s: float = Field(300, gt=0, le=7 * 86400, description="How often it is expected to be heard.")


class ResponderIn(BaseModel):
    responder_id: str = Field(pattern=ID)
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["grid_worker", "property_security", "village_team"]
    phone: str = Field(pattern=PHONE)
    base: Place
    areas: list[list[tuple[float, float]]] = Field(
        default_factory=list, max_length=50, description="Polygons covered, each [[lon, lat], ...].")


class RegisterIn(BaseModel):
    residents: list[ResidentIn] = Field(default_factory=list, max_length=100_000)
    devices: list[DeviceIn] = Field(default_factory=list, max_length=500_000)
    responders: list[ResponderIn] = Field(default_factory=list, max_length=10_000)

    def command(self, source: str) -> ImportRegister:
        def resident(r: ResidentIn) -> dict[str, Any]:
            out = r.model_dump(exclude={"location"})
            return {**out, "lon": r.location.lon, "lat": r.location.lat}

        def responder(c: ResponderIn) -> dict[str, Any]:
            out = c.model_dump(exclude={"base"})
            out["areas"] = [[list(p) for p in ring] for ring in c.areas]
            return {**out, "lon": c.base.lon, "lat": c.base.lat}

        return ImportRegister(residents=tuple(resident(r) for r in self.residents),
                              devices=tuple(d.model_dump() for d in self.devices),
                              responders=tuple(responder(c) for c in self.responders), source=source)


class RegisterFileError(ValueError):
    """A register file that cannot be imported; the message names the entry and field."""


def load_register(path: Path) -> RegisterIn:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return RegisterIn.model_validate(raw or {})
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in first["loc"]).replace(".[", "[")
        raise RegisterFileError(f"{path}: {where}: {first['msg']}") from None
    except (OSError, yaml.YAMLError) as e:
        raise RegisterFileError(f"{path}: {e}") from None
