"""The signal-priority adapter: asks the 122 centre's signal system for green waves on units'
routes, and follows each unit along its corridor.

When a corridor is asked for and when it is given back is decided by the joint-response
workflows (coordination.workflows); this module carries it out.

The corridor (which signals, in what order, each window) is planned by the greenwave package and
followed by its CorridorTracker: as positions arrive, ETAs are refreshed and windows re-sent when
the drift passes the threshold, each signal is released once the unit is past its stop line, and
all are released when the unit leaves its route, its task ends or it is sent elsewhere. Every
change is an event in the log, so the map and the replay see it.

The gateway is the in-process simulated controller unless JD_SIGNAL_CONTROLLER_URL points at a real
controller service. A slow or dead controller never blocks dispatch or position intake: following
runs in the background, the gateway answers "degraded", and the corridor shows which signals are
not covered."""

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from coordination.unit_routes import OFF_ROUTE_M
from dispatch import events as ev
from dispatch.green_wave import (
    RecordGreenWave,
    RecordGreenWaveAnswers,
    RecordGreenWaveRelease,
    RecordGreenWaveRetime,
)
from dispatch.rejection import Rejected
from dispatch.router import RoutePlan
from dispatch.service import DispatchService
from dispatch.signal_windows import SignalAnswer, SignalState, SignalWindow
from dispatch.state import DispatchState
from greenwave.corridor import CorridorSettings, plan_corridor
from greenwave.corridor_tracker import CorridorActions, CorridorTracker, TrackedSignal, carry_out
from greenwave.gateway import SignalGateway
from greenwave.messages import PriorityAnswer, VehicleRole, priority_from_severity
from greenwave.network_plans import plan_book_for
from greenwave.route_progress import RouteProgress
from greenwave.simulated_controller import SimulatedController
from routing.network import RoadNetwork

ROLE_OF_AGENCY = {"110": VehicleRole.POLICE, "122": VehicleRole.POLICE, "119": VehicleRole.FIRE,
                  "120": VehicleRole.AMBULANCE}
LonLat = tuple[float, float]
RETRY_UNCOVERED_S = 10.0  # how often signals a down controller left uncovered are asked again


def signal_places(network: RoadNetwork) -> dict[str, LonLat]:
    return {s["id"]: (s["lon"], s["lat"]) for s in network.signals()}


def _answer(a: PriorityAnswer) -> SignalAnswer:
    return SignalAnswer(signal_id=a.junction_id, request_id=a.request_id, status=SignalState(a.status.value),
                        reason=a.reason.value, window_start=a.window_start, window_end=a.window_end,
                        degraded=a.degraded)


def _asked(t: TrackedSignal) -> SignalWindow:
    """The window first asked at a junction, with where it lies on the route."""
    return SignalWindow(signal_id=t.signal.signal_id, request_id=t.request_id, order=t.signal.order,
                        approach=t.signal.approach, eta=round(t.signal.eta_s, 1),
                        eta_without=round(t.signal.eta_without_s, 1),
                        window_start=round(t.signal.window_start, 1),
                        window_end=round(t.signal.window_end, 1),
                        saved_s=round(t.signal.expected_delay_s, 1))


def _moved(t: TrackedSignal, settings: CorridorSettings) -> SignalWindow:
    """The window re-sent as the unit's ETA at the junction moved."""
    return SignalWindow(signal_id=t.signal.signal_id, eta=round(t.eta, 1),
                        window_start=round(t.eta - settings.lead_s, 1),
                        window_end=round(t.eta + settings.clearance_s, 1))


@dataclass
class Following:
    """One unit's corridor as this process follows it."""

    incident_id: str
    tracker: CorridorTracker
    progress: RouteProgress
    retried_at: float = 0.0  # when uncovered signals were last asked again


