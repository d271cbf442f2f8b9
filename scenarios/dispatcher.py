"""The dispatchers a replay plays: they take calls, blow the whistle for qualifying incidents,
confirm the recommended units, send freed units to waiting incidents and close finished ones.

Every decision goes through the application layer, as the console's buttons do live; the timing
(intake, whistle, dispatch) comes from the scenario's dispatcher settings."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dispatch.decide import ChangeIncidentStatus, ReceiveCall
from dispatch.events import (
    CallMerged,
    CallReceived,
    Event,
    IncidentOpened,
    IncidentReclassified,
    TaskCreated,
    WhistleBlown,
)
from dispatch.lead import roster_for
from dispatch.recommend import assignments_from, needs
from dispatch.rejection import Rejected
from dispatch.units import UnitStatus
from dispatch.whistle import (
    ALL_AGENCIES,
    AcknowledgeSummons,
    BlowWhistle,
    CheckDeadlines,
    next_deadline,
)
from scenarios.model import TimelineEntry

if TYPE_CHECKING:
    from scenarios.world import World

ON_THE_WAY = (UnitStatus.DISPATCHED, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE)


class Dispatcher:
    """The joint desk (or, for the "alone" strategy, each hotline's own desk)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.service = world.service
        self.waiting: set[str] = set()  # incidents with a need no free unit could meet yet
        self.planned: set[tuple[str, str]] = set()  # (incident, action) already scheduled
        self.deadline_checks: set[datetime] = set()
        self.event_of_call: dict[str, str] = {}  # the scenario's real-world event behind each call

    async def take_call(self, n: int, entry: TimelineEntry) -> None:
        call = entry.call
        assert call is not None
        scenario = self.world.scenario
        lon, lat = scenario.place(call.place)
        event = call.event or f"T{n:05d}"
        command = ReceiveCall(
            hotline=call.hotline, received_at=scenario.at(entry.at), kind=call.kind, text=call.text,
            caller_number=call.caller, lon=lon, lat=lat, address=call.address,
            idempotency_key=f"{scenario.name}-{n}", details={"event": event})
        await self._enter(command, event)

    async def _enter(self, command: ReceiveCall, event: str) -> None:
        self.took(await self.service.execute(command), event)

    def took(self, events: list[Event], event: str) -> None:
        """A call in the log (a caller's, or one a home alarm made): the desk follows it up."""
        received = next(e for e in events if isinstance(e, CallReceived))
        self.event_of_call[received.call_id] = event
        incident_id = next((e.incident_id for e in events if isinstance(e, IncidentOpened | CallMerged)),
                           None)
        changed = any(isinstance(e, IncidentOpened | TaskCreated | IncidentReclassified) for e in events)
        if incident_id is not None and changed:
            self._plan_response(incident_id)
        if incident_id is not None and not self.world.strategy.joint:
            self._pass_on(incident_id, received, event)

    def _pass_on(self, incident_id: str, call: CallReceived, event: str) -> None:
        """Working alone, the centre phones each other agency the call's plan names, once per
        incident of its own; that centre answers after the transfer delay, takes the details
        again (its own intake) and then acts alone on what it was told."""
        if "transferred_from" in call.details:  # the first centre phones every agency itself
            return
        spec = self.world.scenario.spec.dispatcher
        for agency in self.service.rules.plans[call.kind].agencies:
            if agency == call.hotline or (incident_id, f"pass_on:{agency}") in self.planned:
                continue
            self.planned.add((incident_id, f"pass_on:{agency}"))
            delay = spec.transfer.delay_s(self.world.draw("transfer", event, agency))
            command = ReceiveCall(
                hotline=str(agency), received_at=call.received_at + timedelta(seconds=delay), kind=call.kind,
                text=call.text, caller_number=None, lon=call.lon, lat=call.lat, address=call.address,
                idempotency_key=f"{call.idempotency_key or call.call_id}-to-{agency}",
                details={"event": event, "transferred_from": call.hotline, "transferred_call": call.call_id,
                         "transfer_s": round(delay, 1)})
            self.world.engine.after(delay, lambda c=command: self._enter(c, event))

    def follow_up(self, incident_id: str) -> None:
        """An incident given a new task outside a call: plan its response as for a call."""
        self._plan_response(incident_id)

    def _plan_response(self, incident_id: str) -> None:
        inc = self.service.state.incidents[incident_id]
        timing = self.world.scenario.spec.dispatcher
        whistled = any(w.incident_id == incident_id for w in self.service.state.whistles.values())
        if self.world.strategy.whistle and inc.whistle_qualifies and not whistled:
            if (incident_id, "whistle") not in self.planned:
                self.planned.add((incident_id, "whistle"))
                self.world.engine.after(timing.whistle_s, lambda: self._blow(incident_id))
            return
        self.world.engine.after(timing.dispatch_s, lambda: self.send_units(incident_id))

    async def _blow(self, incident_id: str) -> None:
        state = self.service.state
        inc = state.incidents[incident_id]
        if not inc.active:
            return
        rules = self.service.rules
        by_agency = next((a for a in ("120", "119") if a in inc.tasks),
                         str(roster_for(state, rules.roster,
                                        rules.roster.duty_day(self.service.clock.now())).lead))
        try:
            events = await self.service.execute(
                BlowWhistle(incident_id, f"dispatcher {by_agency}", by_agency))
        except Rejected:
            await self.send_units(incident_id)
            return
        whistle_id = next(e.whistle_id for e in events if isinstance(e, WhistleBlown))
        for agency in ALL_AGENCIES:
            delay = self.world.scenario.spec.roster.ack_s.get(agency, 30.0)
            if delay != "never":
                self.world.engine.after(float(delay), self._acknowledge(whistle_id, str(agency)))
        self._watch_deadlines()
        await self.send_units(incident_id)

    def _acknowledge(self, whistle_id: str, agency: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            summons = self.service.state.whistles[whistle_id].summons.get(agency)
            if summons is None or summons.acknowledged_at is not None:
                return
            with contextlib.suppress(Rejected):
                await self.service.execute(AcknowledgeSummons(whistle_id, agency, summons.name))
        return run

    def _watch_deadlines(self) -> None:
        due = next_deadline(self.service.state)
        if due is None or due in self.deadline_checks:
            return
        self.deadline_checks.add(due)

        async def check() -> None:
            await self.service.execute(CheckDeadlines())
            self._watch_deadlines()
        self.world.engine.at((due - self.world.scenario.spec.start).total_seconds(), check)

    def _active_whistle(self, incident_id: str) -> str | None:
        return next((w.whistle_id for w in self.service.state.whistles.values()
                     if w.active and w.incident_id == incident_id), None)

    async def send_units(self, incident_id: str) -> None:
        """The dispatcher confirms the recommendation, as the one-click assign does live."""
        state = self.service.state
        inc = state.incidents.get(incident_id)
        if inc is None or not inc.active or inc.lon is None or inc.lat is None:
            self.waiting.discard(incident_id)
            return
        out = frozenset(uid for uid, u in self.world.units.items() if u.out_of_service)
        recommended = await self.world.coordinator.recommendation(incident_id, exclude=out)
        assignments = assignments_from(recommended, None)
        if any(n.pick is None for n in recommended):
            self.waiting.add(incident_id)
        else:
            self.waiting.discard(incident_id)
        if not assignments:
            return
        diverted = {a.unit_id: state.units[a.unit_id].incident_id for a in assignments if a.divert}
        whistle_id = self._active_whistle(incident_id)
        by = f"whistle {whistle_id}" if whistle_id else "dispatcher"
        try:
            await self.world.coordinator.send(incident_id, None, by, None, needs=recommended)
        except Rejected:
            self.waiting.add(incident_id)
            return
        olds = [old for old in diverted.values() if old is not None]
        self.waiting.update(olds)  # a diverted unit's old incident needs someone else
        for a in assignments:
            await self.world.crew.respond(a.unit_id, incident_id)
        for old in olds:
            await self.send_units(old)

    async def unit_free(self, unit_id: str) -> None:
        """A unit can be sent again: the longest-waiting, most severe incident it fits gets it."""
        if self.world.units[unit_id].out_of_service:
            await self.world.crew.out_of_service(unit_id)
            return
        state = self.service.state
        plans = self.service.rules.plans
        unit = state.units[unit_id]
        for incident_id in sorted(self.waiting, key=lambda i: (-state.incidents[i].severity,
                                                               state.incidents[i].reported_at, i)):
            inc = state.incidents[incident_id]
            if any(a == unit.agency and (not k or k == unit.kind) for a, k in needs(state, inc, plans)):
                await self.send_units(incident_id)
                if state.units[unit_id].status not in (UnitStatus.AVAILABLE, UnitStatus.RETURNING):
                    return

    async def maybe_close(self, incident_id: str) -> None:
        """Close an incident once every unit sent has left it and no need is left unmet."""
        state = self.service.state
        inc = state.incidents[incident_id]
        if not inc.active or incident_id in self.waiting:
            return
        if any(state.units[uid].incident_id == incident_id and state.units[uid].status in ON_THE_WAY
               for uid in inc.unit_ids):
            return
        # Closing closes the tasks and gives back the green waves (domain and workflows).
        await self.service.execute(
            ChangeIncidentStatus(incident_id, "closed", "dispatcher", "all units left"))
