"""The dispatch service on a shared log: durable before it answers, never deciding on stale facts,
every follower hearing every event once. The log is the in-memory store; the contract suite
holds Redis to the same behaviour."""

import asyncio
from datetime import UTC, datetime

from dispatch import events as ev
from dispatch.clock import SimulatedClock
from dispatch.decide import ChangeUnitStatus, ReceiveCall, RegisterUnit, Rules
from dispatch.memory_store import MemoryEventStore
from dispatch.plans import ResponsePlans
from dispatch.service import DispatchService
from dispatch.state import DispatchState

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
RULES = Rules(plans=ResponsePlans.load())


def process(log: MemoryEventStore) -> DispatchService:
    return DispatchService(log, RULES, SimulatedClock(T0))


def crash_call(hotline: str, kind: str) -> ReceiveCall:
    return ReceiveCall(hotline=hotline, received_at=T0, kind=kind, lon=119.96, lat=30.05)


async def test_a_command_answers_once_its_events_are_in_the_log_and_the_fold() -> None:
    log = MemoryEventStore()
    service = process(log)
    await service.start(follow=False)
    events = await service.execute(crash_call("110", "traffic_crash"))
    assert [r.event for r in await log.read()] == events
    assert service.state.version == len(events) and len(service.state.incidents) == 1


async def test_a_call_decided_on_a_stale_fold_is_decided_again_and_joins_the_incident() -> None:
    log = MemoryEventStore()
    first, second = process(log), process(log)
    await first.start(follow=False)
    await second.start(follow=False)  # not following: it learns of the first call only by losing
    await first.execute(crash_call("110", "traffic_crash"))
    events = await second.execute(crash_call("120", "traffic_crash_injury"))
    assert any(isinstance(e, ev.CallMerged) for e in events)
    assert len(second.state.incidents) == 1 and second.state.version == await log.version()


async def test_a_refusal_is_checked_against_what_other_processes_wrote() -> None:
    log = MemoryEventStore()
    first, second = process(log), process(log)
    await first.start(follow=False)
    await second.start(follow=False)
    await first.execute(RegisterUnit("A1", "120", "ambulance", "Ambulance 1", "H1", 3))
    # the second has never heard of A1: its first answer would be "no unit A1"
    await second.execute(ChangeUnitStatus("A1", "out_of_service", by="crew"))
    assert second.state.units["A1"].status == "out_of_service"


async def test_a_follower_hears_what_another_process_appends_once_in_order() -> None:
    log = MemoryEventStore()
    writer, follower = process(log), process(log)
    heard: list[int] = []
    caught_up = asyncio.Event()

    def listen(seq: int, _event: ev.Event, _state: DispatchState) -> None:
        heard.append(seq)
        if seq == 4:
            caught_up.set()

    follower.subscribe(listen)
    await writer.start(follow=False)
    await follower.start()
    try:
        for n in range(4):
            await writer.execute(RegisterUnit(f"A{n}", "120", "ambulance", f"Ambulance {n}", "H1", 3))
        await asyncio.wait_for(caught_up.wait(), 5)
    finally:
        await follower.stop()
    assert heard == [1, 2, 3, 4]


async def test_a_restart_folds_the_log_into_the_same_state() -> None:
    log = MemoryEventStore()
    before = process(log)
    await before.start(follow=False)
    await before.execute(crash_call("110", "traffic_crash"))
    await before.execute(crash_call("120", "traffic_crash_injury"))
    after = process(log)
    await after.start(follow=False)
    assert after.state.version == before.state.version
    assert after.state.incidents == before.state.incidents


async def test_a_failing_workflow_leaves_the_command_standing() -> None:
    log = MemoryEventStore()
    service = process(log)

    async def broken(_events: list[ev.Event]) -> None:
        raise RuntimeError("a workflow bug")

    service.react(broken)
    await service.start(follow=False)
    events = await service.execute(crash_call("119", "fire"))
    assert events and await log.version() == len(events)
