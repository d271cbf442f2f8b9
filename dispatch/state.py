"""The state of joint dispatch as a fold of the event log. Each part of the state is folded by
the module that owns it (incidents, units, whistle, green waves, roads, routes, mutual aid,
posts);
`apply` only runs them in turn."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from dispatch import (
    device_health,
    green_wave,
    home_alarms,
    home_register,
    incidents,
    lead,
    mutual_aid,
    posts,
    roads,
    routes,
    units,
    whistle,
)
from dispatch import events as ev
from dispatch.device_health import MaintenanceTask
from dispatch.green_wave import CorridorSignal, CorridorState
from dispatch.home_alarms import HomeAlarm, ResponderTask
from dispatch.home_register import HomeRegister
from dispatch.incidents import (
    ACTIVE_STATUSES,
    INCIDENT_TRANSITIONS,
    TASK_TRANSITIONS,
    AgencyTask,
    Call,
    Incident,
    IncidentStatus,
    TaskStatus,
    TimelineEntry,
)
from dispatch.mutual_aid import MutualAidRequest
from dispatch.nearby import NearbyIndex
from dispatch.posts import Post, PostPlan
from dispatch.roads import RoadRestriction
from dispatch.roster import RosterDay
from dispatch.routes import UnitRoute
from dispatch.units import Unit
from dispatch.whistle import Whistle

__all__ = ["ACTIVE_STATUSES", "INCIDENT_TRANSITIONS", "TASK_TRANSITIONS", "AgencyTask", "Call",
           "CorridorSignal", "CorridorState", "DispatchState", "Incident", "IncidentStatus", "TaskStatus",
           "TimelineEntry", "apply"]


@dataclass
class DispatchState:
    """Everything the log says so far; `version` is the number of events folded in."""

    version: int = 0
    calls: dict[str, Call] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    idempotency: dict[str, str] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    whistles: dict[str, Whistle] = field(default_factory=dict)
    roster_plans: dict[date, RosterDay] = field(default_factory=dict)
    roster_history: list[ev.RosterDayPlanned] = field(default_factory=list)
    lead_handovers: dict[date, ev.LeadHandedOver] = field(default_factory=dict)  # the latest per day
    corridors: dict[str, CorridorState] = field(default_factory=dict)  # by unit id
    roads: dict[str, RoadRestriction] = field(default_factory=dict)  # closed or slowed, by id
    routes: dict[str, UnitRoute] = field(default_factory=dict)  # the route each moving unit drives
    mutual_aid: dict[str, MutualAidRequest] = field(default_factory=dict)  # by request id
    # staging posts: plans by id (in order), posts by id (closed ones kept), unit id -> its post
    post_plans: dict[str, PostPlan] = field(default_factory=dict)
    posts: dict[str, Post] = field(default_factory=dict)
    unit_posts: dict[str, str] = field(default_factory=dict)
    # the home-alarm programme: its register, the alarms, responders' tasks, devices to visit
    homes: HomeRegister = field(default_factory=HomeRegister)
    alarms: dict[str, HomeAlarm] = field(default_factory=dict)
    alarm_by_device: dict[tuple[str, str], str] = field(default_factory=dict)  # latest, by (device, kind)
    responder_tasks: dict[str, ResponderTask] = field(default_factory=dict)
    maintenance: dict[str, MaintenanceTask] = field(default_factory=dict)
    maintenance_open: dict[tuple[str, str], str] = field(default_factory=dict)  # (device, reason) -> task
    # derived, for merging: where open incidents' calls are, and their address texts
    nearby: NearbyIndex = field(default_factory=NearbyIndex)
    by_address: dict[str, set[str]] = field(default_factory=dict)

    def next_call_id(self) -> str:
        return f"C{len(self.calls) + 1:06d}"

    def next_incident_id(self) -> str:
        return f"I{len(self.incidents) + 1:06d}"

    def active_incidents(self) -> list[Incident]:
        return [i for i in self.incidents.values() if i.active]


Fold = Callable[[DispatchState, int, ev.Event], None]

# Incidents first: a unit's status change is told on the incident it was on before units.fold
# lets go of it.
FOLDS: tuple[Fold, ...] = (incidents.fold, units.fold, green_wave.fold, whistle.fold, lead.fold, roads.fold,
                           routes.fold, mutual_aid.fold, home_register.fold, home_alarms.fold,
                           device_health.fold, posts.fold)


def apply(state: DispatchState, e: ev.Event) -> DispatchState:
    """Fold one event into the state. It mutates in place for speed over long logs: replays
    fold hundreds of thousands of events; `decide` never mutates, so callers stay pure."""
    state.version += 1
    for fold in FOLDS:
        fold(state, state.version, e)
    return state