class SignalPriority:
    def __init__(self, service: DispatchService, gateway: SignalGateway,
                 places: Mapping[str, LonLat] | None = None,
                 settings: CorridorSettings | None = None) -> None:
        self.service, self.gateway = service, gateway
        self.places = dict(places or {})
        self.settings = settings or CorridorSettings()
        self.following: dict[str, Following] = {}  # by unit id; kept after release, so it is idempotent
        self.owner: dict[str, str] = {}  # request id -> unit id, to route revised answers
        # One conversation with the controller at a time: the simulated one is not thread-safe,
        # and a real one gets requests for one junction in the order they were decided.
        self._gateway_lock = asyncio.Lock()
        self._unit_locks: dict[str, asyncio.Lock] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._asked = 0
        service.subscribe(self._on_event)

    @classmethod
    def simulated(cls, service: DispatchService, network: RoadNetwork,
                  settings: CorridorSettings | None = None) -> "SignalPriority":
        book = plan_book_for(network.graph)
        clock: Callable[[], float] = lambda: service.clock.now().timestamp()  # noqa: E731
        settings = settings or CorridorSettings()
        controller = SimulatedController(book.all(), clock, max_hold_s=settings.max_hold_s)
        return cls(service, controller, signal_places(network), settings)

    def _lock(self, unit_id: str) -> asyncio.Lock:
        return self._unit_locks.setdefault(unit_id, asyncio.Lock())

    async def _carry(self, tracker: CorridorTracker, actions: CorridorActions) -> list[PriorityAnswer]:
        async with self._gateway_lock:
            return await asyncio.to_thread(carry_out, tracker, actions, self.gateway)

    # --- asking -------------------------------------------------------------------------------------

    async def request(self, unit_id: str, plan: RoutePlan, whistle_id: str | None) -> dict[str, Any]:
        async with self._lock(unit_id):
            return await self._request(unit_id, plan, whistle_id)

    async def _request(self, unit_id: str, plan: RoutePlan, whistle_id: str | None) -> dict[str, Any]:
        old = self.following.get(unit_id)
        if old is not None and not old.tracker.done():  # a new route: the old corridor goes back first
            await self._record(unit_id, old, old.tracker.release_all(), "given a new route")
        state = self.service.state
        unit = state.units[unit_id]
        inc = state.incidents[unit.incident_id or ""]
        now = self.service.clock.now().timestamp()
        corridor = plan_corridor(unit_id, plan.signals, now, self.settings)
        role = ROLE_OF_AGENCY.get(unit.agency, VehicleRole.POLICE)
        self._asked += 1
        tracker = CorridorTracker(corridor, unit_id, role, priority_from_severity(inc.severity, role),
                                  self.settings, tag=f"{unit_id}-{now:.0f}-{self._asked}")
        progress = RouteProgress(plan.coords, corridor, plan.eta_green_s, self.places)
        self.following[unit_id] = Following(inc.incident_id, tracker, progress)
        for t in tracker.signals:
            self.owner[t.request_id] = unit_id
        answers = await self._carry(tracker, tracker.start())
        signals = tuple(_asked(t) for t in tracker.signals)
        own = tuple(_answer(a) for a in answers)
        await self.service.execute(RecordGreenWave(unit_id, whistle_id, plan.eta_s, plan.eta_green_s,
                                                   signals, own))
        await self._tell_others(unit_id, answers)
        return {"signals": len(signals), "granted": sum(a.status == SignalState.GRANTED for a in own),
                "eta_s": round(plan.eta_s, 1), "eta_green_s": round(plan.eta_green_s, 1)}

    async def _tell_others(self, unit_id: str, answers: list[PriorityAnswer]) -> None:
        """Revised answers for other units' requests (arbitration moved their window): their
        trackers take them in and their dispatchers see them in the log."""
        by_unit: dict[str, list[PriorityAnswer]] = {}
        for a in answers:
            for r in a.revised:
                other = self.owner.get(r.request_id)
                if other is not None and other != unit_id:
                    by_unit.setdefault(other, []).append(r)
        for other, revised in by_unit.items():
            follow = self.following.get(other)
            if follow is not None:
                for r in revised:
                    follow.tracker.record(r)
            with contextlib.suppress(Rejected):
                await self.service.execute(RecordGreenWaveAnswers(other, tuple(map(_answer, revised))))

    # --- following ----------------------------------------------------------------------------------

    def on_fix(self, unit_id: str, lon: float, lat: float) -> None:
        """A position arrived (at any server process: fixes come through Redis pub/sub): refresh
        ETAs, release what is passed. Never waits on the controller."""
        follow = self.following.get(unit_id)
        if follow is None or follow.tracker.done():
            return
        self._spawn(self._progress(unit_id, lon, lat))

    async def _progress(self, unit_id: str, lon: float, lat: float) -> None:
        async with self._lock(unit_id):
            follow = self.following.get(unit_id)
            if follow is None or follow.tracker.done():
                return
            now = self.service.clock.now().timestamp()
            at = follow.progress.locate(lon, lat)
            if at.off_route_m > OFF_ROUTE_M:  # the fleet re-routes it; the new route gets a new corridor
                await self._record(unit_id, follow, follow.tracker.release_all(), "left its route")
                return
            actions = follow.tracker.on_progress(now, at.route_time_s)
            if follow.tracker.degraded and now - follow.retried_at >= RETRY_UNCOVERED_S:
                follow.retried_at = now
                retry = follow.tracker.retry_uncovered()
                actions = CorridorActions(actions.send + retry.send, actions.release)
            if actions:
                await self._record(unit_id, follow, actions, "passed its stop line")

    async def _record(self, unit_id: str, follow: Following, actions: CorridorActions, reason: str) -> None:
        answers = await self._carry(follow.tracker, actions)
        sent = {r.request_id for r in actions.send}
        with contextlib.suppress(Rejected):
            if actions.release:
                await self.service.execute(RecordGreenWaveRelease(
                    unit_id, tuple(r.junction_id for r in actions.release), reason))
            if actions.send:
                recorded = self.service.state.corridors.get(unit_id)
                held = recorded.signals if recorded is not None else {}
                moved = tuple(w for w in (_moved(t, self.settings) for t in follow.tracker.signals
                                          if t.request_id in sent)
                              if w.signal_id not in held or held[w.signal_id].asked.eta != w.eta)
                said = tuple(_answer(a) for a in answers if a.request_id in sent)
                # A window that moved is a retime; the same window asked again (a controller
                # back from an outage) is only news in its answer.
                await self.service.execute(RecordGreenWaveRetime(unit_id, moved, said) if moved
                                           else RecordGreenWaveAnswers(unit_id, said))
        await self._tell_others(unit_id, answers)

    async def release(self, unit_id: str, reason: str, only: Following | None = None) -> None:
        """Give every junction still held for this unit back to its plan (`only`: if the corridor
        followed is still that one, so a late release never touches a newer corridor)."""
        async with self._lock(unit_id):
            follow = self.following.get(unit_id)
            if only is not None and follow is not only:
                return
            if follow is not None:
                if not follow.tracker.done():
                    await self._record(unit_id, follow, follow.tracker.release_all(), reason)
                return
            # Not followed here (this process started after the request): release from the log.
            corridor = self.service.state.corridors.get(unit_id)
            if corridor is None:
                return
            held = [(w.signal_id, w.request_id or f"{corridor.incident_id}-{unit_id}-{w.signal_id}")
                    for w in (sg.asked for sg in corridor.held())]
            async with self._gateway_lock:
                for sid, rid in held:
                    await asyncio.to_thread(self.gateway.cancel, rid, sid)
            with contextlib.suppress(Rejected):
                await self.service.execute(RecordGreenWaveRelease(unit_id, tuple(s for s, _ in held), reason))

    # --- the log tells this process when a corridor it follows was given back elsewhere -------

    def _on_event(self, seq: int, e: ev.Event, state: DispatchState) -> None:
        if not isinstance(e, ev.GreenWaveReleased):
            return
        follow = self.following.get(e.unit_id)
        corridor = state.corridors.get(e.unit_id)
        if follow is None or follow.tracker.done() or corridor is None:
            return
        if corridor.finished:
            follow.tracker.release_all()  # another process gave them back; stop following here

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def settle(self) -> None:
        """Wait for background follow-ups (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
