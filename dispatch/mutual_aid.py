"""Mutual aid: one agency asks another for its units on an incident, and the other answers.

A dispatcher sends only their own agency's units. Across agencies a unit goes through the
whistle (every agency convened), a supervisor, or a mutual-aid request that the lending agency
accepted; accepting gives the lending agency a task in the incident."""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dispatch import events as ev
from dispatch.agencies import Agency
from dispatch.incidents import note
from dispatch.rejection import Rejected

if TYPE_CHECKING:
    from dispatch.state import DispatchState


@dataclass(frozen=True)
class RequestMutualAid:
    incident_id: str
    from_agency: str
    to_agency: str
    by: str
    reason: str


@dataclass(frozen=True)
class AnswerMutualAid:
    request_id: str
    agency: str  # who answers: must be the agency asked
    accepted: bool
    by: str
    reason: str = ""


@dataclass
class MutualAidRequest:
    request_id: str
    incident_id: str
    from_agency: str
    to_agency: str
    by: str
    reason: str
    requested_at: datetime
    accepted: bool | None = None  # None: not answered yet
    answered_by: str | None = None
    answered_at: datetime | None = None


def request(state: "DispatchState", cmd: RequestMutualAid, now: datetime) -> list[ev.Event]:
    inc = state.incidents.get(cmd.incident_id)
    if inc is None:
        raise Rejected(404, "incident_id", f"no incident {cmd.incident_id}")
    if not inc.active:
        raise Rejected(409, "incident_id", f"incident {inc.incident_id} is {inc.status}")
    for name, agency in (("from_agency", cmd.from_agency), ("to_agency", cmd.to_agency)):
        try:
            Agency(agency)
        except ValueError:
            raise Rejected(422, name, f"unknown agency {agency!r}") from None
    if cmd.from_agency == cmd.to_agency:
        raise Rejected(422, "to_agency", "an agency sends its own units without asking")
    if not cmd.reason.strip():
        raise Rejected(422, "reason", "say what is needed")
    request_id = f"MA{len(state.mutual_aid) + 1:05d}"
    return [ev.MutualAidRequested(at=now, request_id=request_id, incident_id=inc.incident_id,
                                  from_agency=cmd.from_agency, to_agency=cmd.to_agency, by=cmd.by,
                                  reason=cmd.reason)]


def answer(state: "DispatchState", cmd: AnswerMutualAid, now: datetime) -> list[ev.Event]:
    req = state.mutual_aid.get(cmd.request_id)
    if req is None:
        raise Rejected(404, "request_id", f"no mutual-aid request {cmd.request_id}")
    if cmd.agency != req.to_agency:
        raise Rejected(403, "agency", f"{cmd.request_id} asks {req.to_agency}; only {req.to_agency} "
                       "answers it")
    if req.accepted is not None:
        raise Rejected(409, "request_id", f"{cmd.request_id} was already "
                       f"{'accepted' if req.accepted else 'declined'} by {req.answered_by}")
    out: list[ev.Event] = [ev.MutualAidAnswered(
        at=now, request_id=req.request_id, incident_id=req.incident_id, accepted=cmd.accepted, by=cmd.by,
        reason=cmd.reason)]
    inc = state.incidents[req.incident_id]
    if cmd.accepted and req.to_agency not in inc.tasks:
        out.append(ev.TaskCreated(at=now, incident_id=inc.incident_id, agency=req.to_agency,
                                  reason=f"mutual aid {req.request_id} for {req.from_agency}"))
    return out


def permits(state: "DispatchState", incident_id: str, from_agency: str, to_agency: str) -> bool:
    """Whether `to_agency` accepted to lend its units to `from_agency` on this incident."""
    return any(r.incident_id == incident_id and r.from_agency == from_agency and r.to_agency == to_agency
               and r.accepted for r in state.mutual_aid.values())


def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    match e:
        case ev.MutualAidRequested():
            state.mutual_aid[e.request_id] = MutualAidRequest(
                e.request_id, e.incident_id, e.from_agency, e.to_agency, e.by, e.reason, e.at)
            note(state.incidents[e.incident_id], seq, e)
        case ev.MutualAidAnswered():
            req = state.mutual_aid[e.request_id]
            req.accepted, req.answered_by, req.answered_at = e.accepted, e.by, e.at
            note(state.incidents[e.incident_id], seq, e)
