"""Traffic in the SUMO evaluation: background demand at named levels (SUMO's randomTrips, seeded)
and the vehicle types of the background drivers and the responding units.

Drivers are deterministic (no dawdling, no speed spread): runs paired on one seed then differ only
by what the unit and its signals do, so the delay imposed on other traffic is measured, not noise.
The seed varies the demand (who goes where, when)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from routing.profiles import PROFILES

# Vehicles inserted per hour per km of road (randomTrips --insertion-density). Medium is what
# the demo district carries in an ordinary weekday hour: queues at the arterial signals that
# clear every cycle; high leaves some queues standing at the end of a green.
LEVELS = {"low": 8.0, "medium": 16.0, "high": 24.0}

# Background trips stay local (400 m .. 2.5 km): in a long corridor district, random pairs of
# far-apart edges would keep every car on the road for the whole run and jam the district.
MAX_TRIP_M = 2500
BACKGROUND = "background"
UNIT = "unit"  # the responding unit driving as ordinary traffic: obeys every signal
UNIT_BLUE_LIGHT = "unit_bluelight"  # with siren: may cross red slowly, others make way
# A unit crossing a red light on blue light slows to this (20 km/h): it must see the cross
# traffic stop first.
DRIVE_RED_SPEED_MS = 5.5


@dataclass(frozen=True)
class UnitType:
    """The SUMO vehicle type of a unit kind, from the routing speed profile it drives with."""

    profile: str
    length_m: float
    accel: float
    decel: float

    @property
    def speed_factor(self) -> float:
        p = PROFILES[self.profile]
        return round((p.arterial_factor + p.local_factor) / 2, 3)


UNIT_TYPES = {
    "ambulance": UnitType("ambulance", 6.5, 2.6, 4.5),
    "patrol_car": UnitType("patrol", 4.8, 2.9, 5.0),
    "fire_engine": UnitType("fire_engine", 10.0, 1.5, 4.0),
}


def background_type_file(out: Path) -> Path:
    """The background drivers' type, for randomTrips/duarouter (it ends up in the route file)."""
    root = ET.Element("additional")
    ET.SubElement(root, "vType", id=BACKGROUND, vClass="passenger", sigma="0", speedDev="0")
    path = out / "vtype-background.add.xml"
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def vehicle_types_file(out: Path, kind: str) -> Path:
    """An additional file with the unit's two types (with and without the blue-light device)."""
    unit = UNIT_TYPES.get(kind, UNIT_TYPES["ambulance"])
    root = ET.Element("additional")
    common = {"vClass": "emergency", "sigma": "0", "speedDev": "0", "length": str(unit.length_m),
              "accel": str(unit.accel), "decel": str(unit.decel), "speedFactor": str(unit.speed_factor),
              "maxSpeed": str(PROFILES[unit.profile].cap_kmh / 3.6)}
    ET.SubElement(root, "vType", id=UNIT, **common)
    blue = ET.SubElement(root, "vType", id=UNIT_BLUE_LIGHT, jmDriveRedSpeed=str(DRIVE_RED_SPEED_MS), **common)
    ET.SubElement(blue, "param", key="has.bluelight.device", value="true")
    path = out / f"vtypes-{kind}.add.xml"
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def random_trips_script() -> Path:
    import sumo

    return Path(sumo.SUMO_HOME) / "tools" / "randomTrips.py"


def background_trips(net_file: Path, vtypes: Path, out: Path, level: str, seed: int, end_s: float) -> Path:
    """Seeded random background trips over the whole district from time 0 to `end_s`, routed by
    duarouter (randomTrips needs the routes to keep trips under the maximum length): a route file."""
    if level not in LEVELS:
        raise ValueError(f"traffic level: one of {', '.join(LEVELS)}")
    # Absolute, since randomTrips runs in `out` (where duarouter leaves its side files): a path
    # relative to here (the default var/replays/... folder) named nothing there.
    out, net_file, vtypes = out.resolve(), net_file.resolve(), vtypes.resolve()
    trips = out / f"background-{level}-seed{seed}.trips.xml"
    routes = out / f"background-{level}-seed{seed}.rou.xml"
    cmd = [sys.executable, str(random_trips_script()), "-n", str(net_file), "-a", str(vtypes),
           "-o", str(trips), "-r", str(routes),
           "-b", "0", "-e", f"{end_s:.0f}", "--insertion-density", str(LEVELS[level]), "--seed", str(seed),
           "--fringe-factor", "5", "--min-distance", "400", "--max-distance", str(MAX_TRIP_M),
           "--prefix", "bg",
           "--trip-attributes", f'type="{BACKGROUND}" departLane="best" departSpeed="max"',
           "--remove-loops"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=out)
    if done.returncode != 0:
        raise RuntimeError(f"randomTrips failed: {done.stderr.strip()[-2000:]}")
    return routes
