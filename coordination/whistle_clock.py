"""The clock that escalates silent summons: it sleeps until the next deadline the log knows of.

A live server runs one in each process; `CheckDeadlines` is decided on the log, so two clocks
waking at once escalate a summons once (the second decision finds nothing overdue)."""

import asyncio
from datetime import datetime

from dispatch.service import DispatchService
from dispatch.whistle import CheckDeadlines, next_deadline


async def escalation_clock(service: DispatchService, max_sleep_s: float = 1.0) -> None:
    """Wake at the next deadline (or every second, to see deadlines other processes added)."""
    while True:
        due = next_deadline(service.state)
        now: datetime = service.clock.now()
        if due is not None and due <= now:
            try:
                await service.execute(CheckDeadlines())
            except Exception:  # a Redis hiccup must not stop the clock; try again shortly
                await asyncio.sleep(0.5)
            continue
        wait = max_sleep_s if due is None else min(max_sleep_s, (due - now).total_seconds())
        await asyncio.sleep(max(0.01, wait))
