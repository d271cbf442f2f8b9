"""Which open incident, if any, a new call is about: near in space, close in time, compatible kind.

Calls about one person (a fall at home, chest pain) are held to a tighter radius and window than
calls about a scene many people see (a crash, a fire): two patients a street apart are two
incidents, while twenty calls about one fire are one. The same caller number or the same address
ties calls together at the ordinary limits, since that is evidence of its own."""

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
    # when either call is about one person (the plan's `person: true`): a mobile caller's place is
    # good to some tens of metres, a second patient 200 m away is another patient
    person_radius_m: float = 100.0
    person_window_min: float = 10.0
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
    confidence: float  # 0..1: how strongly place, time and caller say it is the same event


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
    best: tuple[float, float, str, set[str], float | None, float] | None = None
    address = normalise_address(call.address)
    for other in (state.calls[c] for c in inc.call_ids):
        if not rules.across_hotlines and other.hotline != call.hotline:
            continue
        same_caller = bool(call.caller_number) and call.caller_number == other.caller_number
        same_address = bool(address) and address == normalise_address(other.address)
        person = plans[call.kind].person or plans[other.kind].person
        tight = person and not (same_caller or same_address)
        radius = rules.person_radius_m if tight else rules.radius_m
        window = rules.person_window_min if tight else rules.window_min
        minutes = abs((call.received_at - other.received_at).total_seconds()) / 60
        if minutes > window:
            continue
        shared = plans.compatible(call.kind, other.kind)
        if not shared:
            continue
        distance: float | None = None
        if None not in (call.lon, call.lat, other.lon, other.lat):
            distance = haversine_m(call.lon, call.lat, other.lon, other.lat)  # type: ignore[arg-type]
            if distance > radius:
                continue
        elif not same_address:
            # Without coordinates on both sides, only the same address text ties calls together.
            continue
        confidence = _confidence(distance, radius, minutes, window, same_caller or same_address)
        key = (distance if distance is not None else 0.0, minutes)
        if best is None or key < best[:2]:
            best = (*key, other.call_id, shared, distance, confidence)
    if best is None:
        return None
    _, minutes, other_id, shared, distance, confidence = best
    where = f"{distance:.0f} m" if distance is not None else "same address"
    repeat = bool(call.caller_number) and any(
        state.calls[c].caller_number == call.caller_number for c in inc.call_ids
    )
    reason = (
        f"{where} and {minutes:.1f} min from call {other_id} "
        f"({state.calls[other_id].hotline} {state.calls[other_id].kind}), kinds compatible "
        f"({', '.join(sorted(shared))})" + ("; repeat call from the same number" if repeat else "")
        + f"; confidence {confidence:.2f}"
    )
    return MergeMatch(
        incident_id=inc.incident_id, distance_m=distance, minutes_apart=round(minutes, 2),
        shared=frozenset(shared), repeat=repeat, reason=reason, confidence=confidence,
    )


def _confidence(distance: float | None, radius: float, minutes: float, window: float,
                same_source: bool) -> float:
    """Near the limits of radius and window a merge is a guess; at the same place and minute, or
    from the same caller or address, it is close to certain. Shown to the dispatcher, who splits."""
    closeness = 1.0 - 0.5 * ((distance or 0.0) / radius) - 0.5 * (minutes / window)
    return round(max(closeness, 0.9) if same_source else max(closeness, 0.0), 2)
