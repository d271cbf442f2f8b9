"""The events of the joint-dispatch log: every input and every decision, and how they serialise."""

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from dispatch.router import SignalPassage
from dispatch.signal_windows import SignalAnswer, SignalWindow


@dataclass(frozen=True)
class Event:
    """Base of all events; `at` is when the decision was taken, on the injected clock."""

    at: datetime
    type: ClassVar[str] = "event"


EVENT_TYPES: dict[str, type[Event]] = {}


def event(cls: type[Event]) -> type[Event]:
    """Register an event class under its wire name, so the log can be read back."""
    name = "".join("_" + c.lower() if c.isupper() else c for c in cls.__name__).lstrip("_")
    cls.type = name
    EVENT_TYPES[name] = cls
    return cls


@event
@dataclass(frozen=True)
class CallReceived(Event):
    call_id: str
    hotline: str
    received_at: datetime
    caller_number: str | None
    lon: float | None
    lat: float | None
    address: str | None
    kind: str
    text: str
    idempotency_key: str | None = None
    fingerprint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@event
@dataclass(frozen=True)
class IncidentOpened(Event):
    incident_id: str
    call_id: str
    kind: str
    severity: int
    lon: float | None
    lat: float | None
    address: str | None
    whistle_qualifies: bool
    reason: str


@event
@dataclass(frozen=True)
class CallMerged(Event):
    """A call joined an open incident; `reason` says why, so a dispatcher can judge it."""

    call_id: str
    incident_id: str
    reason: str
    distance_m: float | None
    minutes_apart: float
    repeat: bool
    confidence: float | None = None  # None: logged before merges stated one


@event
@dataclass(frozen=True)
class TaskCreated(Event):
    incident_id: str
    agency: str
    reason: str


@event
@dataclass(frozen=True)
class IncidentReclassified(Event):
    incident_id: str
    kind: str
    severity: int
    whistle_qualifies: bool
    reason: str


@event
@dataclass(frozen=True)
class CallSplit(Event):
    """A dispatcher took a wrongly merged call out; an IncidentOpened for it follows."""

    call_id: str
    from_incident_id: str
    reason: str
    by: str


@event
@dataclass(frozen=True)
class IncidentsMerged(Event):
    """Two incidents were found to be one event: the source folds into the target."""

    target_id: str
    source_id: str
    reason: str
    by: str


@event
@dataclass(frozen=True)
class IncidentStatusChanged(Event):
    incident_id: str
    status: str
    by: str
    reason: str = ""


@event
@dataclass(frozen=True)
class IncidentNoteAdded(Event):
    """A line of an incident's narrative, written by one agency's dispatcher."""

    incident_id: str
    agency: str
    by: str
    text: str


@event
@dataclass(frozen=True)
class CheckInRecorded(Event):
    """An agency's crew on scene answered its check-in: the agency's scene timer starts again."""

    incident_id: str
    agency: str
    by: str


@event
@dataclass(frozen=True)
class TaskStatusChanged(Event):
    incident_id: str
    agency: str
    status: str
    by: str


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def to_record(e: Event) -> dict[str, Any]:
    body = {f.name: _encode(getattr(e, f.name)) for f in dataclasses.fields(e)}
    return {"type": e.type, **body}


def to_json(e: Event) -> str:
    return json.dumps(to_record(e), separators=(",", ":"), ensure_ascii=False)


Decoder = Callable[[Any], Any]


def _decoder(hint: Any) -> Decoder | None:
    """How a JSON value becomes the field's type; None where JSON already gives it. Worked out
    once per class: long logs are read back event by event."""
    if hint is datetime:
        return lambda v: datetime.fromisoformat(v) if isinstance(v, str) else v
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return hint
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _record_decoder(hint)
    if typing.get_origin(hint) is tuple:
        item = _decoder(typing.get_args(hint)[0])
        if item is None:
            return tuple
        return lambda v: tuple(item(x) for x in v)
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        present = _decoder(options[0]) if len(options) == 1 else None
        if present is None:
            return None
        return lambda v: None if v is None else present(v)
    return None


@functools.cache
def _fields_of(cls: type) -> tuple[tuple[str, Decoder | None], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls) if f.init)


def _record_decoder(cls: type) -> Decoder:
    def build(record: dict[str, Any]) -> Any:
        kwargs: dict[str, Any] = {}
        for name, decode in _fields_of(cls):
            if name in record:
                value = record[name]
                kwargs[name] = decode(value) if decode is not None else value
        return cls(**kwargs)
    return build


