"""The words of an incident's timeline: each entry the log keeps, told as a dispatcher reads it.

The fold keeps the event and the facts of its moment (dispatch.incidents.TimelineEntry); the
prose is the screen's, here, so a wording or a second language never touches the log."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from dispatch import events as ev
from dispatch.state import TimelineEntry


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def _clock(moment: datetime, zone: tzinfo) -> str:
    """A moment as the centre's wall clock shows it (15:16, never the UTC 07:16)."""
    return moment.astimezone(zone).strftime("%H:%M")


def _arriving(f: dict[str, Any], seconds: float | None) -> str:
    # the line's own moment plus the ETA: the time the dispatcher compares with the wall clock
    if seconds is None:
        return ""
    return f", arriving {_clock(f['_at'] + timedelta(seconds=seconds), f['_zone'])}"


def _but(reason: str) -> str:
    return f": {reason}" if reason else ""


def _assigned(e: ev.UnitAssigned, f: dict[str, Any]) -> str:
    eta = f", ETA {_minutes(e.eta_s)} min{_arriving(f, e.eta_s)}" if e.eta_s is not None else ""
    advice = "as recommended" if e.recommended else f"dispatcher's choice: {e.reason}"
    return f"{f['call_sign']} ({e.agency} {f['unit_kind']}) assigned{eta}, {advice}"


def _routed(e: ev.UnitRouted, f: dict[str, Any]) -> str:
    where = f"to {e.hospital_id}" if e.hospital_id else "to the scene"
    return (f"{f['call_sign']} {'re-routed' if f['again'] else 'routed'} {where}, "
            f"{e.length_m / 1000:.1f} km, ETA {_minutes(e.eta_s)} min{_arriving(f, e.eta_s)}: {e.reason}")


def _merged(e: ev.IncidentsMerged, f: dict[str, Any]) -> str:
    if f["side"] == "target":
        return f"{e.source_id} merged in by {e.by}: {e.reason}"
    return f"merged into {e.target_id} by {e.by}: {e.reason}"


# One line per event type, in English; each takes the event and the facts the fold kept.
ENGLISH: dict[type[ev.Event], Callable[[Any, dict[str, Any]], str]] = {
    ev.IncidentOpened: lambda e, f: f"opened from call {e.call_id} ({f['hotline']} {e.kind})",
    ev.CallMerged: lambda e, f: f"call {e.call_id} ({f['hotline']}) joined: {e.reason}",
    ev.TaskCreated: lambda e, f: f"task for {e.agency}: {e.reason}",
    ev.IncidentReclassified: lambda e, f: f"now {e.kind}, severity {e.severity}: {e.reason}",
    ev.CallSplit: lambda e, f: f"call {e.call_id} split out by {e.by}: {e.reason}",
    ev.IncidentsMerged: _merged,
    ev.IncidentStatusChanged: lambda e, f: f"status {e.status} by {e.by}{_but(e.reason)}",
    ev.TaskStatusChanged: lambda e, f: f"{e.agency} task {e.status} by {e.by}",
    ev.IncidentNoteAdded: lambda e, f: f"note by {e.by} ({e.agency}): {e.text}",
    ev.UnitAssigned: _assigned,
    ev.UnitStatusChanged: lambda e, f: f"{f['call_sign']} {e.status}",
    ev.UnitRerouted: lambda e, f: (
        f"{f['call_sign']} re-routed, ETA {_minutes(e.eta_s)} min{_arriving(f, e.eta_s)}: {e.reason}"),
    ev.UnitRouted: _routed,
    ev.GreenWaveRequested: lambda e, f: (
        f"green wave requested for {f['call_sign']}: {len(e.signals)} signals, "
        f"ETA {_minutes(e.eta_green_s)} min{_arriving(f, e.eta_green_s)} instead of {_minutes(e.eta_s)}"),
    ev.GreenWaveAnswered: lambda e, f: "122 signals: " + ", ".join(
        f"{n} {status}" for status, n in f["changed"].items()),
    ev.GreenWaveRetimed: lambda e, f: (
        f"green wave of {f['call_sign']} retimed: {len(e.signals)} windows moved with its ETA"),
    ev.GreenWaveReleased: lambda e, f: f"green wave of {f['call_sign']} released: {e.reason}",
    ev.WhistleBlown: lambda e, f: (
        f"whistle {e.whistle_id} blown by {e.by} ({e.by_agency})"
        + (f" (override: {e.override_reason})" if e.override_reason else "")),
    ev.ConvenerSummoned: lambda e, f: (
        f"{e.agency} {'escalated to' if f['escalated'] else 'summoned'} {e.level} {e.name}"),
    ev.SummonsAcknowledged: lambda e, f: (
        f"{e.agency} acknowledged by {e.name} at {_clock(f['_at'], f['_zone'])}"
        + (" (late)" if e.late else "")),
    ev.SummonsUnanswered: lambda e, f: f"{e.agency}: nobody answered the whistle",
    ev.WhistleEnded: lambda e, f: f"whistle {e.whistle_id} ended: {e.reason}",
    ev.MutualAidRequested: lambda e, f: (
        f"{e.from_agency} asks {e.to_agency} for mutual aid ({e.by}): {e.reason}"),
    ev.MutualAidAnswered: lambda e, f: (
        f"mutual aid {e.request_id} {'accepted' if e.accepted else 'declined'} by {e.by}"),
}


def describe(entry: TimelineEntry, zone: tzinfo = UTC) -> str:
    """The line in English, any clock time in it told in `zone` (the centre's time zone)."""
    tell = ENGLISH.get(type(entry.event))
    if tell is None:
        return entry.type.replace("_", " ")
    return tell(entry.event, {**entry.facts, "_at": entry.at, "_zone": zone})
