"""The shared screen's answers and the two a client asks first: who am I, is the server up, the
road layer, closed and slowed roads; and the training map's controls (web/training_map.py)."""

from typing import Literal

from pydantic import Field

from dispatch.agencies import Agency
from web.api_keys import Role
from web.schemas import Answer, LonLat, Moment


class WhoAmI(Answer):
    key_id: str
    client_id: str
    agency: Agency
    roles: list[Role]
    created_at: Moment
    unit_id: str | None = Field(description="A vehicle device's unit: the one it may act for.")
    rate: str | None = Field(description="The key's own rate limit, if it has one.")
    revoked_at: Moment | None
    responder_id: str | None = Field(None, description="A community responder's id in the register.")
    rate_limit: str = Field(description="The rate the key is held to, e.g. `50 per 1 second`.")


class Centre(Answer):
    """The centre the console works for: its clock and time zone, and the timings a screen counts."""

    time_zone: str = Field(description="IANA name, e.g. Asia/Shanghai: every time on the page is in it.")
    utc_offset_min: int = Field(description="The zone's offset from UTC now, in minutes.")
    now: Moment = Field(description="The server's clock, in the centre's zone: screens count from it.")
    stale_after_s: float = Field(description="A unit silent this long is flagged stale.")
    ack_deadline_s: float = Field(description="How long a summoned convener has to answer.")
    check_in_after_s: float = Field(
        description="An agency on scene not checked in this long is overdue (JD_CHECK_IN_MINUTES).")
    unit_transitions: dict[str, list[str]] = Field(
        description="For each unit status, the statuses a unit may be put in next.")


class Health(Answer):
    status: Literal["ok"]
    log_version: int = Field(description="How far this process has folded the log.")


class RoadLine(Answer):
    road_class: str = Field(alias="class", description="motorway, primary, ..., residential")
    coords: list[LonLat]


class MapSignal(Answer):
    id: str
    node: int
    lon: float
    lat: float


class RoadLayer(Answer):
    """The served road network as the map draws it."""

    bounds: list[float] = Field(description="[west, south, east, north]")
    roads: list[RoadLine]
    signals: list[MapSignal]


class RestrictionView(Answer):
    restriction_id: str
    road: list[LonLat] = Field(description="The restricted stretch, end to end.")
    both_ways: bool
    state: Literal["closed", "slowed"]
    speed_kmh: float | None
    reason: str
    by: str
    by_agency: Agency
    since: Moment
    reopened_at: Moment | None


class RestrictionList(Answer):
    restrictions: list[RestrictionView]


class TrainingState(Answer):
    scenario: str
    strategy: str
    namespace: str
    now: Moment = Field(description="The exercise's simulated time.")
    elapsed_s: float
    speed: float | None = Field(description="Simulated seconds per second; null: as fast as possible.")
    paused: bool
    pending_actions: int