def from_record(record: dict[str, Any]) -> Event:
    record = dict(record)
    cls = EVENT_TYPES[record.pop("type")]
    event: Event = _record_decoder(cls)(record)
    return event


def from_json(text: str | bytes) -> Event:
    return from_record(json.loads(text))


@event
@dataclass(frozen=True)
class UnitRegistered(Event):
    unit_id: str
    agency: str
    kind: str
    call_sign: str
    station_id: str
    crew: int
    capabilities: list[str] = field(default_factory=list)


@event
@dataclass(frozen=True)
class UnitStatusChanged(Event):
    unit_id: str
    status: str
    by: str
    incident_id: str | None = None
    reason: str = ""
    hospital_id: str | None = None  # transporting: where the crew takes the patient, if it says


@event
@dataclass(frozen=True)
class UnitAssigned(Event):
    """A unit sent to an incident; `recommended` says whether the dispatcher took the advice."""

    unit_id: str
    incident_id: str
    agency: str
    by: str
    recommended: bool
    eta_s: float | None = None
    reason: str = ""


@event
@dataclass(frozen=True)
class LeadHandedOver(Event):
    """The day's lead centre had no live console for the set time: the next centre in the
    rotation with one leads now, and its convener on duty is told."""

    day: str  # ISO date of the duty day
    from_agency: str
    to_agency: str
    reason: str
    dark_since: datetime
    told: str  # the incoming lead's convener
    channel: str


@event
@dataclass(frozen=True)
class RosterDayPlanned(Event):
    """A supervisor's plan for one duty day; it overrides the default rotation for that day."""

    day: str  # ISO date of the duty day
    lead: str
    duties: dict[str, dict[str, dict[str, str]]]  # agency -> level -> {name, channel}
    by: str


@event
@dataclass(frozen=True)
class WhistleBlown(Event):
    whistle_id: str
    incident_id: str
    by: str
    by_agency: str
    roster_day: str
    lead: str
    override_reason: str = ""


@event
@dataclass(frozen=True)
class ConvenerSummoned(Event):
    """One agency's person on duty summoned; silence past the deadline escalates."""

    whistle_id: str
    agency: str
    level: str  # convener, backup, chief
    name: str
    channel: str
    deadline: datetime


@event
@dataclass(frozen=True)
class SummonsAcknowledged(Event):
    whistle_id: str
    agency: str
    level: str
    name: str
    late: bool


@event
@dataclass(frozen=True)
class SummonsUnanswered(Event):
    """Even the duty chief stayed silent: the agency is shown red until someone answers."""

    whistle_id: str
    agency: str


@event
@dataclass(frozen=True)
class WhistleEnded(Event):
    whistle_id: str
    reason: str


@event
@dataclass(frozen=True)
class UnitRerouted(Event):
    """The unit left its route (or the roads changed): it was given a new one from where it is."""

    unit_id: str
    incident_id: str
    eta_s: float
    reason: str


@event
@dataclass(frozen=True)
class RoadClosed(Event):
    """A stretch of road closed to traffic: routes avoid it from now on."""

    restriction_id: str
    road: list[list[float]]  # [[lon, lat], [lon, lat]]: the stretch, first end to last
    both_ways: bool  # else only in the direction from the first end to the last
    reason: str
    by: str
    by_agency: str


@event
@dataclass(frozen=True)
class RoadSlowed(Event):
    """A stretch of road passable only slowly (works, flooding, a crash cleared to one lane)."""

    restriction_id: str
    road: list[list[float]]
    both_ways: bool
    speed_kmh: float
    reason: str
    by: str
    by_agency: str


@event
@dataclass(frozen=True)
class RoadReopened(Event):
    """A closed or slowed stretch back to its normal speed."""

    restriction_id: str
    by: str


@event
@dataclass(frozen=True)
class GreenWaveRequested(Event):
    """The 122 centre's signals were asked to hold green along a unit's route."""

    unit_id: str
    incident_id: str
    whistle_id: str | None
    eta_s: float  # the route's ETA with expected red waiting
    eta_green_s: float  # and with every signal green
    signals: tuple[SignalWindow, ...]


@event
@dataclass(frozen=True)
class GreenWaveAnswered(Event):
    """What the signal system said, signal by signal: granted, queued, refused, or degraded."""

    unit_id: str
    incident_id: str
    answers: tuple[SignalAnswer, ...]


