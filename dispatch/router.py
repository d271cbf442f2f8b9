"""What dispatch needs from the road network, as a small interface the routing package fills.

Keeping it here lets the core be tested with a straight-line fake and the engine be swapped."""

from dataclasses import dataclass, field
from typing import Protocol

LonLat = tuple[float, float]


@dataclass(frozen=True)
class SignalPassage:
    """One signal on a route: where the unit meets it and how long it would wait there."""

    signal_id: str
    approach: str
    eta_s: float
    expected_delay_s: float


@dataclass(frozen=True)
class RoutePlan:
    eta_s: float  # expected, with red-signal waiting
    eta_green_s: float  # with every signal held green for the unit
    length_m: float
    coords: list[LonLat]
    signals: list[SignalPassage] = field(default_factory=list)


class Router(Protocol):
    def drive_times(self, to: LonLat, sources: dict[str, LonLat], profile: str) -> dict[str, float]:
        """Seconds from every source to one place, in one search; unreachable ones left out."""
        ...

    def drive_times_from(self, origin: LonLat, places: dict[str, LonLat], profile: str) -> dict[str, float]:
        """Seconds from one place to each of many (a patient to every hospital), one search."""
        ...

    def route(self, origin: LonLat, destination: LonLat, profile: str) -> RoutePlan: ...


# The emergency speed profile each unit kind drives with.
PROFILE_OF_KIND = {
    "ambulance": "ambulance",
    "fire_engine": "fire_engine",
    "ladder": "fire_engine",
    "rescue_truck": "fire_engine",
    "patrol_car": "patrol",
    "traffic_police_car": "patrol",
}


def profile_for(kind: str) -> str:
    return PROFILE_OF_KIND.get(kind, "car")
