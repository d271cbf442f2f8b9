"""Which open incident, if any, a new call is about: near in space, close in time, compatible kind."""

from dataclasses import dataclass
from datetime import datetime

from dispatch.geo import haversine_m
from dispatch.plans import ResponsePlans
from dispatch.state import DispatchState, Incident


@dataclass(frozen=True)
class MergeRules:
    radius_m: float = 300.0
    window_min: float = 15.0


@dataclass(frozen=True)
class NewCall:
    """What merging needs to know of a call before it is in the log."""

    received_at: datetime
    lon: float | None
    lat: float | None
    address: str | None
    kind: str
    caller_number: str | None


@dataclass(frozen=True)
class MergeMatch:
    incident_id: str
    distance_m: float | None
    minutes_apart: float
    shared: frozenset[str]
    repeat: bool
    reason: str


def normalise_address(text: str | None) -> str:
    return " ".join((text or "").lower().replace(",", " ").split())


def find_match(
    state: DispatchState, call: NewCall, plans: ResponsePlans, rules: MergeRules
) -> MergeMatch | None:
    """The best open incident for this call: the nearest compatible one, then the most recent."""
    best: tuple[float, float, MergeMatch] | None = None
    for inc in state.active_incidents():
        match = _match_one(state, inc, call, plans, rules)
        if match is None:
            continue
        key = (match.distance_m if match.distance_m is not None else 0.0, match.minutes_apart)
        if best is None or key < best[:2]:
            best = (*key, match)
    return best[2] if best else None


def _match_one(
    state: DispatchState, inc: Incident, call: NewCall, plans: ResponsePlans, rules: MergeRules
) -> MergeMatch | None:
    calls = [state.calls[c] for c in inc.call_ids]
    if not calls:
        return None
    minutes = min(abs((call.received_at - c.received_at).total_seconds()) / 60 for c in calls)
    if minutes > rules.window_min:
        return None
    shared: set[str] = set()
    for c in calls:
        shared |= plans.compatible(call.kind, c.kind)
    if not shared:
        return None
    distance: float | None = None
    if call.lon is not None and call.lat is not None:
        located = [c for c in calls if c.lon is not None and c.lat is not None]
        if located:
            distance = min(haversine_m(call.lon, call.lat, c.lon, c.lat) for c in located)  # type: ignore[arg-type]
    if distance is not None:
        if distance > rules.radius_m:
            return None
        where = f"{distance:.0f} m"
    else:
        # Without coordinates on both sides, only the same address text can tie calls together.
        same_address = normalise_address(call.address) and any(
            normalise_address(c.address) == normalise_address(call.address) for c in calls
        )
        if not same_address:
            return None
        where = "same address"
    repeat = bool(call.caller_number) and any(c.caller_number == call.caller_number for c in calls)
    reason = (
        f"{where} and {minutes:.1f} min from an earlier call, kinds compatible "
        f"({', '.join(sorted(shared))})" + ("; repeat call from the same number" if repeat else "")
    )
    return MergeMatch(
        incident_id=inc.incident_id, distance_m=distance, minutes_apart=round(minutes, 2),
        shared=frozenset(shared), repeat=repeat, reason=reason,
    )