@event
@dataclass(frozen=True)
class GreenWaveRetimed(Event):
    """The unit drifted from its ETA past the threshold: these windows were sent again."""

    unit_id: str
    incident_id: str
    signals: tuple[SignalWindow, ...]  # only the moment and the window are re-sent


@event
@dataclass(frozen=True)
class GreenWaveReleased(Event):
    """Junctions given back: the unit passed their stop lines, left its route, or its task ended."""

    unit_id: str
    incident_id: str
    signal_ids: list[str]
    reason: str


@event
@dataclass(frozen=True)
class UnitRouted(Event):
    """A unit was given a route: to the scene on assignment, to a hospital when transporting, or
    a new one after it strayed or a road closed. The path is in the log (an encoded polyline,
    precision 6, as OSRM and Valhalla write it), so every process and every restart follows the
    same route."""

    unit_id: str
    incident_id: str
    purpose: str  # to_scene, to_hospital
    destination: list[float]  # [lon, lat]
    eta_s: float
    eta_green_s: float
    length_m: float
    polyline: str
    signals: tuple[SignalPassage, ...]
    reason: str
    hospital_id: str | None = None


@event
@dataclass(frozen=True)
class MutualAidRequested(Event):
    """One agency asks another to lend its units to an incident."""

    request_id: str
    incident_id: str
    from_agency: str
    to_agency: str
    by: str
    reason: str


@event
@dataclass(frozen=True)
class MutualAidAnswered(Event):
    request_id: str
    incident_id: str
    accepted: bool
    by: str
    reason: str = ""


# --- homes: the register of residents, their devices and community responders (issue 20) ----


@event
@dataclass(frozen=True)
class ResidentRegistered(Event):
    """A resident of the home-alarm programme, as the register file gives them. `care` is the
    care plan (mobility, dementia, medication, services): medical fields, shown only to those the
    field rules allow. A resident registered again is updated (the register file is re-imported)."""

    resident_id: str
    name: str
    address: str
    lon: float
    lat: float
    phone: str | None
    contacts: list[dict[str, str]]  # [{name, phone, relation}], called back in this order
    languages: list[str]
    care: dict[str, Any]
    source: str  # the file or API import it came from


@event
@dataclass(frozen=True)
class DeviceRegistered(Event):
    device_id: str
    kind: str  # smoke_alarm, motion_sensor, door_contact, wristband, sos_button
    resident_id: str
    gateway_id: str
    heartbeat_s: float  # how often it is expected to be heard; silent past it is a maintenance task
    source: str


@event
@dataclass(frozen=True)
class CommunityResponderRegistered(Event):
    """A grid worker, property security or village team, and the areas (polygons) they cover."""

    responder_id: str
    name: str
    kind: str  # grid_worker, property_security, village_team
    phone: str
    lon: float  # where they are based, for "nearest"
    lat: float
    areas: list[list[list[float]]]  # polygons, each [[lon, lat], ...]
    source: str


# --- home alarms: raised, repeated, verified, escalated into incidents ----------------------------


@event
@dataclass(frozen=True)
class DeviceAlarmRaised(Event):
    """A device's alarm, as the first message told it; repeats of it only count up."""

    alarm_id: str
    device_id: str
    resident_id: str
    kind: str  # smoke, fall, sos, no_motion, door_open, heart_rate
    raised_at: datetime  # the device's (gateway's) own time
    value: float | None
    via: str  # mqtt, http, watch (raised by this system's own device watch)
    message_id: str | None
    lon: float
    lat: float
    acted: bool  # False: the rule's condition was not met (e.g. a door by day), recorded only
    reason: str
    # passed on to the call the alarm makes (a replay tags the real-world event it is about)
    details: dict[str, Any] = field(default_factory=dict)


@event
@dataclass(frozen=True)
class DeviceAlarmRepeated(Event):
    """The same device raised the same alarm again while it was open (a repeat or a flap)."""

    alarm_id: str
    count: int
    raised_at: datetime
    message_id: str | None


@event
@dataclass(frozen=True)
class AlarmStepStarted(Event):
    """One step of the alarm's rule: a call back to the resident or a contact, or a community
    responder's welfare check. Its outcome, or the deadline passing, decides the next step."""

    alarm_id: str
    step: int  # index in the rule's steps
    action: str  # call_resident, call_contact, welfare_check
    deadline: datetime
    who: str  # whom to call or send: a name and phone, or a responder id
    responder_id: str | None = None


