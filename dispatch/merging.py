"""Which open incident, if any, a new call is about: near in space, close in time, compatible kind."""

from dataclasses import dataclass
from datetime import datetime

from dispatch.addresses import normalise_address
from dispatch.geo import haversine_m
from dispatch.plans import ResponsePlans
from dispatch.state import DispatchState, Incident


@dataclass(frozen=True)
class MergeRules:
    radius_m: float = 300.0
    window_min: float = 15.0
    # False: each hotline keeps its own incidents (agencies working alone, a replay strategy);
    # repeat calls to the same hotline still join.
    across_hotlines: bool = True


@dataclass(frozen=True)
class NewCall:
    """What merging needs to know of a call before it is in the log."""

    received_at: datetime
    lon: float | None
    lat: float | None
    address: str | None
    kind: str
    caller_number: str | None
    hotline: str | None = None


@dataclass(frozen=True)
class MergeMatch:
    incident_id: str
    distance_m: float | None
    minutes_apart: float
    shared: frozenset[str]
    repeat: bool
    reason: str


def find_match(
    state: DispatchState, call: NewCall, plans: ResponsePlans, rules: MergeRules
) -> MergeMatch | None:
    """The best open incident for this call: the nearest compatible one, then the most recent."""
    best: tuple[float, float, MergeMatch] | None = None
    candidates: set[str] = set()
    if call.lon is not None and call.lat is not None:
        candidates |= state.nearby.around(call.lon, call.lat, rules.radius_m)
    if call.address:
        candidates |= state.by_address.get(normalise_address(call.address), set())
    for incident_id in sorted(candidates):
        inc = state.incidents[incident_id]
        if not inc.active:
            continue
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
    """The incident's best evidence: one earlier call that is near, recent and compatible."""
    best: tuple[float, float, str, set[str], float | None] | None = None
    for other in (state.calls[c] for c in inc.call_ids):
        if not rules.across_hotlines and other.hotline != call.hotline:
            continue
        minutes = abs((call.received_at - other.received_at).total_seconds()) / 60
        if minutes > rules.window_min:
            continue
        shared = plans.compatible(call.kind, other.kind)
        if not shared:
            continue
        distance: float | None = None
        if None not in (call.lon, call.lat, other.lon, other.lat):
            distance = haversine_m(call.lon, call.lat, other.lon, other.lat)  # type: ignore[arg-type]
            if distance > rules.radius_m:
                continue
        elif not normalise_address(call.address) or (
            normalise_address(call.address) != normalise_address(other.address)
        ):
            # Without coordinates on both sides, only the same address text ties calls together.
            continue
        key = (distance if distance is not None else 0.0, minutes)
        if best is None or key < best[:2]:
            best = (*key, other.call_id, shared, distance)
    if best is None:
        return None
    _, minutes, other_id, shared, distance = best
    where = f"{distance:.0f} m" if distance is not None else "same address"
    repeat = bool(call.caller_number) and any(
        state.calls[c].caller_number == call.caller_number for c in inc.call_ids
    )
    reason = (
        f"{where} and {minutes:.1f} min from call {other_id} "
        f"({state.calls[other_id].hotline} {state.calls[other_id].kind}), kinds compatible "
        f"({', '.join(sorted(shared))})" + ("; repeat call from the same number" if repeat else "")
    )
    return MergeMatch(
        incident_id=inc.incident_id, distance_m=distance, minutes_apart=round(minutes, 2),
        shared=frozenset(shared), repeat=repeat, reason=reason,
    )
