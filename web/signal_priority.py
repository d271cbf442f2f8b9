"""Asking the 122 centre's signal system for green waves on assigned units' routes.

The corridor (which signals, in what order, each window) is planned by the greenwave package; the
gateway is the in-process simulated controller unless JD_SIGNAL_CONTROLLER_URL points at a real
controller service. A slow or dead controller never blocks dispatch: the gateway answers
"degraded" and the corridor shows which signals are not covered."""

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from dispatch.decide import RecordGreenWave, RecordGreenWaveRelease
from dispatch.rejection import Rejected
from dispatch.router import RoutePlan
from dispatch.service import DispatchService
from greenwave.corridor import CorridorSettings, plan_corridor
from greenwave.gateway import SignalGateway
from greenwave.messages import PriorityRequest, VehicleRole, priority_from_severity
from greenwave.network_plans import plan_book_for
from greenwave.simulated_controller import SimulatedController
from routing.network import RoadNetwork

ROLE_OF_AGENCY = {"110": VehicleRole.POLICE, "122": VehicleRole.POLICE, "119": VehicleRole.FIRE,
                  "120": VehicleRole.AMBULANCE}

class SignalPriority:
    def __init__(self, service: DispatchService, gateway: SignalGateway,
                 settings: CorridorSettings | None = None) -> None:
        self.service, self.gateway = service, gateway
        self.settings = settings or CorridorSettings()

    @classmethod
    def simulated(cls, service: DispatchService, network: RoadNetwork) -> "SignalPriority":
        book = plan_book_for(network.graph)
        clock: Callable[[], float] = lambda: service.clock.now().timestamp()  # noqa: E731
        return cls(service, SimulatedController(book.all(), clock))

    async def request(self, unit_id: str, plan: RoutePlan, whistle_id: str | None) -> dict[str, Any]:
        state = self.service.state
        unit = state.units[unit_id]
        inc = state.incidents[unit.incident_id or ""]
        now = self.service.clock.now().timestamp()
        corridor = plan_corridor(unit_id, plan.signals, now, self.settings)
        role = ROLE_OF_AGENCY.get(unit.agency, VehicleRole.POLICE)
        level = priority_from_severity(inc.severity, role)
        signals, answers = [], []
        for s in corridor.signals:
            req = PriorityRequest(
                request_id=f"{inc.incident_id}-{unit_id}-{s.signal_id}", vehicle_id=unit_id, role=role,
                priority_level=level, junction_id=s.signal_id, inbound_approach=s.approach,
                eta=s.eta_s, window_start=s.window_start, window_end=s.window_end)
            answer = await asyncio.to_thread(self.gateway.request, req)
            signals.append({"signal_id": s.signal_id, "approach": s.approach, "eta": round(s.eta_s, 1),
                            "window_start": round(s.window_start, 1), "window_end": round(s.window_end, 1),
                            "saved_s": round(s.expected_delay_s, 1)})
            answers.append({"signal_id": s.signal_id, "status": answer.status.value,
                            "reason": answer.reason.value, "window_start": answer.window_start,
                            "window_end": answer.window_end, "degraded": answer.degraded})
        await self.service.execute(RecordGreenWave(unit_id, whistle_id, plan.eta_s, plan.eta_green_s,
                                                   tuple(signals), tuple(answers)))
        return {"signals": len(signals), "granted": sum(a["status"] == "granted" for a in answers),
                "eta_s": round(plan.eta_s, 1), "eta_green_s": round(plan.eta_green_s, 1)}

    async def release(self, unit_id: str, reason: str) -> None:
        """Give every junction still held for this unit back to its plan."""
        corridor = self.service.state.corridors.get(unit_id)
        if corridor is None:
            return
        held = [sid for sid, s in corridor.signals.items() if s["status"] not in ("released", "refused")]
        for sid in held:
            await asyncio.to_thread(self.gateway.cancel, f"{corridor.incident_id}-{unit_id}-{sid}", sid)
        with contextlib.suppress(Rejected):
            await self.service.execute(RecordGreenWaveRelease(unit_id, tuple(held), reason))