@event
@dataclass(frozen=True)
class AlarmStepAnswered(Event):
    alarm_id: str
    step: int
    outcome: str  # all_well, needs_help, no_answer
    by: str
    note: str = ""


@event
@dataclass(frozen=True)
class AlarmStepTimedOut(Event):
    alarm_id: str
    step: int
    deadline: datetime


@event
@dataclass(frozen=True)
class AlarmEscalated(Event):
    """The alarm became (or joined) an incident: the call it made is in the log just before."""

    alarm_id: str
    call_id: str
    incident_id: str
    reason: str


@event
@dataclass(frozen=True)
class AlarmResolved(Event):
    alarm_id: str
    outcome: str  # all_well, false_alarm, not_acted, incident_closed
    by: str
    reason: str


@event
@dataclass(frozen=True)
class ResponderTasked(Event):
    """A community responder asked to go to a resident's home (told, not a deadline of the rule)."""

    task_id: str
    alarm_id: str
    responder_id: str
    resident_id: str
    ask: str
    reason: str  # why this responder: covers the home's area, distance


@event
@dataclass(frozen=True)
class ResponderReported(Event):
    """What a community responder reports: accepted, arrived, or the outcome in words."""

    task_id: str
    responder_id: str
    report: str  # accepted, arrived, outcome
    outcome: str = ""  # all_well, needs_help (with report=outcome)
    note: str = ""


# --- device health: maintenance tasks for the programme, never emergencies ----------------------


@event
@dataclass(frozen=True)
class MaintenanceTaskOpened(Event):
    task_id: str
    device_id: str
    reason: str  # silent, low_battery
    detail: str


@event
@dataclass(frozen=True)
class MaintenanceTaskClosed(Event):
    task_id: str
    device_id: str
    reason: str  # heard again, battery recovered, visited
    by: str


# --- staging posts: plans a supervisor accepts, posts opened and closed, units posted (issue 19) --


@dataclass(frozen=True)
class PlannedPost:
    """One post of a plan: where, whose, how many units, and the figures that put it there.

    `cells` are the H3 cells it reaches within its agency's target time; `rate_per_hour` is the
    expected incidents an hour in them for the plan's period (the figure a later plan compares
    against when it closes the post)."""

    post_id: str
    name: str
    lon: float
    lat: float
    agency: str
    units: int
    cells: tuple[str, ...]
    rate_per_hour: float
    coverage: float  # share of the agency's expected demand this post's units cover in time
    reason: str


@dataclass(frozen=True)
class PlannedClosing:
    """A post open now that the plan would close, and why in figures."""

    post_id: str
    rate_was_per_hour: float  # in its cells, when it was opened
    rate_now_per_hour: float  # in the same cells, for the plan's period
    reason: str


@event
@dataclass(frozen=True)
class PostPlanProposed(Event):
    """A plan for a period, built from the log's demand: nothing changes until it is accepted.

    `opens` are posts not open now; `keeps` posts open now that the plan keeps (their figures
    for this period); `closes` the open posts it would close. `base` is the posts open when it
    was proposed: accepting a plan made on other posts than those open then is refused."""

    plan_id: str
    period: str
    by: str
    opens: tuple[PlannedPost, ...]
    keeps: tuple[PlannedPost, ...]
    closes: tuple[PlannedClosing, ...]
    base: tuple[str, ...]
    figures: dict[str, dict[str, float]]  # per agency: expected coverage with the plan, stations only, ...
    reason: str


@event
@dataclass(frozen=True)
class PostPlanAccepted(Event):
    plan_id: str
    by: str
    agency: str  # the key's agency and client: who accepted it
    client_id: str


@event
@dataclass(frozen=True)
class PostPlanRejected(Event):
    plan_id: str
    by: str
    agency: str
    client_id: str
    reason: str


@event
@dataclass(frozen=True)
class PostOpened(Event):
    post: PlannedPost
    plan_id: str
    reason: str


@event
@dataclass(frozen=True)
class PostClosed(Event):
    post_id: str
    plan_id: str
    reason: str
    rate_was_per_hour: float
    rate_now_per_hour: float


@event
@dataclass(frozen=True)
class UnitPosted(Event):
    """A unit told to stand at a post (from a plan, or a confirmed move-up)."""

    unit_id: str
    post_id: str
    by: str
    reason: str
    travel_s: float | None = None


@event
@dataclass(frozen=True)
class UnitLeftPost(Event):
    unit_id: str
    post_id: str
    by: str
    reason: str
