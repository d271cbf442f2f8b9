"""Schemathesis over every operation of the app's OpenAPI against a running server: the
requests it makes and every answer 5xx, with the request that caused it. Used by the short run
in tests (test_fuzz.py) and the long one in `make bench` (bench/fuzz_bench.py).

Driven through Hypothesis directly rather than schemathesis' pytest plugin, which does not
load under pytest 9 (`'Function' object has no attribute '_nodeid'`)."""

from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings


def _streams(raw: dict[str, Any]) -> bool:
    return any("text/event-stream" in (r.get("content") or {}) for r in raw.get("responses", {}).values())


@dataclass
class FuzzRun:
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)  # "METHOD path -> status: body"
    by_status: dict[int, int] = field(default_factory=dict)


def fuzz(base_url: str, headers: dict[str, str], examples: int, seed: int = 0) -> FuzzRun:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    run = FuzzRun()
    for result in schema.get_all_operations():
        operation = result.ok()
        if _streams(operation.definition.raw):
            continue  # an event stream never ends by itself: its own tests cover it

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, database=None, derandomize=seed == 0,
                  suppress_health_check=list(HealthCheck))
        def one(case: Any) -> None:
            response = case.call(base_url=base_url, headers=dict(headers), timeout=30)
            run.requests += 1
            run.by_status[response.status_code] = run.by_status.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                run.server_errors.append(
                    f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:200]}"
                    f" -> {response.status_code}: {response.text[:300]}")

        one()
    return run
