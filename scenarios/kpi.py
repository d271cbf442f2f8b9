"""Key figures of a replay, read from its event log (the truth) and the world's trips.

Response is measured per real-world event and agency, from the event's first call (to any
hotline) to the agency's first unit on scene, whichever incidents the calls ended up in: so
agencies working alone, with three incidents for one crash, are measured on the same footing as a
joint incident; the stages between (the agency's task, which working alone waits for the call to
be passed on by phone; dispatch; en route) are given too. Only a unit sent after the event's call
reached that incident counts for the event, so a call wrongly merged into another event's incident
is not served by the units already there. An agency the event needed that never arrived counts as
missed, and its response is counted up to the end of the run (right-censored): a mean over every
need, never over the served only. Merge quality is scored against the scenario's `event:` tags."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from dispatch import events as ev
from dispatch.units import UnitStatus

if TYPE_CHECKING:
    from scenarios.model import Expectations, LoadedScenario
    from scenarios.replay import ReplayResult

AGENCIES = ("110", "119", "120", "122")


def stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, "median": None, "p90": None}
    a = np.array(values, dtype=float)
    return {
        "n": len(values),
        "mean": round(float(a.mean()), 1),
        "median": round(float(np.median(a)), 1),
        "p90": round(float(np.percentile(a, 90)), 1),
    }


@dataclass
class LogFacts:
    """What the replay's log says, read once: calls and where they went, assignments, arrivals,
    how long each unit was busy, whistles and the saving each green wave expected."""

    start: datetime
    calls: dict[str, ev.CallReceived] = field(default_factory=dict)
    incident_of: dict[str, str] = field(default_factory=dict)
    joined_at: dict[str, float] = field(default_factory=dict)  # call -> when it reached its incident
    merges: dict[str, ev.CallMerged] = field(default_factory=dict)
    tasks: dict[tuple[str, str], float] = field(default_factory=dict)  # (incident, agency) -> created
    en_route: dict[tuple[str, str], float] = field(default_factory=dict)  # (incident, agency) -> first
    repeat: int = 0
    assigned: dict[str, list[tuple[float, str, str]]] = field(
        default_factory=lambda: defaultdict(list))  # unit -> (t, incident, agency)
    arrivals: list[tuple[float, str, str]] = field(default_factory=list)  # (t, unit, incident)
    unit_agency: dict[str, str] = field(default_factory=dict)
    busy_since: dict[str, float] = field(default_factory=dict)
    busy: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    whistles: dict[str, dict[str, Any]] = field(default_factory=dict)
    expected_saved: list[float] = field(default_factory=list)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)  # home alarms, by alarm id
    responder_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def off(self, t: datetime) -> float:
        return (t - self.start).total_seconds()

    def read(self, e: ev.Event) -> None:
        off = self.off
        match e:
            case ev.CallReceived():
                self.calls[e.call_id] = e
            case ev.IncidentOpened():
                self.incident_of[e.call_id] = e.incident_id
                self.joined_at[e.call_id] = off(e.at)
            case ev.CallMerged():
                self.incident_of[e.call_id] = e.incident_id
                self.joined_at[e.call_id] = off(e.at)
                self.merges[e.call_id] = e
                self.repeat += e.repeat
            case ev.CallSplit():
                self.incident_of.pop(e.call_id, None)
                self.merges.pop(e.call_id, None)
            case ev.TaskCreated():
                self.tasks.setdefault((e.incident_id, e.agency), off(e.at))
            case ev.UnitRegistered():
                self.unit_agency[e.unit_id] = e.agency
            case ev.UnitAssigned():
                self.assigned[e.unit_id].append((off(e.at), e.incident_id, e.agency))
                self.busy_since.setdefault(e.unit_id, off(e.at))
            case ev.UnitStatusChanged():
                if e.status == UnitStatus.ON_SCENE and e.incident_id:
                    self.arrivals.append((off(e.at), e.unit_id, e.incident_id))
                if e.status == UnitStatus.EN_ROUTE and e.incident_id:
                    self.en_route.setdefault((e.incident_id, self.unit_agency[e.unit_id]), off(e.at))
                freed = e.status in (UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE)
                if freed and e.unit_id in self.busy_since:
                    self.busy[e.unit_id] += off(e.at) - self.busy_since.pop(e.unit_id)
            case ev.WhistleBlown():
                self.whistles[e.whistle_id] = {"incident_id": e.incident_id, "blown_s": off(e.at),
                                               "summoned": {}, "acknowledged": {}, "escalations": 0,
                                               "unanswered": []}
            case ev.ConvenerSummoned():
                w = self.whistles[e.whistle_id]
                if e.agency in w["summoned"]:
                    w["escalations"] += 1
                else:
                    w["summoned"][e.agency] = off(e.at)
            case ev.SummonsAcknowledged():
                w = self.whistles[e.whistle_id]
                w["acknowledged"][e.agency] = off(e.at) - w["summoned"][e.agency]
            case ev.SummonsUnanswered():
                self.whistles[e.whistle_id]["unanswered"].append(e.agency)
            case ev.GreenWaveRequested():
                self.expected_saved.append(e.eta_s - e.eta_green_s)
            case ev.DeviceAlarmRaised():
                self.alarms[e.alarm_id] = {
                    "alarm_id": e.alarm_id, "kind": e.kind, "device_id": e.device_id,
                    "event": e.details.get("event", e.alarm_id), "raised_s": off(e.raised_at),
                    "acted": e.acted, "steps": [], "escalated_s": None, "incident_id": None,
                    "resolved_s": None, "outcome": None, "count": 1, "responders": []}
            case ev.DeviceAlarmRepeated():
                self.alarms[e.alarm_id]["count"] = e.count
            case ev.AlarmStepStarted():
                self.alarms[e.alarm_id]["steps"].append(
                    {"action": e.action, "started_s": off(e.at), "outcome": None, "ended_s": None})
            case ev.AlarmStepAnswered() | ev.AlarmStepTimedOut():
                step = self.alarms[e.alarm_id]["steps"][-1]
                step["outcome"] = e.outcome if isinstance(e, ev.AlarmStepAnswered) else "timed_out"
                step["ended_s"] = off(e.at)
            case ev.AlarmEscalated():
                alarm = self.alarms[e.alarm_id]
                if alarm["escalated_s"] is None:
                    alarm["escalated_s"], alarm["incident_id"] = off(e.at), e.incident_id
            case ev.AlarmResolved():
                alarm = self.alarms[e.alarm_id]
                alarm["resolved_s"], alarm["outcome"] = off(e.at), e.outcome
            case ev.ResponderTasked():
                task = {"task_id": e.task_id, "responder_id": e.responder_id, "tasked_s": off(e.at),
                        "accepted_s": None, "arrived_s": None, "outcome": None}
                self.responder_tasks[e.task_id] = task
                self.alarms[e.alarm_id]["responders"].append(task)
            case ev.ResponderReported():
                task = self.responder_tasks[e.task_id]
                if e.report == "outcome":
                    task["outcome"] = e.outcome
                else:
                    task.setdefault(f"{e.report}_s", None)
                    task[f"{e.report}_s"] = task[f"{e.report}_s"] or off(e.at)

    def transferred(self, call_id: str) -> bool:
        """A call one centre passed on to another by phone, not one a caller made."""
        return "transferred_from" in self.calls[call_id].details

    def close_busy(self, end_s: float) -> None:
        """Units still busy at the end count as busy until then."""
        for unit_id, since in self.busy_since.items():
            self.busy[unit_id] += end_s - since
        self.busy_since.clear()


@dataclass
class Responses:
    """Response per real-world event and agency, and the per-agency lists they add up to."""

    per_agency: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {a: defaultdict(list) for a in AGENCIES})
    missed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    within: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_event: list[dict[str, Any]] = field(default_factory=list)
    first_any: list[float] = field(default_factory=list)
    needed: dict[str, list[str]] = field(default_factory=dict)  # event -> agencies it needed


def compute_kpis(scenario: LoadedScenario, result: ReplayResult) -> dict[str, Any]:
    facts = LogFacts(result.start)
    for r in result.records:
        facts.read(r.event)
    facts.close_busy(result.end_s)
    responses = _responses(scenario, facts, result.end_s)
    callers = [c for c in facts.calls if not facts.transferred(c)]
    out: dict[str, Any] = {
        "calls": len(callers),
        "transfers": len(facts.calls) - len(callers),
        "events": len(responses.needed),
        "incidents": len(set(facts.incident_of.values())),
        "repeat_call_rate": round(facts.repeat / len(callers), 3) if callers else 0.0,
        "response_all_s": stats([t for a in AGENCIES for t in responses.per_agency[a]["response"]]),
        "first_on_scene_s": stats(responses.first_any),
        "missed": sum(responses.missed.values()),
        "agencies": _agencies(scenario, responses),
        "green_wave": _green_wave(result, facts),
        "whistles": _whistles(facts),
        "utilisation": _utilisation(facts, result.end_s),
        "trips": _trips(result),
        "merge_quality": merge_quality(facts, responses, result.strategy.joint),
        "per_event": responses.per_event,
        "alarms": home_alarms(facts),
    }
    out["expectations"] = _expectations(scenario, out, facts.whistles, facts.calls, facts.incident_of,
                                        facts.off)
    return out


def _responses(scenario: LoadedScenario, facts: LogFacts, end_s: float) -> Responses:
    calls, off = facts.calls, facts.off
    # the real-world events behind the calls, and what each needed
    event_calls: dict[str, list[str]] = defaultdict(list)
    for call_id, c in calls.items():
        event_calls[event_of(c)].append(call_id)
    incidents_of_event = {
        e: {facts.incident_of[c] for c in cs if c in facts.incident_of} for e, cs in event_calls.items()
    }
    # when the event first reached each of its incidents: units sent before were sent to another event
    reached: dict[tuple[str, str], float] = {}
    for e, cs in event_calls.items():
        for c in cs:
            if c in facts.incident_of and c in facts.joined_at:
                key = (e, facts.incident_of[c])
                reached[key] = min(reached.get(key, facts.joined_at[c]), facts.joined_at[c])
    first_call = {e: min(off(calls[c].received_at) for c in cs) for e, cs in event_calls.items()}
    out = Responses(needed={
        e: sorted({str(a) for c in cs for a in scenario.plans[calls[c].kind].agencies})
        for e, cs in event_calls.items()
    })
    first_assign: dict[tuple[str, str], float] = {}  # (incident, agency)
    for items in facts.assigned.values():
        for t, inc, agency in items:
            key = (inc, agency)
            first_assign[key] = min(first_assign.get(key, t), t)

    def assigned_before(unit_id: str, inc: str, t: float) -> float:
        return max(a for a, i, _ in facts.assigned[unit_id] if i == inc and a <= t)

    def first_arrival(event: str, inc: str, agency: str) -> tuple[float, str, float] | None:
        """(on scene, unit, sent) of the first unit of the agency sent after the event reached inc."""
        since = reached.get((event, inc), 0.0)
        for t, unit_id, i in facts.arrivals:
            if i == inc and facts.unit_agency[unit_id] == agency:
                sent = assigned_before(unit_id, i, t)
                if sent >= since:
                    return t, unit_id, sent
        return None

    def stage(table: dict[tuple[str, str], float], incs: set[str], agency: str, t0: float) -> float | None:
        times = [table[(i, agency)] for i in incs if (i, agency) in table]
        return round(min(times) - t0, 1) if times else None

    targets = scenario.spec.targets
    for event, agencies in sorted(out.needed.items()):
        t0 = first_call[event]
        incs = incidents_of_event[event]
        row: dict[str, Any] = {
            "event": event,
            "kinds": sorted({calls[c].kind for c in event_calls[event]}),
            "calls": sum(not facts.transferred(c) for c in event_calls[event]),
            "transfers": sum(facts.transferred(c) for c in event_calls[event]),
            "first_call_s": round(t0, 1),
            "incidents": sorted(incs),
            "agencies": {},
        }
        arrived_any: list[float] = []
        for agency in agencies:
            lists = out.per_agency[agency]
            a_row: dict[str, Any] = {"task_s": stage(facts.tasks, incs, agency, t0),
                                     "dispatch_s": stage(first_assign, incs, agency, t0),
                                     "en_route_s": stage(facts.en_route, incs, agency, t0),
                                     "travel_s": None, "response_s": None, "missed": False}
            for name in ("task_s", "dispatch_s"):
                if a_row[name] is not None:
                    lists["call_to_task" if name == "task_s" else "call_to_dispatch"].append(a_row[name])
            came = sorted(x for i in incs if (x := first_arrival(event, i, agency)) is not None)
            if not came:
                out.missed[agency] += 1
                a_row["missed"] = True
                lists["response"].append(max(end_s - t0, 0.0))  # counted to the end of the run
                row["agencies"][agency] = a_row
                continue
            t, unit_id, sent = came[0]
            a_row["travel_s"] = round(t - sent, 1)
            lists["travel"].append(t - sent)
            a_row["response_s"] = round(t - t0, 1)
            a_row["unit"] = unit_id
            lists["response"].append(t - t0)
            lists["response_served"].append(t - t0)
            arrived_any.append(t - t0)
            target = targets.get(agency)  # type: ignore[call-overload]
            if target is not None and t - t0 <= target:
                out.within[agency] += 1
            row["agencies"][agency] = a_row
        if arrived_any:
            out.first_any.append(min(arrived_any))
            row["first_on_scene_s"] = round(min(arrived_any), 1)
        out.per_event.append(row)
    return out


def home_alarms(facts: LogFacts) -> dict[str, Any]:
    """Each home alarm's way, in seconds from the device's alarm: verified (the rule's checks
    over: escalated or resolved; none for smoke), dispatched (the first unit sent to its incident
    after the alarm reached it), on scene (the first of those units there), and the community
    responder told, at the home."""
    first_sent: dict[str, list[tuple[float, str]]] = defaultdict(list)  # incident -> (t, unit)
    for unit_id, items in facts.assigned.items():
        for t, inc, _agency in items:
            first_sent[inc].append((t, unit_id))
    rows = []
    for a in facts.alarms.values():
        t0, inc = a["raised_s"], a["incident_id"]
        ends = [t for t in (a["escalated_s"], a["resolved_s"]) if t is not None]
        row: dict[str, Any] = {
            "alarm_id": a["alarm_id"], "kind": a["kind"], "event": a["event"], "count": a["count"],
            "raised_s": round(t0, 1), "incident_id": inc,
            "checks": [f'{s["action"]}: {s["outcome"] or "open"}' for s in a["steps"]],
            "verified_s": round(min(ends) - t0, 1) if ends else None,
            "outcome": "incident" if inc is not None else a["outcome"],
            "dispatch_s": None, "on_scene_s": None, "responder_s": None,
        }
        if inc is not None:
            sent = sorted((t, u) for t, u in first_sent[inc] if t >= a["escalated_s"])
            if sent:
                row["dispatch_s"] = round(sent[0][0] - t0, 1)
                ours = {u for _, u in sent}
                came = [t for t, unit_id, i in facts.arrivals if i == inc and unit_id in ours]
                row["on_scene_s"] = round(min(came) - t0, 1) if came else None
        arrived = [r["arrived_s"] for r in a["responders"] if r.get("arrived_s") is not None]
        row["responder_s"] = round(min(arrived) - t0, 1) if arrived else None
        rows.append(row)

    def figures(name: str) -> dict[str, float | int | None]:
        return stats([r[name] for r in rows if r[name] is not None])

    return {"count": len(rows), "escalated": sum(r["incident_id"] is not None for r in rows),
            "alarm_to_verified_s": figures("verified_s"), "alarm_to_dispatch_s": figures("dispatch_s"),
            "alarm_to_on_scene_s": figures("on_scene_s"), "alarm_to_responder_s": figures("responder_s"),
            "per_alarm": rows}


def event_of(call: ev.CallReceived) -> str:
    """The scenario's real-world event behind a call; untagged calls are each their own."""
    return str(call.details.get("event", call.call_id))


