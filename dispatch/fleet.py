"""Stations, hospitals and the units based at them, as a file a district keeps up to date."""

from dataclasses import dataclass
from pathlib import Path

import yaml

from dispatch.agencies import Agency
from dispatch.router import LonLat, Router

DEMO_FLEET_FILE = Path(__file__).with_name("demo_fleet.yaml")


class FleetError(ValueError):
    """A fleet file that cannot be used; the message names the entry and field."""


@dataclass(frozen=True)
class Station:
    station_id: str
    agency: Agency
    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Hospital:
    hospital_id: str
    name: str
    lon: float
    lat: float
    takes: frozenset[str]  # trauma, burns, cardiac, paediatric, ...


@dataclass(frozen=True)
class UnitSpec:
    unit_id: str
    agency: Agency
    kind: str
    call_sign: str
    station_id: str
    crew: int
    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class Fleet:
    stations: dict[str, Station]
    hospitals: dict[str, Hospital]
    units: list[UnitSpec]

    @classmethod
    def load(cls, path: Path | str = DEMO_FLEET_FILE) -> "Fleet":
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
        return cls.from_dict(raw, str(path))

    @classmethod
    def from_dict(cls, raw: dict, src: str = "<fleet>") -> "Fleet":  # type: ignore[type-arg]
        """A fleet from the file's mapping (a scenario file carries one inline)."""
        stations: dict[str, Station] = {}
        for i, s in enumerate(raw.get("stations") or []):
            where = f"{src}: stations[{i}]"
            stations[_req(s, "id", where)] = Station(
                station_id=s["id"], agency=_agency(s, where), name=s.get("name", s["id"]),
                lon=_float(s, "lon", where), lat=_float(s, "lat", where))
        hospitals: dict[str, Hospital] = {}
        for i, h in enumerate(raw.get("hospitals") or []):
            where = f"{src}: hospitals[{i}]"
            hospitals[_req(h, "id", where)] = Hospital(
                hospital_id=h["id"], name=h.get("name", h["id"]), lon=_float(h, "lon", where),
                lat=_float(h, "lat", where), takes=frozenset(h.get("takes") or []))
        units: list[UnitSpec] = []
        for i, u in enumerate(raw.get("units") or []):
            where = f"{src}: units[{i}]"
            station = _req(u, "station", where)
            if station not in stations:
                raise FleetError(f"{where}.station: no station {station!r}")
            count = int(u.get("count", 1))
            for n in range(1, count + 1):
                unit_id = _req(u, "id", where) + (f"-{n}" if count > 1 else "")
                units.append(UnitSpec(
                    unit_id=unit_id, agency=stations[station].agency, kind=_req(u, "kind", where),
                    call_sign=u.get("call_sign", unit_id) + (f" {n}" if count > 1 else ""),
                    station_id=station, crew=int(u.get("crew", 2)),
                    capabilities=tuple(u.get("capabilities") or [])))
        return cls(stations, hospitals, units)

    def hospital_for(self, kind: str, place: LonLat, router: Router) -> tuple[Hospital, float] | None:
        """The nearest hospital by road that takes what a patient of this kind needs."""
        need = HOSPITAL_NEEDS.get(kind, "general")
        able = [h for h in self.hospitals.values() if need in h.takes or not need]
        if not able:
            return None
        times = router.drive_times_from(place, {h.hospital_id: (h.lon, h.lat) for h in able}, "ambulance")
        if not times:
            return None
        best = min(times, key=lambda k: times[k])
        return self.hospitals[best], times[best]


# What a patient from each kind of incident needs the hospital to take.
HOSPITAL_NEEDS = {
    "traffic_crash_injury": "trauma", "person_trapped": "trauma", "fall_from_height": "trauma",
    "fire": "burns", "medical_emergency": "cardiac", "critical_transfer": "cardiac",
    "drowning": "general", "injured_person": "trauma", "natural_disaster": "trauma",
}


def _req(entry: dict, key: str, where: str) -> str:  # type: ignore[type-arg]
    if not isinstance(entry, dict) or key not in entry:
        raise FleetError(f"{where}.{key}: required")
    return str(entry[key])


def _float(entry: dict, key: str, where: str) -> float:  # type: ignore[type-arg]
    try:
        return float(entry[key])
    except (KeyError, TypeError, ValueError):
        raise FleetError(f"{where}.{key}: a number is required") from None


def _agency(entry: dict, where: str) -> Agency:  # type: ignore[type-arg]
    try:
        return Agency(str(entry.get("agency")))
    except ValueError:
        raise FleetError(f"{where}.agency: one of 110, 119, 120, 122") from None
