"""The joint-response workflows, each written once, as a reaction to events in the log.

They run in the process that wrote the event (DispatchService.react), after the command that
caused it, whichever path gave the command: the dispatcher's screen, the whistle's one click, a
crew's button, a replay's simulated dispatcher. What a workflow needs later (a unit's route, a
corridor) is in the log, so another process or a restart sees it.

- a unit assigned is routed to the scene;
- a unit routed to a whistled incident gets a green-wave corridor, whether it was assigned
  before the whistle or after; the whistle gives one to every unit already on its way;
- a unit that sets off has its corridor re-timed from the moment it leaves;
- transporting routes the ambulance to the hospital the crew named, or the recommended one;
- corridors are given back here and only here: when the unit arrives, is freed or sent
  elsewhere, is given a new route, or its incident closes;
- a road closed or slowed re-routes every unit whose route runs over it.

Tasks follow their units in the domain itself (dispatch.decide), in the same append as the
unit's status: no moment exists in which the two disagree."""

from coordination.recommendation import Recommender
from coordination.signal_priority import SignalPriority
from coordination.unit_routes import UnitRoutes
from dispatch import events as ev
from dispatch.roads import runs_over
from dispatch.routes import RoutePurpose
from dispatch.service import DispatchService
from dispatch.units import COMMITTED, UnitStatus

# A unit in one of these no longer drives towards a corridor's signals.
ARRIVED_OR_FREED = frozenset(UnitStatus) - COMMITTED | {UnitStatus.ON_SCENE, UnitStatus.AT_HOSPITAL}


class JointResponse:
    def __init__(self, service: DispatchService, routes: UnitRoutes, recommender: Recommender,
                 priority: SignalPriority, green_wave: bool = True) -> None:
        self.service, self.routes, self.recommender = service, routes, recommender
        self.priority, self.green_wave = priority, green_wave
        service.react(self.on_events)

    async def on_events(self, events: list[ev.Event]) -> None:
        for e in events:
            match e:
                case ev.UnitAssigned():
                    await self._assigned(e)
                case ev.UnitRouted():
                    await self._routed(e)
                case ev.WhistleBlown():
                    await self._whistled(e)
                case ev.UnitStatusChanged():
                    await self._status_changed(e)
                case ev.IncidentStatusChanged() if e.status == "closed":
                    await self._release_incident(e.incident_id, "incident closed")
                case ev.RoadClosed() | ev.RoadSlowed():
                    await self._road_restricted(e)

    # --- routes -------------------------------------------------------------------------------

    async def _assigned(self, e: ev.UnitAssigned) -> None:
        corridor = self.service.state.corridors.get(e.unit_id)
        if corridor is not None and corridor.incident_id != e.incident_id:
            await self.priority.release(e.unit_id, f"sent to {e.incident_id}")
        await self.routes.to_scene(e.unit_id, "assigned" if e.recommended else f"assigned: {e.reason}")

    async def _status_changed(self, e: ev.UnitStatusChanged) -> None:
        status = UnitStatus(e.status)
        if status in ARRIVED_OR_FREED:
            await self._release(e.unit_id, f"unit {status.value.replace('_', ' ')}")
        elif status == UnitStatus.EN_ROUTE:
            route = self.routes.current(e.unit_id)
            if route is not None:  # windows were planned at assignment; it leaves now
                self.priority.on_fix(e.unit_id, *route.plan.coords[0])
        elif status == UnitStatus.TRANSPORTING:
            await self._release(e.unit_id, "transporting")
            await self._to_hospital(e)

    async def _to_hospital(self, e: ev.UnitStatusChanged) -> None:
        state = self.service.state
        inc = state.incidents.get(e.incident_id or "")
        if inc is None:
            return
        here = (await self.routes.whereabouts.places([e.unit_id])).get(e.unit_id)
        if here is None:
            return
        if e.hospital_id is not None:
            hospital = self.recommender.fleet.hospitals[e.hospital_id]
            why = f"to {hospital.name}, the crew's choice"
        else:
            choice = self.recommender.hospital_for(inc.kind, here)
            if choice is None:
                return
            hospital = choice.hospital
            why = f"to {hospital.name}, nearest that takes {choice.needed}"
        await self.routes.give(e.unit_id, RoutePurpose.TO_HOSPITAL, (hospital.lon, hospital.lat), why,
                               start=here, hospital_id=hospital.hospital_id)

    async def _road_restricted(self, e: ev.RoadClosed | ev.RoadSlowed) -> None:
        r = self.service.state.roads[e.restriction_id]
        if not r.active:
            return
        why = f"road {'closed' if r.speed_kmh is None else 'slowed'} ({r.restriction_id})"
        await self.routes.reroute_where(why, lambda plan: runs_over(plan, r.road, r.both_ways))

    # --- green waves --------------------------------------------------------------------------

    def _active_whistle(self, incident_id: str) -> str | None:
        return next((w.whistle_id for w in self.service.state.whistles.values()
                     if w.active and w.incident_id == incident_id), None)

    async def _routed(self, e: ev.UnitRouted) -> None:
        whistle_id = self._active_whistle(e.incident_id)
        if whistle_id is None or not self.green_wave:
            return
        corridor = self.service.state.corridors.get(e.unit_id)
        if corridor is not None:  # the old route's junctions go back before the new ones are asked
            await self.priority.release(e.unit_id, f"new route ({e.reason})")
        route = self.routes.current(e.unit_id)
        if route is not None:
            await self.priority.request(e.unit_id, route.plan, whistle_id)

    async def _whistled(self, e: ev.WhistleBlown) -> None:
        if not self.green_wave:
            return
        state = self.service.state
        inc = state.incidents[e.incident_id]
        for uid in dict.fromkeys(inc.unit_ids):
            unit = state.units[uid]
            if unit.incident_id != inc.incident_id:
                continue
            route = state.routes.get(uid)
            if route is None and unit.status in (UnitStatus.DISPATCHED, UnitStatus.EN_ROUTE):
                await self.routes.to_scene(uid, "whistle blown")  # routed now, so the corridor follows
            elif route is not None and (uid not in state.corridors
                                        or state.corridors[uid].whistle_id != e.whistle_id):
                await self.priority.request(uid, route.plan, e.whistle_id)

    async def _release(self, unit_id: str, reason: str) -> None:
        if unit_id in self.service.state.corridors:
            await self.priority.release(unit_id, reason)

    async def _release_incident(self, incident_id: str, reason: str) -> None:
        for corridor in list(self.service.state.corridors.values()):
            if corridor.incident_id == incident_id:
                await self.priority.release(corridor.unit_id, reason)
