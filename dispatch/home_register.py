"""The register of the home-alarm programme: residents living alone (home, contacts, languages,
care plan), the devices in their homes (kind, gateway, expected heartbeat) and the community
responders (grid workers, property security, village teams) with the areas they cover.

It is imported from a file (or the API) as one command; every entry becomes an event, so the
log holds the register and a restart or a second process sees the same one. Importing again
updates what changed and leaves the rest."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shapely.geometry import Point, Polygon

from dispatch import events as ev
from dispatch.geo import haversine_m
from dispatch.rejection import Rejected

if TYPE_CHECKING:
    from dispatch.state import DispatchState

DEVICE_KINDS = ("smoke_alarm", "motion_sensor", "door_contact", "wristband", "sos_button")
RESPONDER_KINDS = ("grid_worker", "property_security", "village_team")


@dataclass
class Resident:
    resident_id: str
    name: str
    address: str
    lon: float
    lat: float
    phone: str | None
    contacts: list[dict[str, str]]
    languages: list[str]
    care: dict[str, Any]  # medical: mobility, dementia, medication, services

    @property
    def has_dementia(self) -> bool:
        return bool(self.care.get("dementia"))


@dataclass
class Device:
    device_id: str
    kind: str
    resident_id: str
    gateway_id: str
    heartbeat_s: float
    registered_at: datetime  # until first heard, silence is counted from here


@dataclass
class CommunityResponder:
    responder_id: str
    name: str
    kind: str
    phone: str
    lon: float
    lat: float
    areas: list[list[list[float]]]
    shapes: list[Polygon] = field(default_factory=list, repr=False)

    def covers(self, lon: float, lat: float) -> bool:
        here = Point(lon, lat)
        return any(shape.covers(here) for shape in self.shapes)


@dataclass
class HomeRegister:
    residents: dict[str, Resident] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    responders: dict[str, CommunityResponder] = field(default_factory=dict)

    def nearest_responder(self, lon: float, lat: float) -> tuple[CommunityResponder, str] | None:
        """Whom to tell about a home: the nearest of those whose area covers it, else the nearest
        of all (a home outside every area still gets someone); with the reason said."""
        if not self.responders:
            return None
        covering = [r for r in self.responders.values() if r.covers(lon, lat)]
        pool = covering or list(self.responders.values())
        best = min(pool, key=lambda r: (haversine_m(lon, lat, r.lon, r.lat), r.responder_id))
        far = haversine_m(lon, lat, best.lon, best.lat)
        why = "covers the home's area" if covering else "no responder's area covers the home; nearest"
        return best, f"{why}, {far:.0f} m from their base"


@dataclass(frozen=True)
class ImportRegister:
    """Residents, devices and responders to put in the register (each a dict as the file gives
    it, already checked field by field at the edge); `source` names the file or client."""

    residents: tuple[dict[str, Any], ...] = ()
    devices: tuple[dict[str, Any], ...] = ()
    responders: tuple[dict[str, Any], ...] = ()
    source: str = "api"


def import_register(state: "DispatchState", cmd: ImportRegister, now: datetime) -> list[ev.Event]:
    """The events the import adds: only entries new or changed, so a re-import is cheap and the
    log does not fill with copies. A device must name a resident of the register or the file."""
    reg = state.homes
    out: list[ev.Event] = []
    residents = set(reg.residents)
    for r in cmd.residents:
        e = ev.ResidentRegistered(
            at=now,
            resident_id=r["resident_id"],
            name=r["name"],
            address=r["address"],
            lon=r["lon"],
            lat=r["lat"],
            phone=r.get("phone"),
            contacts=list(r.get("contacts", [])),
            languages=list(r.get("languages", [])),
            care=dict(r.get("care", {})),
            source=cmd.source,
        )
        residents.add(e.resident_id)
        if _changed(reg.residents.get(e.resident_id), e):
            out.append(e)
    for i, d in enumerate(cmd.devices):
        if d["resident_id"] not in residents:
            raise Rejected(
                422,
                f"devices[{i}].resident_id",
                f"device {d['device_id']} names resident {d['resident_id']}, who is not in "
                "the register or the file",
            )
        if d["kind"] not in DEVICE_KINDS:
            raise Rejected(
                422,
                f"devices[{i}].kind",
                f"unknown device kind {d['kind']!r}; known: {', '.join(DEVICE_KINDS)}",
            )
        dev = ev.DeviceRegistered(
            at=now,
            device_id=d["device_id"],
            kind=d["kind"],
            resident_id=d["resident_id"],
            gateway_id=d["gateway_id"],
            heartbeat_s=float(d["heartbeat_s"]),
            source=cmd.source,
        )
        if _changed(reg.devices.get(dev.device_id), dev):
            out.append(dev)
    for i, c in enumerate(cmd.responders):
        if c["kind"] not in RESPONDER_KINDS:
            raise Rejected(
                422,
                f"responders[{i}].kind",
                f"unknown responder kind {c['kind']!r}; known: {', '.join(RESPONDER_KINDS)}",
            )
        for j, ring in enumerate(c.get("areas", [])):
            if len(ring) < 3 or not Polygon(ring).is_valid:
                raise Rejected(
                    422,
                    f"responders[{i}].areas[{j}]",
                    "an area is a polygon of at least three [lon, lat] corners that does not cross itself",
                )
        resp = ev.CommunityResponderRegistered(
            at=now,
            responder_id=c["responder_id"],
            name=c["name"],
            kind=c["kind"],
            phone=c["phone"],
            lon=c["lon"],
            lat=c["lat"],
            areas=[[list(p) for p in ring] for ring in c.get("areas", [])],
            source=cmd.source,
        )
        if _changed(reg.responders.get(resp.responder_id), resp):
            out.append(resp)
    return out


def _changed(known: Any, e: ev.Event) -> bool:
    """Whether the event says anything the register does not already hold."""
    if known is None:
        return True
    return any(
        getattr(known, name) != getattr(e, name)
        for name in vars(known)
        if name != "shapes" and hasattr(e, name)
    )


def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    reg = state.homes
    match e:
        case ev.ResidentRegistered():
            reg.residents[e.resident_id] = Resident(
                resident_id=e.resident_id,
                name=e.name,
                address=e.address,
                lon=e.lon,
                lat=e.lat,
                phone=e.phone,
                contacts=list(e.contacts),
                languages=list(e.languages),
                care=dict(e.care),
            )
        case ev.DeviceRegistered():
            old = reg.devices.get(e.device_id)
            reg.devices[e.device_id] = Device(
                device_id=e.device_id, kind=e.kind, resident_id=e.resident_id, gateway_id=e.gateway_id,
                heartbeat_s=e.heartbeat_s, registered_at=old.registered_at if old else e.at)
        case ev.CommunityResponderRegistered():
            reg.responders[e.responder_id] = CommunityResponder(
                responder_id=e.responder_id,
                name=e.name,
                kind=e.kind,
                phone=e.phone,
                lon=e.lon,
                lat=e.lat,
                areas=e.areas,
                shapes=[Polygon(ring) for ring in e.areas],
            )
