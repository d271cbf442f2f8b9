"""Answer models of the home-alarm programme: alarms with their steps, residents (care plan by
the field rules), community responders' tasks, devices needing a visit, intake results."""

from typing import Any

from web.schemas import Answer, LonLat, Moment


class AlarmStepView(Answer):
    step: int
    action: str
    who: str
    started_at: Moment
    deadline: Moment
    outcome: str | None
    ended_at: Moment | None


class HomeToVisit(Answer):
    """Where the responder goes and whom they meet: no care plan (that is the resident's record,
    read on purpose and audited)."""

    name: str
    address: str
    location: LonLat
    phone: str | None


class ResponderTaskView(Answer):
    task_id: str
    alarm_id: str
    responder_id: str
    resident_id: str
    ask: str
    reason: str
    asked_at: Moment
    accepted_at: Moment | None
    arrived_at: Moment | None
    outcome: str | None
    outcome_at: Moment | None
    notes: list[str]
    incident_id: str | None
    alarm_kind: str
    home: HomeToVisit


class ResidentView(Answer):
    """`details.care` (the care plan) only for 120, supervisors and the responder sent there."""

    resident_id: str
    name: str
    address: str
    location: LonLat
    phone: str | None
    contacts: list[dict[str, str]]
    languages: list[str]
    devices: list[dict[str, Any]]
    details: dict[str, Any]


class AlarmView(Answer):
    alarm_id: str
    device_id: str
    device_kind: str
    resident_id: str
    kind: str
    status: str  # raised, verifying, escalated, resolved
    raised_at: Moment
    received_at: Moment
    last_at: Moment
    count: int
    value: float | None
    via: str
    location: LonLat
    acted: bool
    reason: str
    steps: list[AlarmStepView]
    call_id: str | None
    incident_id: str | None
    escalated_at: Moment | None
    escalation_reason: str
    resolved_at: Moment | None
    outcome: str | None
    responder_tasks: list[ResponderTaskView]
    resident: ResidentView


class AlarmList(Answer):
    count: int
    alarms: list[AlarmView]


class ResponderTaskList(Answer):
    count: int
    tasks: list[ResponderTaskView]


class MaintenanceTaskView(Answer):
    task_id: str
    device_id: str
    device_kind: str
    gateway_id: str
    resident_id: str
    address: str
    reason: str  # silent, low_battery
    detail: str
    opened_at: Moment
    closed_at: Moment | None
    close_reason: str


class MaintenanceList(Answer):
    """Devices needing a visit: never emergencies, the programme's own work list."""

    count: int
    tasks: list[MaintenanceTaskView]


class RegisterImported(Answer):
    events: int  # entries new or changed; a re-import of the same file adds none
    residents: int
    devices: int
    responders: int


class MessageResult(Answer):
    index: int
    type: str
    device_id: str
    alarm_id: str | None = None
    repeat: bool | None = None


class PushAccepted(Answer):
    accepted: int
    results: list[MessageResult]


class HomeOnMap(Answer):
    resident_id: str
    name: str
    address: str
    location: LonLat
    devices: list[str]


class AlarmOnMap(Answer):
    alarm_id: str
    kind: str
    status: str
    count: int
    resident_id: str
    location: LonLat
    raised_at: Moment
    incident_id: str | None
    step: str | None  # the check under way: call_resident, call_contact, welfare_check
    deadline: Moment | None


class HomesLayer(Answer):
    """The residents' homes and the alarms in hand; never a care plan."""

    residents: list[HomeOnMap]
    alarms: list[AlarmOnMap]
