"""The whistle: one-click summons of every agency's convener on duty, acknowledgement, escalation.

Pure decisions over the folded state. Deadlines are absolute times in the events, so a restart
resumes them from the log and a replay on a simulated clock escalates at the same moments."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from dispatch import events as ev
from dispatch.agencies import WHISTLE_CENTRES, Agency
from dispatch.incidents import note
from dispatch.lead import roster_for
from dispatch.rejection import Rejected
from dispatch.roster import ESCALATION, Duty, Person, RosterDay, RosterRules

if TYPE_CHECKING:
    from dispatch.state import DispatchState

ALL_AGENCIES = (Agency.POLICE, Agency.FIRE, Agency.MEDICAL, Agency.TRAFFIC)


@dataclass
class Summons:
    agency: str
    level: str
    name: str
    channel: str
    summoned_at: datetime
    deadline: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    unanswered: bool = False
    steps: list[tuple[datetime, str, str]] = field(default_factory=list)  # (when, level, name)


@dataclass
class Whistle:
    whistle_id: str
    incident_id: str
    by: str
    by_agency: str
    blown_at: datetime
    roster_day: str
    lead: str
    override_reason: str
    summons: dict[str, Summons] = field(default_factory=dict)
    ended_at: datetime | None = None
    end_reason: str = ""
    corridor_units: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def all_acknowledged_at(self) -> datetime | None:
        times = [s.acknowledged_at for s in self.summons.values()]
        if not times or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)


@dataclass(frozen=True)
class BlowWhistle:
    incident_id: str
    by: str
    by_agency: str
    override_reason: str = ""


@dataclass(frozen=True)
class AcknowledgeSummons:
    whistle_id: str
    agency: str
    by: str


@dataclass(frozen=True)
class CheckDeadlines:
    """Sent by the clock at the edge: escalate every summons whose deadline has passed."""


@dataclass(frozen=True)
class PlanRosterDay:
    day: date
    lead: str
    duties: dict[str, dict[str, dict[str, str]]]
    by: str


def roster_day_from_event(e: ev.RosterDayPlanned) -> RosterDay:
    duties = {
        Agency(a): Duty(*(Person(d[level]["name"], d[level].get("channel", "")) for level in ESCALATION))
        for a, d in e.duties.items()
    }
    return RosterDay(day=date.fromisoformat(e.day), lead=Agency(e.lead), duties=duties, planned_by=e.by)


def deadline_after(moment: datetime, ack_deadline_s: float) -> datetime:
    return moment + timedelta(seconds=ack_deadline_s)


def blow(state: "DispatchState", cmd: BlowWhistle, roster: RosterRules, ack_deadline_s: float,
         now: datetime) -> list[ev.Event]:
    inc = state.incidents.get(cmd.incident_id)
    if inc is None:
        raise Rejected(404, "incident_id", f"no incident {cmd.incident_id}")
    if not inc.active:
        raise Rejected(409, "incident_id", f"incident {inc.incident_id} is {inc.status}")
    if any(w.active and w.incident_id == inc.incident_id for w in state.whistles.values()):
        raise Rejected(409, "incident_id", f"the whistle is already blown for {inc.incident_id}")
    day = roster_for(state, roster, roster.duty_day(now))
    if cmd.by_agency not in WHISTLE_CENTRES and cmd.by_agency != day.lead:
        raise Rejected(403, "by_agency", f"only the 120 or 119 centre, or the day's lead agency "
                       f"({day.lead}), may blow the whistle; {cmd.by_agency} may not today")
    if not inc.whistle_qualifies and not cmd.override_reason.strip():
        raise Rejected(422, "override_reason", f"{inc.kind} does not qualify for the whistle; "
                       "give an override reason to blow it anyway")
    whistle_id = f"W{len(state.whistles) + 1:05d}"
    out: list[ev.Event] = [ev.WhistleBlown(
        at=now, whistle_id=whistle_id, incident_id=inc.incident_id, by=cmd.by,
        by_agency=cmd.by_agency, roster_day=day.day.isoformat(), lead=day.lead,
        override_reason=cmd.override_reason)]
    deadline = deadline_after(now, ack_deadline_s)
    for agency in ALL_AGENCIES:
        person = day.duties[agency].convener
        out.append(ev.ConvenerSummoned(at=now, whistle_id=whistle_id, agency=agency, level="convener",
                                       name=person.name, channel=person.channel, deadline=deadline))
    return out


def acknowledge(state: "DispatchState", cmd: AcknowledgeSummons, now: datetime) -> list[ev.Event]:
    whistle = state.whistles.get(cmd.whistle_id)
    if whistle is None:
        raise Rejected(404, "whistle_id", f"no whistle {cmd.whistle_id}")
    summons = whistle.summons.get(cmd.agency)
    if summons is None:
        raise Rejected(404, "agency", f"whistle {cmd.whistle_id} summoned no {cmd.agency!r}")
    if summons.acknowledged_at is not None:
        raise Rejected(409, "agency", f"{cmd.agency} already acknowledged at "
                       f"{summons.acknowledged_at.isoformat()} ({summons.acknowledged_by})")
    return [ev.SummonsAcknowledged(at=now, whistle_id=whistle.whistle_id, agency=cmd.agency,
                                   level=summons.level, name=cmd.by, late=now > summons.deadline)]


def escalate_overdue(state: "DispatchState", roster: RosterRules, ack_deadline_s: float,
                     now: datetime) -> list[ev.Event]:
    out: list[ev.Event] = []
    for whistle in state.whistles.values():
        if not whistle.active:
            continue
        day = roster_for(state, roster, date.fromisoformat(whistle.roster_day))
        for agency, s in whistle.summons.items():
            if s.acknowledged_at is not None or s.unanswered or now < s.deadline:
                continue
            step = ESCALATION.index(s.level) + 1
            if step >= len(ESCALATION):
                out.append(ev.SummonsUnanswered(at=now, whistle_id=whistle.whistle_id, agency=agency))
                continue
            level = ESCALATION[step]
            person = day.duties[Agency(agency)].at_level(level)
            # The next deadline runs from the moment the old one passed, not from when the clock
            # noticed, so escalation keeps time even if ticks are late or a replay jumps.
            out.append(ev.ConvenerSummoned(
                at=now, whistle_id=whistle.whistle_id, agency=agency, level=level, name=person.name,
                channel=person.channel, deadline=deadline_after(s.deadline, ack_deadline_s)))
    return out


def next_deadline(state: "DispatchState") -> datetime | None:
    """When the clock must next look, so the edge can sleep until then."""
    pending = [s.deadline for w in state.whistles.values() if w.active
               for s in w.summons.values() if s.acknowledged_at is None and not s.unanswered]
    return min(pending) if pending else None


def plan_day(cmd: PlanRosterDay, now: datetime) -> list[ev.Event]:
    try:
        lead = Agency(cmd.lead)
    except ValueError:
        raise Rejected(422, "lead", f"unknown agency {cmd.lead!r}") from None
    if lead not in (Agency.POLICE, Agency.FIRE, Agency.MEDICAL):
        raise Rejected(422, "lead", "the lead rotates among 110, 119 and 120")
    for agency in ALL_AGENCIES:
        levels = cmd.duties.get(agency)
        if not isinstance(levels, dict):
            raise Rejected(422, f"duties.{agency}", f"the plan needs {agency}'s convener, backup, chief")
        for level in ESCALATION:
            if not isinstance(levels.get(level), dict) or not levels[level].get("name"):
                raise Rejected(422, f"duties.{agency}.{level}.name", "a name is required")
    return [ev.RosterDayPlanned(at=now, day=cmd.day.isoformat(), lead=lead, duties=cmd.duties,
                                by=cmd.by)]


def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    match e:
        case ev.RosterDayPlanned():
            day = roster_day_from_event(e)
            state.roster_plans[day.day] = day
            state.roster_history.append(e)
        case ev.WhistleBlown():
            state.whistles[e.whistle_id] = Whistle(
                whistle_id=e.whistle_id, incident_id=e.incident_id, by=e.by, by_agency=e.by_agency,
                blown_at=e.at, roster_day=e.roster_day, lead=e.lead, override_reason=e.override_reason)
            note(state.incidents[e.incident_id], seq, e)
        case ev.ConvenerSummoned():
            w = state.whistles[e.whistle_id]
            old = w.summons.get(e.agency)
            s = Summons(agency=e.agency, level=e.level, name=e.name, channel=e.channel,
                        summoned_at=old.summoned_at if old else e.at, deadline=e.deadline,
                        steps=[*(old.steps if old else []), (e.at, e.level, e.name)])
            w.summons[e.agency] = s
            note(state.incidents[w.incident_id], seq, e, escalated=old is not None)
        case ev.SummonsAcknowledged():
            w = state.whistles[e.whistle_id]
            s = w.summons[e.agency]
            s.acknowledged_at, s.acknowledged_by = e.at, e.name
            note(state.incidents[w.incident_id], seq, e)
        case ev.SummonsUnanswered():
            w = state.whistles[e.whistle_id]
            w.summons[e.agency].unanswered = True
            note(state.incidents[w.incident_id], seq, e)
        case ev.WhistleEnded():
            w = state.whistles[e.whistle_id]
            w.ended_at, w.end_reason = e.at, e.reason
            note(state.incidents[w.incident_id], seq, e)
