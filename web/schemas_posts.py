"""The answers about staging posts: the posts layer (GeoJSON), plans, move-up (web/posts_api.py)."""

from typing import Any, Literal

from pydantic import Field

from dispatch.agencies import Agency
from web.schemas import Answer, Moment


class PlannedPostView(Answer):
    post_id: str = Field(description="Stable for a place: a station's id, or agency and place.")
    name: str
    lon: float
    lat: float
    agency: Agency
    units: int = Field(description="Units the plan stands there.")
    cells: list[str] = Field(description="H3 cells (resolution 8) it reaches within the agency's target.")
    rate_per_hour: float = Field(description="Expected incidents an hour in those cells, in the period.")
    coverage: float = Field(description="Share of the agency's expected demand in those cells.")
    reason: str


class PlannedClosingView(Answer):
    post_id: str
    rate_was_per_hour: float = Field(description="Expected rate in its cells when it was opened.")
    rate_now_per_hour: float = Field(description="The same cells' rate for the plan's period.")
    reason: str


class PostPlanView(Answer):
    """A plan for a period: posts to open, keep and close, with the figures behind each."""

    plan_id: str
    period: str
    by: str
    proposed_at: Moment
    status: Literal["pending", "accepted", "rejected", "superseded"]
    opens: list[PlannedPostView]
    keeps: list[PlannedPostView]
    closes: list[PlannedClosingView]
    base: list[str] = Field(description="The posts open when it was proposed: it is accepted only on them.")
    figures: dict[str, dict[str, float]] = Field(
        description="Per agency: incidents, cells, units, expected_coverage, covered_once, "
                    "stations_only_coverage (-1: stations cannot hold the units), gap, target_s, busy.")
    reason: str
    answered_by: str | None
    answered_agency: str | None = Field(description="The accepting or rejecting key's agency.")
    answered_client: str | None = Field(description="The accepting or rejecting key's client.")
    answered_at: Moment | None
    answer_reason: str


class PostPlanList(Answer):
    count: int
    plans: list[PostPlanView]


class PostFeature(Answer):
    """A post (a Point, `properties.kind` "post") or a cell it serves (a Polygon, "cell")."""

    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any] = Field(description="GeoJSON Point or Polygon, [lon, lat].")
    properties: dict[str, Any] = Field(
        description="post: post_id, name, agency, units_planned, units (posted now), coverage, "
                    "rate_per_hour, cells, reason, plan_id, opened_at; cell: post_id, agency, cell.")


class PostsLayer(Answer):
    """GeoJSON FeatureCollection of posts open now (or of one plan's posts, with `plan_id`)."""

    type: Literal["FeatureCollection"]
    plan_id: str | None = Field(description="The plan shown, or null for the posts open now.")
    pending_plan_id: str | None = Field(description="The plan waiting for a supervisor, if any.")
    features: list[PostFeature]


class MoveUpView(Answer):
    """One recommended move: a free unit to a post, and what it gains and leaves."""

    unit_id: str
    call_sign: str
    agency: Agency
    post_id: str
    post_name: str
    travel_s: float = Field(description="Drive time from where the unit is to the post.")
    coverage_before: float = Field(description="The agency's expected coverage now.")
    coverage_after: float = Field(description="With the unit at the post.")
    gained: float
    leaves: list[str] = Field(description="Cells only this unit covered, now left without cover.")
    leaves_rate_per_hour: float
    reason: str


class MoveUpAnswer(Answer):
    """Per agency planned for: its expected coverage and goal, and the best move if below it."""

    agencies: dict[str, dict[str, Any]] = Field(
        description="Per agency: coverage, goal, committed (units on calls), below_goal, moves.")
    moves: list[MoveUpView]


class UnitPostedView(Answer):
    unit_id: str
    post_id: str
    at: Moment
    by: str
    reason: str
    travel_s: float | None = Field(description="The recommended drive there, when it was recommended.")
