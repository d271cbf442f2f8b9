"""The priority request and answer exchanged with a signal controller, on the wire as JSON.

Fields follow SAE J2735 SignalRequestMessage / SignalStatusMessage and NTCIP 1211 (signal control
and prioritization): the request id and sequence number (msgCount), the requesting vehicle and its
basic role, a priority level, the intersection and inbound approach, the desired time of service
(ETA) and its duration, and the request type (request, update, cancellation). Times are absolute
UNIX seconds: both sides are expected to keep NTP time, as J2735 assumes."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, model_validator


class VehicleRole(StrEnum):
    """J2735 BasicVehicleRole values a dispatch unit can have."""

    POLICE = "police"
    FIRE = "fire"
    AMBULANCE = "ambulance"


class RequestType(StrEnum):
    """J2735 PriorityRequestType."""

    REQUEST = "priorityRequest"
    UPDATE = "priorityRequestUpdate"
    CANCEL = "priorityCancellation"


class AnswerStatus(StrEnum):
    GRANTED = "granted"  # green will be on for the approach through the window
    QUEUED = "queued"  # a conflicting request wins; green comes in the revised window
    REFUSED = "refused"  # no priority; the unit meets the plan as it is
    CANCELLED = "cancelled"  # the request was released


class Reason(StrEnum):
    SERVED = "served"
    LOST_TO_HIGHER_PRIORITY = "lost_to_higher_priority"
    LOST_TO_EARLIER_ETA = "lost_to_earlier_eta"
    HOLD_LIMIT = "hold_limit"  # would hold the junction beyond the safety maximum
    TOO_LATE = "too_late"  # the revised window would be too far from the ETA to help
    WINDOW_PASSED = "window_passed"
    UNKNOWN_JUNCTION = "unknown_junction"
    UNKNOWN_APPROACH = "unknown_approach"
    UNKNOWN_REQUEST = "unknown_request"
    RELEASED = "released"
    CONTROLLER_UNREACHABLE = "controller_unreachable"
    CONTROLLER_ERROR = "controller_error"
    CIRCUIT_OPEN = "circuit_open"


MIN_PRIORITY, MAX_PRIORITY = 1, 7


def priority_from_severity(severity: int, role: VehicleRole) -> int:
    """Priority level 1 (lowest) .. 7 (highest) from the incident severity 1..5.

    Fire engines get one step more than the same severity otherwise: they are heavy, slow to brake
    and the hardest to get through a junction that has not cleared."""
    level = max(1, min(5, severity)) + (1 if role is VehicleRole.FIRE else 0)
    return max(MIN_PRIORITY, min(MAX_PRIORITY, level))


class PriorityRequest(BaseModel):
    """One unit asking one junction for green on its inbound approach (J2735 SRM, one request)."""

    request_id: str = Field(min_length=1, max_length=64)
    sequence: int = Field(default=0, ge=0, description="J2735 msgCount: newer updates carry larger numbers")
    request_type: RequestType = RequestType.REQUEST
    vehicle_id: str = Field(min_length=1, max_length=64)
    role: VehicleRole
    priority_level: int = Field(ge=MIN_PRIORITY, le=MAX_PRIORITY)
    junction_id: str = Field(min_length=1, max_length=64)
    inbound_approach: str = Field(min_length=1, max_length=64)
    eta: float = Field(description="absolute UNIX seconds the unit reaches the stop line")
    window_start: float
    window_end: float

    @model_validator(mode="after")
    def _window_holds_eta(self) -> PriorityRequest:
        if not self.window_start <= self.eta <= self.window_end:
            raise ValueError("window_start <= eta <= window_end must hold")
        return self

    @property
    def duration_s(self) -> float:
        return self.window_end - self.window_start


class CancelRequest(BaseModel):
    request_id: str = Field(min_length=1, max_length=64)
    junction_id: str = Field(min_length=1, max_length=64)


class PriorityAnswer(BaseModel):
    """The controller's answer for one request (J2735 SSM SignalRequesterInfo + status)."""

    request_id: str
    junction_id: str
    status: AnswerStatus
    reason: Reason
    window_start: float | None = None  # the window the controller will serve (revised if queued)
    window_end: float | None = None
    degraded: bool = False  # true when the answer comes from the gateway, not the controller
    detail: str = ""
    # Other requests at the junction whose answer changed because of this one, so that their
    # dispatchers see the revised windows too.
    revised: list[PriorityAnswer] = Field(default_factory=list)


class ApproachState(BaseModel):
    approach: str
    state: str  # green, yellow, red


class SignalStatus(BaseModel):
    """What a junction is doing now (J2735 SPaT/SSM in spirit): phase, interval, active requests."""

    junction_id: str
    at: float
    phase_index: int
    interval: str
    preempted: bool
    approaches: list[ApproachState]
    requests: list[PriorityAnswer]


def refused(request_id: str, junction_id: str, reason: Reason, detail: str = "",
            degraded: bool = False) -> PriorityAnswer:
    return PriorityAnswer(request_id=request_id, junction_id=junction_id, status=AnswerStatus.REFUSED,
                          reason=reason, detail=detail, degraded=degraded)
