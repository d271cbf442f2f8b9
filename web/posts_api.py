"""Staging posts over HTTP: the posts layer of the shared map (GeoJSON, each post with the cells
it serves), plans for a period that a supervisor proposes, accepts or rejects, and move-up: the
recommended move of a free unit to a post when committed units leave coverage below the goal,
which a dispatcher confirms.

The planning is coordination.posts'; this module only checks input and shapes answers."""

import dataclasses
from typing import Any

import h3
from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from coordination.demand import NAMED_PERIODS
from coordination.move_up import MoveUp
from dispatch import events as ev
from dispatch.posts import AcceptPostPlan, Post, PostPlan, RejectPostPlan, open_posts, pending_plan
from dispatch.rejection import Rejected
from dispatch.state import DispatchState
from web.deps import BackendDep, IdentityDep, ServiceDep
from web.schemas import ViewRoute, refusals
from web.schemas_posts import MoveUpAnswer, PostPlanList, PostPlanView, PostsLayer, UnitPostedView

router = APIRouter(route_class=ViewRoute, tags=["posts"])


class PlanIn(BaseModel):
    period: str = Field(description=f"A named period: {', '.join(NAMED_PERIODS)}.")
    by: str = Field("supervisor", min_length=1, max_length=64, description="Who asks for the plan.")

    @field_validator("period")
    @classmethod
    def _known_period(cls, name: str) -> str:
        if name not in NAMED_PERIODS:
            raise ValueError(f"unknown period {name!r}; known: {', '.join(NAMED_PERIODS)}")
        return name


class MoveUpIn(BaseModel):
    unit_id: str = Field(min_length=1, max_length=64, description="The free unit to move.")
    post_id: str = Field(min_length=1, max_length=128, description="The open post it goes to.")
    by: str = Field("dispatcher", min_length=1, max_length=64)


class AnswerIn(BaseModel):
    by: str = Field("supervisor", min_length=1, max_length=64)
    reason: str = Field("", max_length=500)


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def plan_view(plan: PostPlan) -> dict[str, Any]:
    return {"plan_id": plan.plan_id, "period": plan.period, "by": plan.by,
            "proposed_at": _iso(plan.proposed_at), "status": plan.status,
            "opens": [dataclasses.asdict(p) for p in plan.opens],
            "keeps": [dataclasses.asdict(p) for p in plan.keeps],
            "closes": [dataclasses.asdict(c) for c in plan.closes], "base": list(plan.base),
            "figures": plan.figures, "reason": plan.reason, "answered_by": plan.answered_by,
            "answered_agency": plan.answered_agency, "answered_client": plan.answered_client,
            "answered_at": _iso(plan.answered_at), "answer_reason": plan.answer_reason}


