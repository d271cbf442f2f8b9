"""Who may drive a way: the OpenStreetMap access hierarchy read per transport mode and direction,
and how each speed profile combines the modes (emergency vehicles on bus lanes where the law
allows it).

Each mode walks its chain from the most general key to the most specific (`access` -> `vehicle`
-> `motor_vehicle` -> `motorcar`), the last tagged one winning, as OSRM and GraphHopper read it.
Values collapse to three levels: NO, DESTINATION (private, destination, delivery, customers:
usable only to reach or leave a place, i.e. as the first or last stretch of a route) and YES."""

from collections.abc import Mapping

import numpy as np

NO, DESTINATION, YES = 0, 1, 2
UNSET = -1  # the way says nothing about this mode in particular

LEVEL = {
    "yes": YES, "permissive": YES, "designated": YES, "official": YES, "discouraged": YES,
    "destination": DESTINATION, "delivery": DESTINATION, "private": DESTINATION,
    "customers": DESTINATION, "permit": DESTINATION,
    "no": NO, "agricultural": NO, "forestry": NO, "use_sidepath": NO,
}

CHAINS: dict[str, tuple[str, ...]] = {
    "motorcar": ("access", "vehicle", "motor_vehicle", "motorcar"),
    "psv": ("access", "vehicle", "motor_vehicle", "psv", "bus"),
    "emergency": ("emergency",),  # only an explicit word for emergency vehicles counts here
}

# What a highway class allows before any access tag (bus-only roads have their own class).
CLASS_DEFAULTS: dict[str, dict[str, int]] = {"busway": {"motorcar": NO, "psv": YES}}

# Service roads that only ever lead to one place: usable at the ends of a route, never through.
DESTINATION_SERVICE = frozenset({"parking_aisle", "driveway", "drive-through"})


def _tag(tags: Mapping[str, str], key: str, direction: str) -> str | None:
    return tags.get(f"{key}:{direction}") or tags.get(key)


def mode_level(tags: Mapping[str, str], highway: str, mode: str, direction: str) -> int:
    """NO, DESTINATION, YES (or UNSET for `emergency` untagged) for one mode and one direction
    ('forward' along the way's node order, 'backward' against it)."""
    level = CLASS_DEFAULTS.get(highway, {}).get(mode, UNSET if mode == "emergency" else YES)
    for key in CHAINS[mode]:
        value = _tag(tags, key, direction)
        if value is not None and value.split(";")[0] in LEVEL:
            level = LEVEL[value.split(";")[0]]
    if mode != "emergency" and highway == "service" and tags.get("service") in DESTINATION_SERVICE:
        level = min(level, DESTINATION)
    return level


def profile_access(emergency: bool, bus_lanes: bool, motorcar: np.ndarray, psv: np.ndarray,
                   emergency_tag: np.ndarray) -> np.ndarray:
    """Per edge, the level a profile gets: a car the motorcar chain; an emergency vehicle its own
    tag where there is one, otherwise the car's or, where the law lets it use bus lanes, the
    better of car and bus."""
    if not emergency:
        return motorcar
    general = np.maximum(motorcar, psv) if bus_lanes else motorcar
    return np.where(emergency_tag != UNSET, emergency_tag, general)
