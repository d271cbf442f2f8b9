"""Emergency speed profiles: how fast each kind of vehicle drives on each class of road.

Factors apply to the road's free-flow speed; caps keep heavy vehicles honest. Numbers are
defaults a district tunes from its own response records."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpeedProfile:
    name: str
    arterial_factor: float  # trunk, primary, secondary
    local_factor: float  # tertiary, residential, service
    cap_kmh: float


# Chinese law lets a police car, fire engine, ambulance or engineering rescue vehicle on an
# emergency task use bus lanes (Road Traffic Safety Law art. 53: not bound by the route and
# direction restrictions), so ways open only to buses/PSV are imported for them, as
# `emergency_only` edges. A district whose law says otherwise sets this to False.
EMERGENCY_MAY_USE_BUS_LANES = True

ARTERIAL = frozenset({"motorway", "trunk", "primary", "secondary", "motorway_link", "trunk_link",
                      "primary_link", "secondary_link"})

PROFILES: dict[str, SpeedProfile] = {
    "car": SpeedProfile("car", 1.0, 1.0, 130.0),
    "patrol": SpeedProfile("patrol", 1.3, 1.15, 110.0),
    "ambulance": SpeedProfile("ambulance", 1.25, 1.15, 100.0),
    "fire_engine": SpeedProfile("fire_engine", 1.1, 0.95, 80.0),
}


def speed_kmh(profile: str, road_class: str, free_flow_kmh: float) -> float:
    p = PROFILES[profile]
    factor = p.arterial_factor if road_class in ARTERIAL else p.local_factor
    return min(free_flow_kmh * factor, p.cap_kmh)


def speeds_kmh(profile: str, arterial: np.ndarray, free_flow_kmh: np.ndarray) -> np.ndarray:
    """`speed_kmh` for every edge at once; `arterial` marks edges whose class is in ARTERIAL."""
    p = PROFILES[profile]
    factor = np.where(arterial, p.arterial_factor, p.local_factor)
    speeds: np.ndarray = np.minimum(free_flow_kmh * factor, p.cap_kmh)
    return speeds
