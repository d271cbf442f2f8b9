"""The clocks that act on deadlines the log holds: silent whistle summons escalate, home-alarm
steps left unanswered go on to their next step. Each sleeps until the next deadline it knows of.

A live server runs them in each process; the command is decided on the log, so two clocks
waking at once act once (the second decision finds nothing overdue)."""

import asyncio
from collections.abc import Callable
from datetime import datetime

from dispatch import home_alarms, whistle
from dispatch.decide import Command
from dispatch.service import DispatchService
from dispatch.state import DispatchState


async def deadline_clock(service: DispatchService, due: Callable[[DispatchState], datetime | None],
                         command: Command, max_sleep_s: float = 1.0) -> None:
    """Wake at the next deadline `due` names (or every second, to see deadlines other processes
    added) and give `command`, again while something is still due."""
    while True:
        when = due(service.state)
        now: datetime = service.clock.now()
        if when is not None and when <= now:
            try:
                if not await service.execute(command):
                    await asyncio.sleep(0.05)  # due, but another process acted first: let its events arrive
            except Exception:  # a Redis hiccup must not stop the clock; try again shortly
                await asyncio.sleep(0.5)
            continue
        wait = max_sleep_s if when is None else min(max_sleep_s, (when - now).total_seconds())
        await asyncio.sleep(max(0.01, wait))


async def escalation_clock(service: DispatchService, max_sleep_s: float = 1.0) -> None:
    await deadline_clock(service, whistle.next_deadline, whistle.CheckDeadlines(), max_sleep_s)


async def alarm_step_clock(service: DispatchService, max_sleep_s: float = 1.0) -> None:
    await deadline_clock(service, home_alarms.next_deadline, home_alarms.CheckAlarmDeadlines(), max_sleep_s)
