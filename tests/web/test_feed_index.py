"""The feed index keeps each entry's incident as it stood at its position while its entries
share one list of calls: later calls do not show in earlier entries, and a split leaves the
entries before it as they were."""

from datetime import UTC, datetime, timedelta

from dispatch.clock import SystemClock
from dispatch.decide import ReceiveCall, SplitCall
from dispatch.memory_store import MemoryEventStore
from dispatch.plans import ResponsePlans
from dispatch.service import DispatchService
from web.bootstrap import rules_from
from web.feeds import FeedIndex
from web.settings import Settings


async def test_entries_show_the_calls_as_they_were_at_their_position() -> None:
    settings = Settings()
    plans = ResponsePlans.load(settings.plans_file)
    service = DispatchService(MemoryEventStore(), rules_from(settings, plans), SystemClock())
    feed = FeedIndex(plans)
    service.subscribe(feed.on_event)
    await service.start(follow=False)
    t0 = datetime.now(UTC)
    for i in range(5):
        await service.execute(ReceiveCall("119", t0 + timedelta(seconds=i), "fire", text=f"caller {i}",
                                          lon=119.96, lat=30.05))
    [incident_id] = service.state.incidents
    received = [e for e in feed.entries if e.event in ("incident_opened", "call_merged")]
    assert [len(e.incident["calls"]) for e in received] == [1, 2, 3, 4, 5]
    assert received[2].incident["calls"][-1]["text"] == "caller 2"
    assert received[1].changed["calls"] == [received[1].incident["calls"][-1]["call_id"]]
    assert "calls" in received[1].changed["fields"]
    before_split = [e.incident for e in feed.entries]

    moved = received[2].incident["calls"][-1]["call_id"]
    await service.execute(SplitCall(moved, reason="a different fire", by="d"))
    assert [e.incident for e in feed.entries[:len(before_split)]] == before_split  # history stands
    latest = feed.latest[incident_id].incident
    assert moved not in [c["call_id"] for c in latest["calls"]] and len(latest["calls"]) == 4
    await service.execute(ReceiveCall("119", t0 + timedelta(seconds=9), "fire", text="caller 9",
                                      lon=119.96, lat=30.05))
    after = feed.latest[incident_id].incident["calls"]
    assert [c["text"] for c in after][-1] == "caller 9" and moved not in [c["call_id"] for c in after]
    assert [e.incident for e in feed.entries[:len(before_split)]] == before_split
