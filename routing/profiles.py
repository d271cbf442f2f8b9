"""Emergency speed profiles: how fast each kind of vehicle drives on each class of road, what a
turn costs it, and where it may turn back.

Factors apply to the road's free-flow speed; caps keep heavy vehicles honest. Turn costs are
seconds added when a route turns at a junction (left across oncoming traffic costs more than
right in right-hand traffic; going straight across a bigger road costs the wait for a gap). A
U-turn is allowed at a dead end for everyone and at junctions only where the profile says so
(emergency vehicles may, at a cost). Numbers are defaults a district tunes from its records."""

from dataclasses import dataclass

import numpy as np

# In China a vehicle on an emergency task may use bus lanes (Road Traffic Safety Law art. 53);
# where the law says otherwise, build the index with `emergency_bus_lanes=False`.
EMERGENCY_MAY_USE_BUS_LANES = True


@dataclass(frozen=True)
class SpeedProfile:
    name: str
    arterial_factor: float  # trunk, primary, secondary
    local_factor: float  # tertiary, residential, service
    cap_kmh: float
    emergency: bool = False  # reads emergency=* and, where the law allows, bus lanes
    left_s: float = 8.0
    right_s: float = 4.0
    straight_across_s: float = 6.0  # straight over a junction whose biggest road is neither of ours
    u_turn_s: float = 25.0
    u_turn_at_junctions: bool = False  # else only at dead ends

    def turn_s(self, kind: str, across: bool) -> float:
        base = {"left": self.left_s, "right": self.right_s, "straight": 0.0, "u_turn": self.u_turn_s}[kind]
        return base + (self.straight_across_s if across and kind == "straight" else 0.0)


# Chinese law lets a police car, fire engine, ambulance or engineering rescue vehicle on an
# emergency task use bus lanes (Road Traffic Safety Law art. 53: not bound by the route and
# direction restrictions), so ways open only to buses/PSV are imported for them, as
# `emergency_only` edges. A district whose law says otherwise sets this to False.
EMERGENCY_MAY_USE_BUS_LANES = True

ARTERIAL = frozenset({"motorway", "trunk", "primary", "secondary", "motorway_link", "trunk_link",
                      "primary_link", "secondary_link"})

PROFILES: dict[str, SpeedProfile] = {
    "car": SpeedProfile("car", 1.0, 1.0, 130.0),
    "patrol": SpeedProfile("patrol", 1.3, 1.15, 110.0, emergency=True, left_s=5.0, right_s=2.0,
                           straight_across_s=3.0, u_turn_s=12.0, u_turn_at_junctions=True),
    "ambulance": SpeedProfile("ambulance", 1.25, 1.15, 100.0, emergency=True, left_s=6.0, right_s=3.0,
                              straight_across_s=4.0, u_turn_s=15.0, u_turn_at_junctions=True),
    "fire_engine": SpeedProfile("fire_engine", 1.1, 0.95, 80.0, emergency=True, left_s=10.0, right_s=6.0,
                                straight_across_s=6.0, u_turn_s=40.0, u_turn_at_junctions=True),
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
