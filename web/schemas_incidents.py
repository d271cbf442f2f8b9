"""The answers about calls and incidents (web.views' call, incident, corridor and mutual-aid
views), and the response plans: what web/incidents_api.py serves and the feeds carry."""

from typing import Any, Literal

from pydantic import Field, RootModel

from dispatch.agencies import Agency
from dispatch.routes import RoutePurpose
from dispatch.state import IncidentStatus, TaskStatus
from dispatch.units import UnitStatus
from web.schemas import Answer, Label, Location, LonLat, Moment


class CallView(Answer):
    """One call as the viewer's key may see it: field rules mask the caller's number and remove
    the details another agency may not read."""

    call_id: str
    hotline: Agency
    received_at: Moment
    caller_number: str | None
    location: Location
    kind: str
    text: str
    details: dict[str, Any] = Field(description="What the call taker noted, free-form.")
    incident_id: str | None
    merged: bool = Field(description="True when the call joined an incident already open.")
    reason: str = Field(description="Why it joined that incident, or why it opened a new one.")
    repeat: bool = Field(description="Another call about the same thing from the same number.")


class CallAccepted(Answer):
    """A call in the durable log, and the incident it opened or joined."""

    call_id: str
    incident_id: str | None
    merged: bool
    reason: str
    repeat: bool


class CallSplit(Answer):
    call_id: str
    incident_id: str | None = Field(description="The new incident the call now belongs to.")
    reason: str


class TaskView(Answer):
    status: TaskStatus
    reason: str
    changed_at: Moment | None = Field(description="Since when the task has been in this status.")
    checked_in_at: Moment | None = Field(
        None, description="When the agency's crew on scene last answered its check-in.")
    checked_in_by: str | None = Field(None, description="Who recorded that check-in.")
    check_in_since: Moment | None = Field(
        None, description="While on scene, where the agency's check-in timer counts from (arrival or "
        "the last check-in); overdue `check_in_after_s` (GET /v1/centre) later. Null off scene.")


class RespondingRoute(Answer):
    purpose: RoutePurpose
    hospital_id: str | None
    destination: LonLat
    eta_s: float
    eta_green_s: float = Field(description="The ETA with every signal on the way held green.")
    length_m: float
    arrive_by: Moment = Field(description="When the unit arrives, with its green wave if it has one.")
    given_at: Moment


class GreenWaveState(Answer):
    active: bool
    degraded: bool = Field(description="Some signal's controller did not answer; it is still asked.")
    saved_s: float
    uncovered: list[str] = Field(description="Signal ids refused or not answered.")


class RespondingUnit(Answer):
    """A unit on an incident: who, how far, where a patient is taken, and its green wave."""

    unit_id: str
    call_sign: str
    agency: Agency
    kind: str
    status: UnitStatus
    status_at: Moment | None
    route: RespondingRoute | None
    green_wave: GreenWaveState | None


class IncidentView(Answer):
    incident_id: str
    kind: str
    label: Label
    severity: int
    status: IncidentStatus
    location: Location
    opened_at: Moment
    reported_at: Moment = Field(description="When the first call was answered.")
    last_call_at: Moment | None
    whistle_qualifies: bool
    call_count: int
    repeat_calls: int
    hotlines: list[Agency]
    tasks: dict[Agency, TaskView] = Field(description="Each agency's task, by agency code.")
    merged_into: str | None
    units: list[RespondingUnit]


class CorridorSignal(Answer):
    """One signal of a green wave: the window asked for, and the controller's latest answer
    (the `served_*`, `degraded` and answer fields appear once it has answered)."""

    signal_id: str
    status: str = Field(description="requested, granted, queued, refused or released")
    reason: str
    request_id: str | None = None
    order: int | None = None
    approach: str | None = None
    eta: float | None = None
    eta_without: float | None = None
    window_start: float | None = None
    window_end: float | None = None
    saved_s: float | None = None
    degraded: bool | None = None
    served_start: float | None = None
    served_end: float | None = None


class CorridorView(Answer):
    """A unit's green wave signal by signal, with what is not covered and both ETAs."""

    unit_id: str
    incident_id: str
    whistle_id: str | None
    eta_s: float
    eta_green_s: float
    saved_s: float
    active: bool
    degraded: bool
    uncovered: list[str]
    signals: list[CorridorSignal]


class MutualAidView(Answer):
    request_id: str
    incident_id: str
    from_agency: Agency
    to_agency: Agency
    by: str
    reason: str
    requested_at: Moment
    state: Literal["pending", "accepted", "declined"]
    answered_by: str | None
    answered_at: Moment | None


class TimelineEntry(Answer):
    seq: int
    at: Moment
    type: str
    summary: str = Field(description="The line in English.")
    summary_zh: str = Field(description="The same line in Chinese (people's own words stay as written).")


class NoteView(Answer):
    """One line of the incident's narrative: who wrote it, for which agency, when."""

    seq: int
    at: Moment
    agency: Agency
    by: str
    text: str


class CheckInView(Answer):
    """A check-in recorded: the agency's scene timer starts again from `at`."""

    incident_id: str
    agency: Agency
    at: Moment
    by: str
    due_at: Moment = Field(description="When the next check-in is overdue.")


class IncidentDetail(IncidentView):
    notes: list[NoteView]
    corridors: list[CorridorView]
    calls: list[CallView]
    mutual_aid: list[MutualAidView]
    timeline: list[TimelineEntry]


class IncidentList(Answer):
    version: int = Field(description="The log position the list was read at.")
    count: int
    incidents: list[IncidentView]


class PlanView(Answer):
    agencies: list[Agency]
    whistle: bool
    severity: int
    label: Label


class PlanBook(RootModel[dict[str, PlanView]]):
    """Every incident kind's response plan, by kind."""
