"""Which units to send: per agency and unit kind the plan asks for, the fastest capable units.

Pure: drive times come in from the Router, positions from telemetry, so the ranking is the
same in a live run, a replay and a test with a brute-force check."""

from dataclasses import dataclass
from datetime import datetime

from dispatch.decide import Assignment
from dispatch.plans import ResponsePlans
from dispatch.router import LonLat, Router, profile_for
from dispatch.state import DispatchState, Incident
from dispatch.telemetry import Position, is_stale
from dispatch.units import ASSIGNABLE, COMMITTED, Unit, UnitStatus

# A committed unit is proposed instead when it would arrive in under this share of the time of
# the best free unit, and its current incident is less severe.
DIVERT_SHARE = 0.5


@dataclass(frozen=True)
class Candidate:
    unit_id: str
    call_sign: str
    agency: str
    kind: str
    eta_s: float
    stale: bool
    divert_from: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Need:
    """One unit kind an agency must send, with the best candidates, fastest first."""

    agency: str
    kind: str
    candidates: list[Candidate]

    @property
    def pick(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def needs(state: DispatchState, incident: Incident, plans: ResponsePlans) -> list[tuple[str, str]]:
    """(agency, unit kind) pairs the plans of the incident and its calls ask for, per task."""
    out: list[tuple[str, str]] = []
    kinds = [incident.kind] + [state.calls[c].kind for c in incident.call_ids]
    for kind in dict.fromkeys(kinds):
        plan = plans[kind]
        for agency, unit_kinds in plan.units.items():
            if agency in incident.tasks:
                out += [(str(agency), k) for k in unit_kinds if (str(agency), k) not in out]
    for tasked in incident.tasks:  # a task the plan gave no unit kind still needs someone
        if not any(a == tasked for a, _ in out):
            out.append((tasked, ""))
    return out


def units_to_rank(state: DispatchState, incident: Incident, plans: ResponsePlans) -> list[Unit]:
    """Only units of the agencies and kinds this incident needs are worth a search."""
    wanted = needs(state, incident, plans)
    return [u for u in state.units.values() if u.status != UnitStatus.OUT_OF_SERVICE
            and any(u.agency == a and (not k or u.kind == k) for a, k in wanted)]


def drive_times_to(incident: Incident, units: list[Unit], places: dict[str, LonLat],
                   router: Router) -> dict[str, float]:
    """Each unit's drive time from where it is to the incident: one search per speed profile."""
    if incident.lon is None or incident.lat is None:
        return {}
    by_profile: dict[str, dict[str, LonLat]] = {}
    for u in units:
        if u.unit_id in places:
            by_profile.setdefault(profile_for(u.kind), {})[u.unit_id] = places[u.unit_id]
    eta: dict[str, float] = {}
    for profile, sources in by_profile.items():
        eta.update(router.drive_times((incident.lon, incident.lat), sources, profile))
    return eta


def assignments_from(needs: list[Need], chosen: list[str] | None) -> tuple[Assignment, ...]:
    """The recommendation's picks, or the dispatcher's own choice marked as not recommended."""
    picks = {n.pick.unit_id: n.pick for n in needs if n.pick}
    return tuple(
        Assignment(uid, eta_s=picks[uid].eta_s if uid in picks else None,
                   recommended=uid in picks, divert=bool(uid in picks and picks[uid].divert_from))
        for uid in (chosen if chosen is not None else list(picks)))


def recommend(
    state: DispatchState,
    incident: Incident,
    plans: ResponsePlans,
    eta_s: dict[str, float],
    positions: dict[str, Position],
    now: datetime,
    stale_after_s: float = 60.0,
    top: int = 3,
) -> list[Need]:
    """Rank units for each need by drive time (`eta_s` per unit id, from one routing search)."""
    taken = {u for u in incident.unit_ids if state.units[u].incident_id == incident.incident_id}
    result: list[Need] = []
    chosen: set[str] = set()
    for agency, kind in needs(state, incident, plans):
        if any(state.units[u].agency == agency and (not kind or state.units[u].kind == kind)
               for u in taken):
            continue  # already has one on the way
        free: list[Candidate] = []
        busy: list[Candidate] = []
        for unit in state.units.values():
            if unit.agency != agency or (kind and unit.kind != kind) or unit.unit_id in chosen:
                continue
            if unit.unit_id not in eta_s:
                continue
            c = _candidate(unit, eta_s[unit.unit_id], positions.get(unit.unit_id), now, stale_after_s)
            if unit.status in ASSIGNABLE:
                free.append(c)
            elif unit.status in COMMITTED and unit.incident_id:
                current = state.incidents.get(unit.incident_id)
                if current is not None and current.severity < incident.severity:
                    busy.append(c)
        free.sort(key=lambda c: (c.stale, c.eta_s, c.unit_id))
        best_free = free[0].eta_s if free else float("inf")
        diverts = [
            Candidate(**{**c.__dict__, "divert_from": state.units[c.unit_id].incident_id,
                         "reason": f"committed to {state.units[c.unit_id].incident_id} (severity "
                         f"{state.incidents[state.units[c.unit_id].incident_id or ''].severity}) but "
                         f"{c.eta_s / 60:.1f} min away against {best_free / 60:.1f} min for the "
                         f"nearest free unit"})
            for c in sorted(busy, key=lambda c: c.eta_s) if c.eta_s < DIVERT_SHARE * best_free
        ]
        ranked = (diverts[:1] + free)[:top]
        if ranked:
            chosen.add(ranked[0].unit_id)
        result.append(Need(agency=agency, kind=kind, candidates=ranked))
    return result


def _candidate(unit: Unit, eta: float, pos: Position | None, now: datetime, stale_after: float) -> Candidate:
    stale = is_stale(pos, now, stale_after)
    reason = f"{eta / 60:.1f} min by road"
    if stale:
        reason += "; position stale, placed at its last known point"
    return Candidate(unit_id=unit.unit_id, call_sign=unit.call_sign, agency=unit.agency,
                     kind=unit.kind, eta_s=eta, stale=stale, reason=reason)
