"""Free-form JSON a client sends (a call's `details`), held to what the log, the feeds, SSE and
webhooks can carry back out: a bounded depth and finite numbers only.

Python's json reads `NaN` and `Infinity`, which no JSON reader downstream accepts, and nothing
bounds nesting: 300 levels were stored, then every read of the call hit the recursion limit."""

import math
from typing import Any

DETAILS_MAX_DEPTH = 16  # a form's sections within sections; far below any parser's limit


def check_plain_json(value: Any, path: str = "details", depth: int = 0) -> None:
    """Raise ValueError naming the first place that is too deep or not a finite number."""
    if depth > DETAILS_MAX_DEPTH:
        raise ValueError(f"{path} nests deeper than {DETAILS_MAX_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path} is {value}, which JSON cannot carry; send a number or a string")
    if isinstance(value, dict):
        for k, v in value.items():
            check_plain_json(v, f"{path}.{k}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_plain_json(v, f"{path}[{i}]", depth + 1)
