"""The answers about the whistle and the roster (web.whistle_view, web/whistle_api.py)."""

from pydantic import Field

from dispatch.agencies import Agency
from web.schemas import Answer, Moment
from web.schemas_units import UnitsSent


class SummonsStep(Answer):
    at: Moment
    level: str
    name: str


class SummonsView(Answer):
    """One agency's summons: who was called, by when they must answer, each escalation."""

    level: str = Field(description="convener, backup or chief: who is summoned now")
    name: str
    channel: str
    summoned_at: Moment
    deadline: Moment
    acknowledged_at: Moment | None
    acknowledged_by: str | None
    unanswered: bool
    steps: list[SummonsStep]


class WhistleView(Answer):
    whistle_id: str
    incident_id: str
    by: str
    by_agency: Agency
    blown_at: Moment
    roster_day: str = Field(description="The duty day whose roster was used (YYYY-MM-DD).")
    lead: Agency
    override_reason: str
    active: bool
    ended_at: Moment | None
    all_acknowledged_at: Moment | None
    summons: dict[Agency, SummonsView]


class WhistleList(Answer):
    count: int
    whistles: list[WhistleView]


class GreenWaveSummary(Answer):
    signals: int
    granted: int
    queued: int = Field(description="Held behind another unit's window at a junction both cross.")
    eta_s: float
    eta_green_s: float


class WhistleAnswer(UnitsSent):
    """The whistle blown, the units it sent, and the green wave each unit of the incident got."""

    whistle: WhistleView
    green_waves: dict[str, GreenWaveSummary] = Field(description="By unit id.")


class DutyPerson(Answer):
    name: str
    channel: str


class AgencyDuty(Answer):
    """An agency's three levels, called in this order when a summons goes unanswered."""

    convener: DutyPerson
    backup: DutyPerson
    chief: DutyPerson


class RosterDayView(Answer):
    day: str = Field(description="YYYY-MM-DD")
    lead: Agency
    planned_by: str | None
    lead_reason: str | None = Field(
        description="Why another centre leads than planned: the lead centre had no live console")
    duties: dict[Agency, AgencyDuty]


class RosterChange(Answer):
    at: Moment
    by: str
    lead: Agency


class RosterDayPlanned(RosterDayView):
    history: list[RosterChange] = Field(description="Every plan made for the day, oldest first.")
