"""The SignalGateway to a controller service over HTTP (the protocol in PROTOCOL.md): short
timeouts, a few retries with exponential backoff inside a total time budget, and a circuit breaker.
It never raises into the caller: when the controller is down, slow or broken the answer is a
refused, degraded one at once, so intake and dispatch never wait on the signals."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from greenwave.circuit_breaker import CircuitBreaker
from greenwave.gateway import SecondsClock
from greenwave.messages import PriorityAnswer, PriorityRequest, Reason, refused


def _seg(value: str) -> str:
    """Ids go into the URL path: quote everything, '/' included."""
    return quote(value, safe="")


# Answers a controller gives when it is overloaded or restarting: worth another try.
RETRYABLE_STATUS = {429, 502, 503, 504}


class HttpSignalGateway:
    def __init__(self, base_url: str, *, timeout_s: float = 0.5, retries: int = 2, backoff_s: float = 0.05,
                 budget_s: float = 1.5, breaker: CircuitBreaker | None = None,
                 client: httpx.Client | None = None, clock: SecondsClock = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.budget_s = budget_s
        self.breaker = breaker or CircuitBreaker()
        self._client = client or httpx.Client(base_url=self.base_url)
        self._clock = clock
        self._sleep = sleep

    def close(self) -> None:
        self._client.close()

    def request(self, req: PriorityRequest) -> PriorityAnswer:
        return self._call("POST", f"/v1/junctions/{_seg(req.junction_id)}/requests", req.request_id,
                          req.junction_id, req.model_dump(mode="json"))

    def update(self, req: PriorityRequest) -> PriorityAnswer:
        return self._call("PUT", f"/v1/junctions/{_seg(req.junction_id)}/requests/{_seg(req.request_id)}",
                          req.request_id, req.junction_id, req.model_dump(mode="json"))

    def cancel(self, request_id: str, junction_id: str) -> PriorityAnswer:
        return self._call("DELETE", f"/v1/junctions/{_seg(junction_id)}/requests/{_seg(request_id)}",
                          request_id, junction_id, None)

    def _call(self, method: str, path: str, request_id: str, junction_id: str,
              body: dict[str, Any] | None) -> PriorityAnswer:
        deadline = self._clock() + self.budget_s
        last = "no attempt made"
        for attempt in range(self.retries + 1):
            if not self.breaker.allow():
                return refused(request_id, junction_id, Reason.CIRCUIT_OPEN,
                               f"controller circuit open ({last})", degraded=True)
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            try:
                resp = self._client.request(method, path, json=body, timeout=min(self.timeout_s, remaining))
            except httpx.HTTPError as e:
                # Timeouts, refused connections, resets: the controller may be back in a moment.
                self.breaker.record_failure()
                last = f"{type(e).__name__}"
            except Exception as e:  # the contract: never raise into dispatch
                self.breaker.record_failure()
                return refused(request_id, junction_id, Reason.CONTROLLER_ERROR,
                               f"{type(e).__name__}: {e}"[:300], degraded=True)
            else:
                if resp.status_code in RETRYABLE_STATUS or resp.status_code >= 500:
                    self.breaker.record_failure()
                    last = f"HTTP {resp.status_code}"
                else:
                    self.breaker.record_success()
                    return self._answer(resp, request_id, junction_id)
            if attempt < self.retries:
                pause = min(self.backoff_s * (2 ** attempt), max(0.0, deadline - self._clock()))
                if pause > 0:
                    self._sleep(pause)
        return refused(request_id, junction_id, Reason.CONTROLLER_UNREACHABLE, last, degraded=True)

    @staticmethod
    def _answer(resp: httpx.Response, request_id: str, junction_id: str) -> PriorityAnswer:
        # A 4xx carrying an answer is the controller saying no (unknown junction): a real answer.
        # Anything else unreadable means nothing is covered, so it is refused and degraded.
        try:
            return PriorityAnswer.model_validate(resp.json())
        except (ValueError, ValidationError):
            return refused(request_id, junction_id, Reason.CONTROLLER_ERROR,
                           f"HTTP {resp.status_code}: {resp.text[:200]}", degraded=True)