def merge_quality(facts: LogFacts, responses: Responses, joint: bool) -> dict[str, Any]:
    """Merging scored against the scenario's event tags, over pairs of calls people made (a call
    passed on between centres is not a merge decision): precision, the share of pairs put in one
    incident that are one event; recall, the share of one event's pairs put in one incident.
    Working alone, calls to different hotlines are never merged, so only pairs to the same hotline
    count there. Every incident holding calls of more than one event is listed with what it cost."""
    callers = [c for c in facts.calls if not facts.transferred(c) and c in facts.incident_of]

    def scope(c: str) -> str:
        return "" if joint else facts.calls[c].hotline

    def pairs(groups: Counter[tuple[str, ...]]) -> int:
        return sum(n * (n - 1) // 2 for n in groups.values())

    merged = pairs(Counter((scope(c), facts.incident_of[c]) for c in callers))
    same = pairs(Counter((scope(c), event_of(facts.calls[c])) for c in callers))
    both = pairs(Counter((scope(c), facts.incident_of[c], event_of(facts.calls[c])) for c in callers))
    by_incident: dict[str, list[str]] = defaultdict(list)
    for c in callers:
        by_incident[facts.incident_of[c]].append(c)
    rows = {r["event"]: r for r in responses.per_event}
    false_merges = []
    for inc, cs in sorted(by_incident.items()):
        events = sorted({event_of(facts.calls[c]) for c in cs})
        if len(events) < 2:
            continue
        first = event_of(facts.calls[cs[0]])
        wrong = [c for c in cs if c in facts.merges and event_of(facts.calls[c]) != first]
        false_merges.append({
            "incident": inc, "events": events,
            "calls": [{"call": c, "event": event_of(facts.calls[c]), "reason": facts.merges[c].reason,
                       "confidence": facts.merges[c].confidence} for c in wrong],
            # what the merge cost: the merged-in events' own responses (None: never served)
            "effect": {e: {a: rows[e]["agencies"][a]["response_s"] for a in rows[e]["agencies"]}
                       for e in events if e != first and e in rows},
        })
    return {"pairs_merged": merged, "pairs_same_event": same, "pairs_right": both,
            "precision": round(both / merged, 3) if merged else 1.0,
            "recall": round(both / same, 3) if same else 1.0,
            "scope": "all calls" if joint else "calls to the same hotline",
            "false_merges": false_merges}


def _agencies(scenario: LoadedScenario, responses: Responses) -> dict[str, Any]:
    targets = scenario.spec.targets
    out = {}
    for agency in AGENCIES:
        d = responses.per_agency[agency]
        n_needed = sum(agency in a for a in responses.needed.values())
        if not n_needed:
            continue
        out[agency] = {
            "needed": n_needed,
            "served": len(d["response_served"]),
            "missed": responses.missed[agency],
            "call_to_task_s": stats(d["call_to_task"]),
            "call_to_dispatch_s": stats(d["call_to_dispatch"]),
            "travel_s": stats(d["travel"]),
            "response_s": stats(d["response"]),  # every need; a missed one counted to the run's end
            "response_served_s": stats(d["response_served"]),
            "target_s": targets.get(agency),  # type: ignore[call-overload]
            "within_target_share": round(responses.within[agency] / n_needed, 3),
        }
    return out


def _green_wave(result: ReplayResult, facts: LogFacts) -> dict[str, Any]:
    gw = [t for t in result.trips if t.green_wave and t.arrive_s is not None and t.without_priority_s]
    saved = [(t.without_priority_s or 0.0) - (t.duration_s or 0.0) for t in gw]
    return {
        "trips": len(gw),
        "saved_s": stats(saved),
        "saved_total_s": round(sum(saved), 1),
        "expected_saved_s": stats(facts.expected_saved),
        "per_trip": [{"unit_id": t.unit_id, "incident_id": t.incident_id,
                      "with_s": round(t.duration_s or 0, 1), "without_s": round(t.without_priority_s or 0, 1)}
                     for t in gw],
    }


def _whistles(facts: LogFacts) -> dict[str, Any]:
    acks: dict[str, list[float]] = defaultdict(list)
    for w in facts.whistles.values():
        for agency, t in w["acknowledged"].items():
            acks[agency].append(t)
    return {
        "count": len(facts.whistles),
        "blown_after_first_call_s": stats(_whistle_delays(facts.whistles, facts.calls, facts.incident_of,
                                                          facts.off)),
        "ack_s": {a: stats(v) for a, v in sorted(acks.items())},
        "escalations": sum(w["escalations"] for w in facts.whistles.values()),
        "unanswered": sum(len(w["unanswered"]) for w in facts.whistles.values()),
    }


def _utilisation(facts: LogFacts, end_s: float) -> dict[str, float]:
    units_by_agency: dict[str, list[float]] = defaultdict(list)
    for unit_id, agency in facts.unit_agency.items():
        units_by_agency[agency].append(facts.busy.get(unit_id, 0.0) / end_s if end_s > 0 else 0.0)
    return {a: round(float(np.mean(v)), 3) for a, v in sorted(units_by_agency.items())}


def _trips(result: ReplayResult) -> dict[str, Any]:
    done = [t for t in result.trips if t.arrive_s is not None]
    return {
        "count": len(done),
        "signal_wait_s": stats([t.signal_wait_s for t in done]),
        "to_scene_s": stats([t.duration_s for t in done
                             if t.purpose == "to_scene" and t.duration_s is not None]),
    }


def _whistle_delays(
    whistles: dict[str, dict[str, Any]],
    calls: dict[str, ev.CallReceived],
    incident_of: dict[str, str],
    off: Any,
) -> list[float]:
    out = []
    for w in whistles.values():
        received = [
            off(c.received_at) for cid, c in calls.items() if incident_of.get(cid) == w["incident_id"]
        ]
        if received:
            out.append(w["blown_s"] - min(received))
    return out


def _expectations(
    scenario: LoadedScenario,
    kpis: dict[str, Any],
    whistles: dict[str, dict[str, Any]],
    calls: dict[str, ev.CallReceived],
    incident_of: dict[str, str],
    off: Any,
) -> list[dict[str, Any]]:
    """Each expectation met or not, with the worst measured figure (or what is missing), for
    every set the scenario states, in its order."""
    return [row for exp in scenario.spec.expect
            for row in _one_set(exp, kpis, whistles, calls, incident_of, off)]


def _one_set(exp: Expectations, kpis: dict[str, Any], whistles: dict[str, dict[str, Any]],
             calls: dict[str, ev.CallReceived], incident_of: dict[str, str],
             off: Any) -> list[dict[str, Any]]:
    rows = [r for r in kpis["per_event"] if exp.event is None or r["event"] == exp.event]
    incidents = {i for r in rows for i in r["incidents"]}
    mine = {k: w for k, w in whistles.items() if w["incident_id"] in incidents}
    about = f" ({exp.event})" if exp.event else ""
    out: list[dict[str, Any]] = []
    if exp.whistle_within_s is not None:
        delays = _whistle_delays(mine, calls, incident_of, off)
        worst = max(delays) if delays else None
        out.append({"expectation": f"the whistle is blown within {exp.whistle_within_s:.0f} s of the "
                    f"first call{about}", "met": worst is not None and worst <= exp.whistle_within_s,
                    "measured": "not blown" if worst is None else round(worst, 1)})
    if exp.acknowledged_within_s is not None:
        acks = [t for w in mine.values() for t in w["acknowledged"].values()]
        silent = sorted({a for w in mine.values() for a in w["summoned"] if a not in w["acknowledged"]})
        worst = max(acks) if acks else None
        out.append({"expectation": f"every convener acknowledges within {exp.acknowledged_within_s:.0f} s"
                    f"{about}", "met": bool(mine) and not silent and worst is not None
                    and worst <= exp.acknowledged_within_s,
                    "measured": ("not blown" if not mine else f"no answer from {', '.join(silent)}" if silent
                                 else round(worst or 0.0, 1))})
    for agency, limit in exp.on_scene_within_s.items():
        times = [r["agencies"][agency]["response_s"] for r in rows if agency in r["agencies"]]
        missing = sum(t is None for t in times)
        worst = max((t for t in times if t is not None), default=None)
        out.append({"expectation": f"{agency} on scene within {limit:.0f} s of the first call{about}",
                    "met": bool(times) and not missing and worst is not None and worst <= limit,
                    "measured": f"{missing} never came" if missing else worst})
    return out
