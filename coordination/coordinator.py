"""The coordinator: the application layer assembled, and the two things a dispatcher does with
it that are more than one command (send units, blow the whistle).

Built the same way by the live server and by a replay, from the ports each fills differently:
where units are (telemetry, or simulated vehicles), the signal gateway (a controller, or the
in-process simulated one)."""

import contextlib
from dataclasses import dataclass
from typing import Literal

from coordination.recommendation import Recommender
from coordination.road_restrictions import RoadRestrictions
from coordination.road_router import RoadRouter
from coordination.signal_priority import SignalPriority
from coordination.unit_routes import UnitRoutes
from coordination.whereabouts import Whereabouts
from coordination.workflows import JointResponse
from dispatch import events as ev
from dispatch.decide import AssignUnits
from dispatch.fleet import Fleet
from dispatch.recommend import Need, assignments_from
from dispatch.rejection import Rejected
from dispatch.service import DispatchService
from dispatch.telemetry import Position
from dispatch.whistle import BlowWhistle


@dataclass(frozen=True)
class Sent:
    """What one send did: the units assigned (their routes and corridors are in the state)."""

    incident_id: str
    unit_ids: tuple[str, ...]


@dataclass
class Coordinator:
    service: DispatchService
    router: RoadRouter
    whereabouts: Whereabouts
    recommender: Recommender
    routes: UnitRoutes
    priority: SignalPriority
    restrictions: RoadRestrictions
    workflows: JointResponse

    @classmethod
    def assemble(cls, service: DispatchService, router: RoadRouter, whereabouts: Whereabouts, fleet: Fleet,
                 priority: SignalPriority, green_wave: bool = True,
                 stale_after_s: float = 60.0) -> "Coordinator":
        """Wire the layer onto a service; before `service.start()`, so the replay of the log at
        start-up rebuilds what the adapters mirror (closed roads in the router)."""
        recommender = Recommender(service, router, whereabouts, fleet, stale_after_s)
        routes = UnitRoutes(service, router, whereabouts)
        restrictions = RoadRestrictions(service, router)
        workflows = JointResponse(service, routes, recommender, priority, green_wave)
        return cls(service, router, whereabouts, recommender, routes, priority, restrictions, workflows)

    async def send(self, incident_id: str, unit_ids: list[str] | None, by: str, by_agency: str | None,
                   reason: str = "", authority: Literal["dispatcher", "supervisor", "whistle"] = "dispatcher",
                   needs: list[Need] | None = None) -> Sent:
        """Confirm the recommendation (`unit_ids` None) or send the units named; the workflows
        route each and, on a whistled incident, ask for its green wave. `needs`: a
        recommendation the caller already has for this moment."""
        if needs is None:
            needs = await self.recommender.units_for(incident_id)
        assignments = assignments_from(needs, unit_ids)
        if not assignments:
            raise Rejected(409, "units", "nothing to send: no recommendation and no units named")
        await self.service.execute(AssignUnits(incident_id, assignments, by, reason, by_agency, authority))
        return Sent(incident_id, tuple(a.unit_id for a in assignments))

    async def blow_whistle(self, incident_id: str, by: str, agency: str,
                           override_reason: str = "") -> tuple[str, Sent]:
        """One click: every agency's convener summoned, the recommended units sent."""
        events = await self.service.execute(BlowWhistle(incident_id, by, agency, override_reason))
        whistle_id = next(e.whistle_id for e in events if isinstance(e, ev.WhistleBlown))
        sent = Sent(incident_id, ())
        with contextlib.suppress(Rejected):  # no free unit must not undo the summons already made
            sent = await self.send(incident_id, None, f"whistle {whistle_id}", agency, authority="whistle")
        return whistle_id, sent

    async def recommendation(self, incident_id: str, exclude: frozenset[str] = frozenset()) -> list[Need]:
        return await self.recommender.units_for(incident_id, exclude)

    async def took_fixes(self, fixes: list[Position]) -> None:
        """Fixes this process took in: units that strayed from their route get a new one."""
        await self.routes.check_fixes(fixes)
