"""Reading OpenStreetMap speed limits: numbers with units, `none`, `walk`, and country zone codes
(`CN:urban`, `DE:rural`, `RU:living_street`, `DE:zone30`) from a table, with a fallback by zone.

Zone values are the statutory limits where no sign says otherwise (OSM wiki "Default speed
limits"); a code for a country not in the table falls back to the generic zone value, so an
unknown country still gets a plausible limit rather than the class default."""

import re
from collections.abc import Mapping

MPH = 1.609344
KNOT = 1.852
WALK_KMH = 7.0  # "Schrittgeschwindigkeit": German courts put it at 4-7 km/h; routing takes the top
NO_LIMIT_KMH = 130.0  # `none`: the speed profiles' caps still apply on top

_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?\s*$")
_ZONE_NUMBER = re.compile(r"^(?:zone|zone:)(\d+)$")

# country -> zone -> km/h. CN from the Road Traffic Safety Law's implementing regulations (art. 45:
# urban 50 / outside towns 70 on roads with one lane each way); the European ones are statutory.
ZONES: dict[str, dict[str, float]] = {
    "CN": {"urban": 50, "rural": 70, "motorway": 120, "trunk": 100, "living_street": 20},
    "DE": {"urban": 50, "rural": 100, "motorway": NO_LIMIT_KMH, "living_street": WALK_KMH},
    "AT": {"urban": 50, "rural": 100, "motorway": 130, "living_street": WALK_KMH},
    "CH": {"urban": 50, "rural": 80, "motorway": 120, "trunk": 100, "living_street": 20},
    "FR": {"urban": 50, "rural": 80, "motorway": 130, "trunk": 110, "living_street": 20},
    "IT": {"urban": 50, "rural": 90, "motorway": 130, "trunk": 110},
    "ES": {"urban": 50, "rural": 90, "motorway": 120, "living_street": 20},
    "NL": {"urban": 50, "rural": 80, "motorway": 130, "living_street": 15},
    "BE": {"urban": 50, "rural": 70, "motorway": 120, "living_street": 20},
    "PL": {"urban": 50, "rural": 90, "motorway": 140, "trunk": 120, "living_street": 20},
    "CZ": {"urban": 50, "rural": 90, "motorway": 130, "living_street": 20},
    "FI": {"urban": 50, "rural": 80, "motorway": 120, "living_street": 20},
    "SE": {"urban": 50, "rural": 70, "motorway": 110, "living_street": WALK_KMH},
    "NO": {"urban": 50, "rural": 80, "motorway": 110, "living_street": WALK_KMH},
    "DK": {"urban": 50, "rural": 80, "motorway": 130, "living_street": 15},
    "RU": {"urban": 60, "rural": 90, "motorway": 110, "living_street": 20},
    "UA": {"urban": 50, "rural": 90, "motorway": 130, "living_street": 20},
    "GB": {"nsl_single": 60 * MPH, "nsl_dual": 70 * MPH, "motorway": 70 * MPH, "urban": 30 * MPH},
}
FALLBACK_ZONES: Mapping[str, float] = {"urban": 50, "rural": 80, "motorway": 110, "trunk": 90,
                                       "living_street": 20, "nsl_single": 60 * MPH, "nsl_dual": 70 * MPH}


def parse_maxspeed(value: str | None) -> float | None:
    """A `maxspeed` value in km/h: '50', '50 km/h', '30 mph', 'none', 'walk', 'CN:urban',
    'DE:zone30'; None where it says nothing usable ('signals', 'variable', garbage)."""
    if not value:
        return None
    value = value.split(";")[0].strip()
    m = _NUMBER.match(value)
    if m:
        speed = float(m.group(1))
        unit = m.group(2)
        return speed * MPH if unit == "mph" else speed * KNOT if unit == "knots" else speed
    if value == "none":
        return NO_LIMIT_KMH
    if value == "walk":
        return WALK_KMH
    if ":" in value:
        country, zone = value.split(":", 1)
        zone = zone.lower()
        number = _ZONE_NUMBER.match(zone)
        if number:  # a 30 zone: the number is the limit wherever the country
            return float(number.group(1))
        table = ZONES.get(country.upper(), {})
        if zone in table:
            return float(table[zone])
        if zone in FALLBACK_ZONES:
            return float(FALLBACK_ZONES[zone])
    return None


def way_speeds_kmh(tags: Mapping[str, str], class_default: float) -> tuple[float, float]:
    """(along the way's node order, against it): directional limits first, then `maxspeed`, then
    the zone a `maxspeed:type` / `source:maxspeed` / `zone:maxspeed` names, then the class default."""
    both = parse_maxspeed(tags.get("maxspeed"))
    if both is None:
        for key in ("maxspeed:type", "source:maxspeed", "zone:maxspeed"):
            both = parse_maxspeed(tags.get(key))
            if both is not None:
                break
    base = both if both is not None else class_default
    forward = parse_maxspeed(tags.get("maxspeed:forward"))
    backward = parse_maxspeed(tags.get("maxspeed:backward"))
    return (forward if forward is not None else base), (backward if backward is not None else base)
