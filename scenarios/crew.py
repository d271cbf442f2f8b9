"""The crews a replay plays: turning out, pressing their status buttons, working on scene,
taking patients to hospital, driving home, going out of service and back.

A crew's status goes through the service as the in-vehicle terminal's would; what follows from it
(tasks, routes, hospitals, green waves) is the application layer's work, not the crew's."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from dispatch.decide import ChangeUnitStatus
from dispatch.rejection import Rejected
from dispatch.units import UnitStatus
from scenarios.model import AgencyCode

if TYPE_CHECKING:
    from scenarios.world import World


class Crew:
    """Every unit's crew; each action checks its unit's token, so an order overtaken by a newer
    one (sent elsewhere, stopped) does nothing."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.service = world.service

    def _current(self, unit_id: str, token: int) -> bool:
        return self.world.units[unit_id].token == token

    async def press(self, unit_id: str, status: UnitStatus, reason: str = "") -> bool:
        try:
            await self.service.execute(ChangeUnitStatus(unit_id, status, "crew", reason))
            return True
        except Rejected:
            return False

    async def respond(self, unit_id: str, incident_id: str) -> None:
        u = self.world.units[unit_id]
        was = u.incident_id
        u.stop(self.world.engine.now_s)
        u.incident_id = incident_id
        if was is not None and was != incident_id:
            await self.world.dispatcher.maybe_close(was)
        # A crew already in its vehicle (driving home) turns round at once.
        history = self.service.state.units[unit_id].history
        moving = len(history) >= 2 and history[-2][1] == UnitStatus.RETURNING
        turnout_s = self.world.scenario.spec.dispatcher.turnout_s
        turnout = 0.0 if moving else turnout_s.get(cast(AgencyCode, u.agency), 60.0)
        token = u.token
        self.world.engine.after(turnout, lambda: self._depart(unit_id, incident_id, token))

    async def _depart(self, unit_id: str, incident_id: str, token: int) -> None:
        if not self._current(unit_id, token):
            return
        inc = self.service.state.incidents[incident_id]
        await self.press(unit_id, UnitStatus.EN_ROUTE)
        assert inc.lon is not None and inc.lat is not None
        await self.world.driver.drive(self.world.units[unit_id], (inc.lon, inc.lat), "to_scene", incident_id,
                                      lambda: self._on_scene(unit_id, incident_id, token))

    async def _on_scene(self, unit_id: str, incident_id: str, token: int) -> None:
        if not self._current(unit_id, token):
            return
        await self.press(unit_id, UnitStatus.ON_SCENE)  # its task follows, in the domain
        inc = self.service.state.incidents[incident_id]
        scene = self.world.scenario.spec.scene
        agency = self.world.units[unit_id].agency
        minutes = scene.minutes.get(inc.kind, scene.default_min)
        minutes *= 1 + scene.variation * (2 * self.world.draw(self.world.event_of(inc), agency, "scene") - 1)
        self.world.engine.after(minutes * 60, lambda: self._leave_scene(unit_id, incident_id, token))

    async def _leave_scene(self, unit_id: str, incident_id: str, token: int) -> None:
        if not self._current(unit_id, token):
            return
        u = self.world.units[unit_id]
        inc = self.service.state.incidents[incident_id]
        scene = self.world.scenario.spec.scene
        share = scene.transport_share.get(inc.kind, scene.default_transport_share)
        if u.kind == "ambulance" and u.agency == "120" and self.world.draw(self.world.event_of(inc),
                                                                           "transport") < share:
            # The crew presses transporting; the workflow names the hospital and routes it there.
            await self.press(unit_id, UnitStatus.TRANSPORTING, "patient on board")
            route = self.service.state.routes.get(unit_id)
            if route is not None and route.hospital_id is not None:
                await self.world.dispatcher.maybe_close(incident_id)
                await self.world.driver.drive(u, route.destination, "to_hospital", incident_id,
                                              lambda: self._at_hospital(unit_id, token))
                return
            await self.press(unit_id, UnitStatus.AT_HOSPITAL, "no hospital reachable")
        await self._go_home(unit_id, token, "done on scene")
        await self.world.dispatcher.maybe_close(incident_id)

    async def _at_hospital(self, unit_id: str, token: int) -> None:
        if not self._current(unit_id, token):
            return
        await self.press(unit_id, UnitStatus.AT_HOSPITAL)
        self.world.engine.after(self.world.scenario.spec.scene.handover_min * 60,
                                lambda: self._go_home(unit_id, token, "patient handed over"))

    async def _go_home(self, unit_id: str, token: int, reason: str) -> None:
        if not self._current(unit_id, token):
            return
        u = self.world.units[unit_id]
        u.incident_id = None
        await self.press(unit_id, UnitStatus.RETURNING, reason)
        await self.world.driver.drive(u, u.home, "to_station", None, lambda: self._home(unit_id, token))
        await self.world.dispatcher.unit_free(unit_id)

    async def _home(self, unit_id: str, token: int) -> None:
        if not self._current(unit_id, token):
            return
        await self.press(unit_id, UnitStatus.AVAILABLE, "back at station")
        await self.world.dispatcher.unit_free(unit_id)

    async def out_of_service(self, unit_id: str) -> None:
        u = self.world.units[unit_id]
        u.out_of_service = True
        if self.service.state.units[unit_id].status in (UnitStatus.AVAILABLE, UnitStatus.RETURNING):
            u.stop(self.world.engine.now_s)
            await self.press(unit_id, UnitStatus.OUT_OF_SERVICE, "scenario: out of service")

    async def back_in_service(self, unit_id: str) -> None:
        self.world.units[unit_id].out_of_service = False
        if self.service.state.units[unit_id].status == UnitStatus.OUT_OF_SERVICE:
            await self.press(unit_id, UnitStatus.AVAILABLE, "scenario: back in service")
            await self.world.dispatcher.unit_free(unit_id)
