"""The lead centre's watch: when the day's lead centre has had no live console for the set time,
hand the lead to the next centre in the rotation that has one (dispatch/lead.py decides).

Run on one node at a time (under a lease); what it knows of the consoles comes from every node
(web/presence.py), so a watch that moves to another node knows since when a centre is dark."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch import events as ev
from dispatch import lead
from dispatch.service import DispatchService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Seen:
    live: frozenset[str]  # agencies with a centre console live now, on any node
    last_seen: dict[str, datetime]  # when each agency last had one


def dark_since(seen: Seen, agency: str, watching_since: datetime) -> datetime | None:
    """Since when `agency` has had no console; None while it has one. A centre never seen is
    dark since the watch began, not since the start of time."""
    if agency in seen.live:
        return None
    last = seen.last_seen.get(agency)
    return last if last is not None else watching_since


async def lead_watch(service: DispatchService, seen: Callable[[], Awaitable[Seen]],
                     dark_after_s: float, every_s: float = 1.0) -> None:
    watching_since = service.clock.now()
    while True:
        try:
            now = service.clock.now()
            looked = await seen()
            day = lead.today(service.state, service.rules.roster, now)
            since = dark_since(looked, str(day.lead), watching_since)
            if since is not None and now - since >= timedelta(seconds=dark_after_s):
                for e in await service.execute(lead.HandOverLead(str(day.lead), since, looked.live)):
                    if isinstance(e, ev.LeadHandedOver):
                        log.warning("lead handed to %s: %s", e.to_agency, e.reason)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # Redis away for a moment: look again at the next beat
            log.warning("lead watch: %r", e)
        await asyncio.sleep(every_s)
