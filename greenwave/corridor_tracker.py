"""Following a unit along its corridor: which priority requests to send at the start, which to
release as the unit passes each stop line (or leaves the route, or its task ends), and which
windows to re-send because its ETA drifted past the threshold. Pure: progress in, actions out;
a gateway carries the actions out (see `carry_out`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from greenwave.corridor import Corridor, CorridorSettings, CorridorSignal
from greenwave.gateway import SignalGateway
from greenwave.messages import (
    AnswerStatus,
    PriorityAnswer,
    PriorityRequest,
    RequestType,
    VehicleRole,
)


class Coverage(StrEnum):
    PENDING = "pending"  # not sent yet / no answer yet
    GRANTED = "granted"
    QUEUED = "queued"
    REFUSED = "refused"
    DEGRADED = "degraded"  # the controller could not be reached: the signal is not covered
    RELEASED = "released"


@dataclass
class TrackedSignal:
    signal: CorridorSignal
    request_id: str
    eta: float  # the ETA last sent to the controller
    sequence: int = 0
    coverage: Coverage = Coverage.PENDING
    reason: str = ""
    window_start: float | None = None  # as answered (revised when queued)
    window_end: float | None = None


@dataclass(frozen=True)
class Release:
    request_id: str
    junction_id: str


@dataclass(frozen=True)
class CorridorActions:
    send: list[PriorityRequest] = field(default_factory=list)  # new requests and re-sent windows
    release: list[Release] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.send or self.release)


class CorridorTracker:
    """One unit's corridor, from first request to last release."""

    def __init__(self, corridor: Corridor, vehicle_id: str, role: VehicleRole, priority_level: int,
                 settings: CorridorSettings | None = None, tag: str | None = None) -> None:
        self.corridor = corridor
        self.vehicle_id = vehicle_id
        self.role = role
        self.priority_level = priority_level
        self.settings = settings or CorridorSettings()
        # Request ids must not repeat across a unit's corridors (a re-route asks again at once).
        tag = tag or f"{corridor.unit_id}-{corridor.departure:.0f}"
        self.signals = [TrackedSignal(s, f"{tag}-{s.order}", s.eta_s) for s in corridor.signals]

    # --- requests ----------------------------------------------------------------------------------------

    def _request(self, t: TrackedSignal, kind: RequestType) -> PriorityRequest:
        return PriorityRequest(
            request_id=t.request_id, sequence=t.sequence, request_type=kind, vehicle_id=self.vehicle_id,
            role=self.role, priority_level=self.priority_level, junction_id=t.signal.signal_id,
            inbound_approach=t.signal.approach, eta=t.eta, window_start=t.eta - self.settings.lead_s,
            window_end=t.eta + self.settings.clearance_s)

    def start(self) -> CorridorActions:
        return CorridorActions(send=[self._request(t, RequestType.REQUEST) for t in self.signals])

    def record(self, answer: PriorityAnswer) -> None:
        """Take in a controller's answer (or a revised one for another unit's request here)."""
        for t in self.signals:
            if t.request_id != answer.request_id or t.coverage is Coverage.RELEASED:
                continue
            if answer.degraded:
                t.coverage = Coverage.DEGRADED
            elif answer.status is AnswerStatus.CANCELLED:
                t.coverage = Coverage.RELEASED
            else:
                t.coverage = Coverage(answer.status.value)
            t.reason = answer.reason.value
            t.window_start, t.window_end = answer.window_start, answer.window_end
        for other in answer.revised:
            self.record(other)

    # --- following the unit ------------------------------------------------------------------------------

    def _offset(self, t: TrackedSignal) -> float:
        """Seconds of priority driving from departure to this stop line."""
        return t.signal.eta_s - self.corridor.departure

    def _release(self, t: TrackedSignal) -> Release:
        t.coverage = Coverage.RELEASED
        return Release(t.request_id, t.signal.signal_id)

    def on_progress(self, now: float, route_time_s: float) -> CorridorActions:
        """The unit is `route_time_s` seconds (of priority driving) along its route at `now`.

        Signals whose stop line lies behind it are released; for the ones ahead the ETA is
        re-estimated as now plus the driving left, and re-sent when it moved past the threshold."""
        send, release = [], []
        for t in self.signals:
            if t.coverage is Coverage.RELEASED:
                continue
            left = self._offset(t) - route_time_s
            if left <= 0:
                release.append(self._release(t))
                continue
            eta = now + left
            if abs(eta - t.eta) > self.settings.drift_threshold_s:
                t.eta = eta
                t.sequence += 1
                send.append(self._request(t, RequestType.UPDATE))
        return CorridorActions(send, release)

    def on_passed(self, signal_id: str) -> CorridorActions:
        """The unit crossed this signal's stop line: release it and any earlier one still held."""
        hit = next((t for t in self.signals if t.signal.signal_id == signal_id), None)
        if hit is None:
            return CorridorActions()
        return CorridorActions(release=[self._release(t) for t in self.signals
                                        if t.signal.order <= hit.signal.order
                                        and t.coverage is not Coverage.RELEASED])

    def retry_uncovered(self) -> CorridorActions:
        """Ask again for the signals ahead the controller could not be reached about, with the
        ETAs as they stand: a controller back from an outage covers the rest of the trip."""
        send = []
        for t in self.signals:
            if t.coverage is Coverage.DEGRADED:
                t.sequence += 1
                send.append(self._request(t, RequestType.REQUEST))
        return CorridorActions(send=send)

    def release_all(self) -> CorridorActions:
        """Task ended, unit reassigned or off its route: give every junction back."""
        return CorridorActions(release=[self._release(t) for t in self.signals
                                        if t.coverage is not Coverage.RELEASED])

    # --- what the dispatcher sees ------------------------------------------------------------------------

    @property
    def degraded(self) -> bool:
        """True when some controller could not be reached: the corridor is not fully known."""
        return any(t.coverage is Coverage.DEGRADED for t in self.signals)

    def uncovered(self) -> list[str]:
        """Signals ahead that will not be green for the unit (refused or unreachable)."""
        return [t.signal.signal_id for t in self.signals
                if t.coverage in (Coverage.DEGRADED, Coverage.REFUSED)]

    def done(self) -> bool:
        return all(t.coverage is Coverage.RELEASED for t in self.signals)


def carry_out(tracker: CorridorTracker, actions: CorridorActions,
              gateway: SignalGateway) -> list[PriorityAnswer]:
    """Send a tracker's actions through a gateway and feed the answers back to it.

    Gateways never raise, so this never blocks a caller longer than the gateway's time budget."""
    answers = []
    for req in actions.send:
        a = gateway.update(req) if req.request_type is RequestType.UPDATE else gateway.request(req)
        tracker.record(a)
        answers.append(a)
    for rel in actions.release:
        a = gateway.cancel(rel.request_id, rel.junction_id)
        answers.append(a)
        for other in a.revised:
            tracker.record(other)
    return answers


__all__ = ["Coverage", "CorridorActions", "CorridorTracker", "Release", "TrackedSignal", "carry_out"]
