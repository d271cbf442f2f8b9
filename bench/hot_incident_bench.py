"""`hot_incident_2000_calls_rss_mb`: what 2,000 calls about one event add to a server's memory
(the fold and the feed index, as the live server builds them), measured at 500, 1,000 and 2,000
calls so the growth shows: `hot_incident_growth_ratio` is the second 1,000 calls' cost over the
first 1,000's (1.0 is linear; a copy of the incident per entry made it grow with the square)."""

import asyncio
import gc
import os
from datetime import UTC, datetime, timedelta

from dispatch.clock import SystemClock
from dispatch.decide import ReceiveCall
from dispatch.memory_store import MemoryEventStore
from dispatch.plans import ResponsePlans
from dispatch.service import DispatchService
from web.bootstrap import rules_from
from web.feeds import FeedIndex
from web.settings import Settings

CALLS = 2000
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_mb() -> float:
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


async def _measure() -> dict[str, float]:
    settings = Settings()
    plans = ResponsePlans.load(settings.plans_file)
    service = DispatchService(MemoryEventStore(), rules_from(settings, plans), SystemClock())
    feed = FeedIndex(plans)
    service.subscribe(feed.on_event)
    await service.start(follow=False)
    t0 = datetime.now(UTC)
    marks: dict[int, float] = {0: _rss_mb()}
    for i in range(1, CALLS + 1):
        # every caller a few metres from the fire, within the merge window: one incident
        await service.execute(ReceiveCall(
            "119" if i % 3 else "110", t0 + timedelta(milliseconds=50 * i), "fire",
            text=f"smoke from the warehouse, caller {i}", caller_number=f"1390000{i:04d}",
            lon=119.96 + (i % 7) * 1e-5, lat=30.05 + (i % 5) * 1e-5))
        if i in (500, 1000, 2000):
            marks[i] = _rss_mb()
    assert len(service.state.incidents) == 1, "the calls did not join one incident"
    first, second = marks[1000] - marks[0], marks[2000] - marks[1000]
    return {"hot_incident_2000_calls_rss_mb": round(marks[2000] - marks[0], 1),
            "hot_incident_500_calls_rss_mb": round(marks[500] - marks[0], 1),
            "hot_incident_growth_ratio": round(second / first, 2) if first > 0 else float("nan"),
            "hot_incident_feed_entries": len(feed.entries)}


def run() -> dict[str, float]:
    return asyncio.run(_measure())
