"""The value types of a green-wave request and its answers, as the log carries them: the window
asked at each junction, the controller's answer, and where a junction stands."""

from dataclasses import dataclass
from enum import StrEnum


class SignalState(StrEnum):
    """Where one junction of a corridor stands: asked, then the controller's word, then given back."""

    REQUESTED = "requested"
    GRANTED = "granted"
    QUEUED = "queued"  # a conflicting request won; green comes in a later window
    REFUSED = "refused"
    CANCELLED = "cancelled"
    RELEASED = "released"


FINISHED = frozenset({SignalState.RELEASED, SignalState.REFUSED})


@dataclass(frozen=True)
class SignalWindow:
    """The green asked for at one junction, in epoch seconds. A retime re-sends only the moment
    and the window; the other fields stay as first asked."""

    signal_id: str
    eta: float
    window_start: float
    window_end: float
    request_id: str | None = None
    order: int = 0  # the junction's place along the route
    approach: str | None = None
    eta_without: float | None = None  # when the unit would be there without priority
    saved_s: float = 0.0  # the red it would have waited there


@dataclass(frozen=True)
class SignalAnswer:
    """What the controller said for one junction; its window is the one it will serve, which can
    differ from the one asked for when another unit won the junction."""

    signal_id: str
    status: SignalState
    reason: str = ""
    request_id: str | None = None
    window_start: float | None = None
    window_end: float | None = None
    degraded: bool = False  # the controller could not be reached: the answer is owed
