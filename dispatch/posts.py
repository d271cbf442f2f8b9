"""Staging posts: plans for a period proposed from demand, accepted or rejected by a supervisor,
the posts they open and close, and the units told to stand at them.

A plan is only a proposal in the log: nothing opens or closes before a supervisor accepts it, and
accepting opens and closes posts as events, so every process and every restart sees the same
posts. The figures a plan was made on (coverage, the expected rate in a post's cells) travel with
its events: a closed post says what its demand fell from and to."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from dispatch import events as ev
from dispatch.agencies import Agency
from dispatch.rejection import Rejected
from dispatch.units import ASSIGNABLE

if TYPE_CHECKING:
    from dispatch.state import DispatchState


@dataclass(frozen=True)
class ProposePostPlan:
    """The planner's proposal (coordination.posts builds the figures from the log)."""

    period: str
    by: str
    opens: tuple[ev.PlannedPost, ...]
    keeps: tuple[ev.PlannedPost, ...]
    closes: tuple[ev.PlannedClosing, ...]
    base: tuple[str, ...]
    figures: dict[str, dict[str, float]]
    reason: str


@dataclass(frozen=True)
class AcceptPostPlan:
    plan_id: str
    by: str
    agency: str
    client_id: str


@dataclass(frozen=True)
class RejectPostPlan:
    plan_id: str
    by: str
    agency: str
    client_id: str
    reason: str = ""


@dataclass(frozen=True)
class PostUnit:
    unit_id: str
    post_id: str
    by: str
    reason: str
    travel_s: float | None = None


@dataclass(frozen=True)
class LeavePost:
    unit_id: str
    by: str
    reason: str


PostCommand = ProposePostPlan | AcceptPostPlan | RejectPostPlan | PostUnit | LeavePost


@dataclass
class PostPlan:
    plan_id: str
    period: str
    by: str
    proposed_at: datetime
    opens: tuple[ev.PlannedPost, ...]
    keeps: tuple[ev.PlannedPost, ...]
    closes: tuple[ev.PlannedClosing, ...]
    base: tuple[str, ...]
    figures: dict[str, dict[str, float]]
    reason: str
    status: str = "pending"  # pending, accepted, rejected, superseded
    answered_by: str | None = None
    answered_agency: str | None = None
    answered_client: str | None = None
    answered_at: datetime | None = None
    answer_reason: str = ""


@dataclass
class Post:
    """An open post (closed ones stay, with when and why, for the log's readers)."""

    spec: ev.PlannedPost
    plan_id: str
    opened_at: datetime
    reason: str
    units: list[str] = field(default_factory=list)  # unit ids posted here now
    closed_at: datetime | None = None
    close_reason: str = ""

    @property
    def post_id(self) -> str:
        return self.spec.post_id

    @property
    def open(self) -> bool:
        return self.closed_at is None


def open_posts(state: "DispatchState") -> list[Post]:
    return [p for p in state.posts.values() if p.open]


def pending_plan(state: "DispatchState") -> PostPlan | None:
    return next((p for p in reversed(state.post_plans.values()) if p.status == "pending"), None)


def propose(state: "DispatchState", cmd: ProposePostPlan, now: datetime) -> list[ev.Event]:
    if not cmd.period.strip():
        raise Rejected(422, "period", "name the period the plan is for")
    for name, posts in (("opens", cmd.opens), ("keeps", cmd.keeps)):
        for p in posts:
            _check_post(name, p)
    for c in cmd.closes:
        if c.post_id not in state.posts or not state.posts[c.post_id].open:
            raise Rejected(409, "closes", f"post {c.post_id} is not open")
    plan_id = f"PP{len(state.post_plans) + 1:05d}"
    return [ev.PostPlanProposed(at=now, plan_id=plan_id, period=cmd.period, by=cmd.by, opens=cmd.opens,
                                keeps=cmd.keeps, closes=cmd.closes, base=cmd.base, figures=dict(cmd.figures),
                                reason=cmd.reason)]


def _check_post(name: str, p: ev.PlannedPost) -> None:
    try:
        Agency(p.agency)
    except ValueError:
        raise Rejected(422, f"{name}.agency", f"unknown agency {p.agency!r}") from None
    if p.units < 1:
        raise Rejected(422, f"{name}.units", f"post {p.post_id} gets no unit")


def _pending(state: "DispatchState", plan_id: str) -> PostPlan:
    plan = state.post_plans.get(plan_id)
    if plan is None:
        raise Rejected(404, "plan_id", f"no post plan {plan_id}")
    if plan.status != "pending":
        by = f" by {plan.answered_by}" if plan.answered_by else ""
        raise Rejected(409, "plan_id", f"plan {plan_id} is {plan.status}{by}; propose a new one")
    return plan