def cell_polygon(cell: str) -> dict[str, Any]:
    ring = [[round(lon, 6), round(lat, 6)] for lat, lon in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def post_features(spec: ev.PlannedPost, extra: dict[str, Any]) -> list[dict[str, Any]]:
    point = {"type": "Feature", "id": spec.post_id,
             "geometry": {"type": "Point", "coordinates": [spec.lon, spec.lat]},
             "properties": {"kind": "post", "post_id": spec.post_id, "name": spec.name, "agency": spec.agency,
                            "units_planned": spec.units, "coverage": spec.coverage,
                            "rate_per_hour": spec.rate_per_hour, "cells": len(spec.cells),
                            "reason": spec.reason, **extra}}
    cells = [{"type": "Feature", "id": f"{spec.post_id}/{c}", "geometry": cell_polygon(c),
              "properties": {"kind": "cell", "post_id": spec.post_id, "agency": spec.agency, "cell": c}}
             for c in spec.cells]
    return [point, *cells]


def posts_layer(state: DispatchState, plan_id: str | None = None) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    if plan_id is None:
        for p in open_posts(state):
            features += post_features(p.spec, _open_facts(p))
    else:
        plan = state.post_plans.get(plan_id)
        if plan is None:
            raise Rejected(404, "plan_id", f"no post plan {plan_id}")
        for spec in plan.opens:
            features += post_features(spec, {"plan_id": plan_id, "change": "open", "units": []})
        for spec in plan.keeps:
            features += post_features(spec, {"plan_id": plan_id, "change": "keep", "units": []})
    pending = pending_plan(state)
    return {"type": "FeatureCollection", "plan_id": plan_id,
            "pending_plan_id": pending.plan_id if pending else None, "features": features}


def _open_facts(p: Post) -> dict[str, Any]:
    return {"plan_id": p.plan_id, "opened_at": _iso(p.opened_at), "units": list(p.units)}


@router.get("/v1/posts", response_model=PostsLayer, responses=refusals(404))
async def posts_now(service: ServiceDep, plan_id: str | None = None) -> dict[str, Any]:
    """The posts open now as a GeoJSON FeatureCollection: each post a Point with its coverage
    figures, and each H3 cell it serves a Polygon. With `plan_id`, that plan's posts instead."""
    return posts_layer(service.state, plan_id)


@router.get("/v1/posts/plans", response_model=PostPlanList)
async def list_plans(service: ServiceDep, status: str | None = None) -> dict[str, Any]:
    plans = [p for p in service.state.post_plans.values() if status is None or p.status == status]
    return {"count": len(plans), "plans": [plan_view(p) for p in reversed(plans)]}


@router.post("/v1/posts/plans", status_code=201, response_model=PostPlanView, responses=refusals(422))
async def propose_plan(body: PlanIn, backend: BackendDep) -> dict[str, Any]:
    """Plan the posts for a period from the log's demand: which to open, keep and close, each with
    its figures. Nothing changes until a supervisor accepts the plan; a newer plan supersedes a
    pending one. An empty log gets an empty plan that says so."""
    plan_id = await backend.posts.propose(body.period, body.by)
    return plan_view(backend.service.state.post_plans[plan_id])


@router.post("/v1/posts/plans/{plan_id}/accept", response_model=PostPlanView, responses=refusals(404, 409))
async def accept_plan(plan_id: str, body: AnswerIn, service: ServiceDep, key: IdentityDep) -> dict[str, Any]:
    """The plan takes effect: its new posts open, the posts it drops close (with the figures why)."""
    await service.execute(AcceptPostPlan(plan_id, body.by, key.agency, key.client_id))
    return plan_view(service.state.post_plans[plan_id])


@router.post("/v1/posts/plans/{plan_id}/reject", response_model=PostPlanView, responses=refusals(404, 409))
async def reject_plan(plan_id: str, body: AnswerIn, service: ServiceDep, key: IdentityDep) -> dict[str, Any]:
    await service.execute(RejectPostPlan(plan_id, body.by, key.agency, key.client_id, body.reason))
    return plan_view(service.state.post_plans[plan_id])


@router.get("/v1/posts/move-up", response_model=MoveUpAnswer)
async def move_up(backend: BackendDep) -> dict[str, Any]:
    """Per agency planned for, its expected coverage now (committed units cover nothing) against
    the goal; below it, the best moves of a free unit to an open post, best first, each with the
    coverage gained, the drive there and the cells it leaves uncovered (none when a move that
    leaves none exists)."""
    found = await MoveUp(backend.posts).recommend()
    return {"agencies": {a.agency: a.view() for a in found},
            "moves": [m for a in found for m in a.moves]}


@router.post("/v1/posts/move-up/confirm", status_code=201, response_model=UnitPostedView,
             responses=refusals(404, 409))
async def confirm_move_up(body: MoveUpIn, backend: BackendDep) -> dict[str, Any]:
    """The dispatcher confirms a move: the unit is posted there (a UnitPosted event, with the
    recommendation's reason and drive time when it was the one recommended)."""
    e = await MoveUp(backend.posts).confirm(body.unit_id, body.post_id, body.by)
    return {"unit_id": e.unit_id, "post_id": e.post_id, "at": e.at.isoformat(), "by": e.by,
            "reason": e.reason, "travel_s": e.travel_s}
