"""The one interface every signal controller connection fills: request, update and cancel a
priority window, each answered with a PriorityAnswer. Gateways never raise into the caller: a
controller that is down or slow gives a refused, degraded answer so intake and dispatch go on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from greenwave.messages import PriorityAnswer, PriorityRequest

# Absolute seconds (UNIX time live, simulated time in a replay); injected so no domain code
# reads the wall clock.
SecondsClock = Callable[[], float]


class SignalGateway(Protocol):
    def request(self, req: PriorityRequest) -> PriorityAnswer: ...

    def update(self, req: PriorityRequest) -> PriorityAnswer: ...

    def cancel(self, request_id: str, junction_id: str) -> PriorityAnswer: ...