def accept(state: "DispatchState", cmd: AcceptPostPlan, now: datetime) -> list[ev.Event]:
    """The plan takes effect: its posts open, the ones it drops close (their units leave them)."""
    plan = _pending(state, cmd.plan_id)
    now_open = tuple(sorted(p.post_id for p in open_posts(state)))
    if now_open != tuple(sorted(plan.base)):
        raise Rejected(409, "plan_id", f"plan {plan.plan_id} was made on posts {list(plan.base)} but "
                       f"{list(now_open)} are open now; propose again")
    out: list[ev.Event] = [ev.PostPlanAccepted(at=now, plan_id=plan.plan_id, by=cmd.by, agency=cmd.agency,
                                               client_id=cmd.client_id)]
    for c in plan.closes:
        for unit_id in state.posts[c.post_id].units:
            out.append(ev.UnitLeftPost(at=now, unit_id=unit_id, post_id=c.post_id, by=cmd.by,
                                       reason=f"post closed by plan {plan.plan_id}"))
        out.append(ev.PostClosed(at=now, post_id=c.post_id, plan_id=plan.plan_id, reason=c.reason,
                                 rate_was_per_hour=c.rate_was_per_hour,
                                 rate_now_per_hour=c.rate_now_per_hour))
    for p in plan.opens:
        out.append(ev.PostOpened(at=now, post=p, plan_id=plan.plan_id, reason=p.reason))
    return out


def reject(state: "DispatchState", cmd: RejectPostPlan, now: datetime) -> list[ev.Event]:
    plan = _pending(state, cmd.plan_id)
    return [ev.PostPlanRejected(at=now, plan_id=plan.plan_id, by=cmd.by, agency=cmd.agency,
                                client_id=cmd.client_id, reason=cmd.reason)]


def post_unit(state: "DispatchState", cmd: PostUnit, now: datetime) -> list[ev.Event]:
    unit = state.units.get(cmd.unit_id)
    if unit is None:
        raise Rejected(404, "unit_id", f"no unit {cmd.unit_id}")
    post = state.posts.get(cmd.post_id)
    if post is None or not post.open:
        raise Rejected(404 if post is None else 409, "post_id", f"post {cmd.post_id} is not open")
    if unit.agency != post.spec.agency:
        raise Rejected(409, "unit_id", f"{unit.unit_id} is a {unit.agency} unit; post {post.post_id} is "
                       f"{post.spec.agency}'s")
    if unit.status not in ASSIGNABLE:
        raise Rejected(409, "unit_id", f"{unit.unit_id} is {unit.status}; only a free unit is posted")
    was = state.unit_posts.get(unit.unit_id)
    if was == post.post_id:
        raise Rejected(409, "unit_id", f"{unit.unit_id} already stands at {post.post_id}")
    out: list[ev.Event] = []
    if was is not None:
        out.append(ev.UnitLeftPost(at=now, unit_id=unit.unit_id, post_id=was, by=cmd.by,
                                   reason=f"moved to {post.post_id}"))
    out.append(ev.UnitPosted(at=now, unit_id=unit.unit_id, post_id=post.post_id, by=cmd.by, reason=cmd.reason,
                             travel_s=cmd.travel_s))
    return out


def leave_post(state: "DispatchState", cmd: LeavePost, now: datetime) -> list[ev.Event]:
    if cmd.unit_id not in state.units:
        raise Rejected(404, "unit_id", f"no unit {cmd.unit_id}")
    was = state.unit_posts.get(cmd.unit_id)
    if was is None:
        raise Rejected(409, "unit_id", f"{cmd.unit_id} stands at no post")
    return [ev.UnitLeftPost(at=now, unit_id=cmd.unit_id, post_id=was, by=cmd.by, reason=cmd.reason)]


def decide(state: "DispatchState", cmd: PostCommand, now: datetime) -> list[ev.Event]:
    match cmd:
        case ProposePostPlan():
            return propose(state, cmd, now)
        case AcceptPostPlan():
            return accept(state, cmd, now)
        case RejectPostPlan():
            return reject(state, cmd, now)
        case PostUnit():
            return post_unit(state, cmd, now)
        case LeavePost():
            return leave_post(state, cmd, now)


def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    match e:
        case ev.PostPlanProposed():
            for earlier in state.post_plans.values():
                if earlier.status == "pending":  # one plan waits at a time: the newest
                    earlier.status = "superseded"
            state.post_plans[e.plan_id] = PostPlan(e.plan_id, e.period, e.by, e.at, e.opens, e.keeps,
                                                   e.closes, e.base, dict(e.figures), e.reason)
        case ev.PostPlanAccepted() | ev.PostPlanRejected():
            plan = state.post_plans[e.plan_id]
            plan.status = "accepted" if isinstance(e, ev.PostPlanAccepted) else "rejected"
            plan.answered_by, plan.answered_agency, plan.answered_client = e.by, e.agency, e.client_id
            plan.answered_at = e.at
            plan.answer_reason = e.reason if isinstance(e, ev.PostPlanRejected) else ""
        case ev.PostOpened():
            state.posts[e.post.post_id] = Post(e.post, e.plan_id, e.at, e.reason)
        case ev.PostClosed():
            post = state.posts[e.post_id]
            post.closed_at, post.close_reason = e.at, e.reason
        case ev.UnitPosted():
            state.unit_posts[e.unit_id] = e.post_id
            state.posts[e.post_id].units.append(e.unit_id)
        case ev.UnitLeftPost():
            state.unit_posts.pop(e.unit_id, None)
            units = state.posts[e.post_id].units
            if e.unit_id in units:
                units.remove(e.unit_id)
