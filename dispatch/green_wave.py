"""Green waves as facts in the log: the windows asked of the 122 centre's signals, its answers,
retimes and releases, decided and folded here.

The signal system itself is an edge (greenwave/, through coordination/); this module only records
what was asked and answered, so every process sees the same corridor."""

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from dispatch import events as ev
from dispatch.incidents import note
from dispatch.rejection import Rejected
from dispatch.signal_windows import FINISHED, SignalAnswer, SignalState, SignalWindow

if TYPE_CHECKING:
    from datetime import datetime

    from dispatch.state import DispatchState


@dataclass
class CorridorSignal:
    """One junction of a corridor as the log tells it: the window asked and the latest answer."""

    asked: SignalWindow
    status: SignalState = SignalState.REQUESTED
    reason: str = ""
    degraded: bool = False
    served_start: float | None = None
    served_end: float | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def uncovered(self) -> bool:
        """Not green for the unit: refused, or owed by a controller that cannot be reached."""
        return self.status != SignalState.RELEASED and (self.degraded or self.status == SignalState.REFUSED)


@dataclass
class CorridorState:
    """One unit's green wave as the log tells it, junction by junction."""

    unit_id: str
    incident_id: str
    whistle_id: str | None
    eta_s: float
    eta_green_s: float
    signals: dict[str, CorridorSignal] = field(default_factory=dict)  # by signal id

    @property
    def saved_s(self) -> float:
        return self.eta_s - self.eta_green_s

    @property
    def finished(self) -> bool:
        return all(s.finished for s in self.signals.values())

    def held(self) -> list[CorridorSignal]:
        return [s for s in self.signals.values() if not s.finished]

    def in_order(self) -> list[CorridorSignal]:
        return sorted(self.signals.values(), key=lambda s: (s.asked.order, s.asked.eta))


# --- commands: the edge asked the signal system and records what happened ---------------------


@dataclass(frozen=True)
class RecordGreenWave:
    """The request and its answers go in the log together."""

    unit_id: str
    whistle_id: str | None
    eta_s: float
    eta_green_s: float
    signals: tuple[SignalWindow, ...]
    answers: tuple[SignalAnswer, ...]


@dataclass(frozen=True)
class RecordGreenWaveRetime:
    """Windows re-sent as the unit's ETA drifted, with what the signal system answered."""

    unit_id: str
    signals: tuple[SignalWindow, ...]
    answers: tuple[SignalAnswer, ...]


@dataclass(frozen=True)
class RecordGreenWaveAnswers:
    """Answers that changed without this unit asking: another unit's request won a junction."""

    unit_id: str
    answers: tuple[SignalAnswer, ...]


@dataclass(frozen=True)
class RecordGreenWaveRelease:
    unit_id: str
    signal_ids: tuple[str, ...]
    reason: str


GreenWaveCommand = RecordGreenWave | RecordGreenWaveRetime | RecordGreenWaveAnswers | RecordGreenWaveRelease


def decide(state: "DispatchState", command: GreenWaveCommand, now: "datetime") -> list[ev.Event]:
    match command:
        case RecordGreenWave():
            unit = state.units.get(command.unit_id)
            if unit is None or unit.incident_id is None:
                raise Rejected(409, "unit_id", f"{command.unit_id} is not on its way to an incident")
            return [
                ev.GreenWaveRequested(at=now, unit_id=unit.unit_id, incident_id=unit.incident_id,
                                      whistle_id=command.whistle_id, eta_s=round(command.eta_s, 1),
                                      eta_green_s=round(command.eta_green_s, 1), signals=command.signals),
                ev.GreenWaveAnswered(at=now, unit_id=unit.unit_id, incident_id=unit.incident_id,
                                     answers=command.answers),
            ]
        case RecordGreenWaveRetime():
            held = state.corridors.get(command.unit_id)
            if held is None or not command.signals:
                return []
            return [ev.GreenWaveRetimed(at=now, unit_id=command.unit_id, incident_id=held.incident_id,
                                        signals=command.signals),
                    *([ev.GreenWaveAnswered(at=now, unit_id=command.unit_id, incident_id=held.incident_id,
                                            answers=command.answers)] if command.answers else [])]
        case RecordGreenWaveAnswers():
            held = state.corridors.get(command.unit_id)
            if held is None or not command.answers:
                return []
            return [ev.GreenWaveAnswered(at=now, unit_id=command.unit_id, incident_id=held.incident_id,
                                         answers=command.answers)]
        case RecordGreenWaveRelease():
            held = state.corridors.get(command.unit_id)
            if held is None or not command.signal_ids:
                return []
            return [ev.GreenWaveReleased(at=now, unit_id=command.unit_id, incident_id=held.incident_id,
                                         signal_ids=list(command.signal_ids), reason=command.reason)]


def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    match e:
        case ev.GreenWaveRequested():
            state.corridors[e.unit_id] = CorridorState(
                unit_id=e.unit_id, incident_id=e.incident_id, whistle_id=e.whistle_id, eta_s=e.eta_s,
                eta_green_s=e.eta_green_s, signals={w.signal_id: CorridorSignal(w) for w in e.signals})
            if e.whistle_id in state.whistles:
                state.whistles[e.whistle_id].corridor_units.append(e.unit_id)
            note(state.incidents[e.incident_id], seq, e, call_sign=state.units[e.unit_id].call_sign)
        case ev.GreenWaveAnswered():
            corridor = state.corridors[e.unit_id]
            changed: dict[str, int] = {}
            for a in e.answers:
                sg = corridor.signals.get(a.signal_id)
                if sg is None:
                    continue
                if (sg.status, sg.degraded) != (a.status, a.degraded):
                    changed[a.status.value] = changed.get(a.status.value, 0) + 1
                # The window the controller will serve, kept apart from the one asked for: when
                # another unit wins the junction the two differ, and both dispatchers see how.
                sg.status, sg.reason, sg.degraded = a.status, a.reason, a.degraded
                sg.served_start, sg.served_end = a.window_start, a.window_end
            if changed:  # a re-sent window answered as before is not news for the timeline
                note(state.incidents[e.incident_id], seq, e, call_sign=state.units[e.unit_id].call_sign,
                     changed=dict(sorted(changed.items())))
        case ev.GreenWaveRetimed():
            corridor = state.corridors[e.unit_id]
            for w in e.signals:
                sg = corridor.signals.get(w.signal_id)
                if sg is not None:
                    sg.asked = replace(sg.asked, eta=w.eta, window_start=w.window_start,
                                       window_end=w.window_end)
            note(state.incidents[e.incident_id], seq, e, call_sign=state.units[e.unit_id].call_sign)
        case ev.GreenWaveReleased():
            corridor = state.corridors[e.unit_id]
            for sid in e.signal_ids:
                if sid in corridor.signals:
                    corridor.signals[sid].status = SignalState.RELEASED
            if corridor.finished:
                note(state.incidents[e.incident_id], seq, e, call_sign=state.units[e.unit_id].call_sign)
