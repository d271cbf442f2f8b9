"""Free-form JSON a client sends (a call's `details`), held to what the log, the feeds, SSE and
webhooks can carry back out: bounded depth, size and string lengths, and finite numbers only.

Python's json reads `NaN` and `Infinity`, which no JSON reader downstream accepts, and nothing
bounds nesting: 300 levels were stored, then every read of the call hit the recursion limit.
The size limits keep one call's notes from becoming every screen's and every feed's burden: a
call is copied into each feed entry, EIDO and webhook about its incident."""

import math
from typing import Any

DETAILS_MAX_DEPTH = 16  # a form's sections within sections; far below any parser's limit
DETAILS_MAX_ITEMS = 500  # keys and list items, counted through every level
DETAILS_MAX_STRING = 4000  # characters in one value: a long narrative, not a file
DETAILS_MAX_KEY = 100  # characters in one key


def check_plain_json(value: Any, path: str = "details") -> None:
    """Raise ValueError naming the first place that is too deep, too big or not a finite number."""
    items = [0]

    def walk(v: Any, where: str, depth: int) -> None:
        if depth > DETAILS_MAX_DEPTH:
            raise ValueError(f"{where} nests deeper than {DETAILS_MAX_DEPTH} levels")
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{where} is {v}, which JSON cannot carry; send a number or a string")
        if isinstance(v, str) and len(v) > DETAILS_MAX_STRING:
            raise ValueError(f"{where} is {len(v)} characters; at most {DETAILS_MAX_STRING}")
        children: list[tuple[Any, Any]] = (
            list(v.items()) if isinstance(v, dict) else list(enumerate(v)) if isinstance(v, list) else [])
        items[0] += len(children)
        if items[0] > DETAILS_MAX_ITEMS:
            raise ValueError(f"{where} takes {path} past {DETAILS_MAX_ITEMS} keys and items")
        for k, child in children:
            if isinstance(k, str) and len(k) > DETAILS_MAX_KEY:
                raise ValueError(f"{where} has a key of {len(k)} characters; at most {DETAILS_MAX_KEY}")
            walk(child, f"{where}.{k}" if isinstance(v, dict) else f"{where}[{k}]", depth + 1)

    walk(value, path, 0)
