"""Replays on a real Redis: the same file and seed give the same day; units never beat free flow;
the strategies really differ in what the service does; the training namespace stays apart."""

from collections import Counter

import redis.asyncio as aioredis

from dispatch import events as ev
from dispatch.units import UnitStatus
from scenarios.model import LoadedScenario
from scenarios.replay import Replay, ReplayResult, compare
from scenarios.world import City


def _types(result: ReplayResult) -> Counter[str]:
    return Counter(r.event.type for r in result.records)


async def test_same_file_and_seed_give_the_same_replay(small: LoadedScenario, small_city: City,
                                                       redis: aioredis.Redis, namespace: str) -> None:
    a = await Replay(small, "joint_green_wave", small_city, redis, namespace=f"{namespace}a").run()
    b = await Replay(small, "joint_green_wave", small_city, redis, namespace=f"{namespace}b").run()
    assert [ev.to_json(r.event) for r in a.records] == [ev.to_json(r.event) for r in b.records]
    assert [t.to_dict() for t in a.trips] == [t.to_dict() for t in b.trips]
    assert a.kpis == b.kpis
    other = await Replay(small, "joint_green_wave", small_city, redis, seed=99,
                         namespace=f"{namespace}c").run()
    # the seed draws time on scene: the day unfolds differently after the first arrivals
    assert [ev.to_json(r.event) for r in other.records] != [ev.to_json(r.event) for r in a.records]


async def test_no_unit_arrives_before_free_flow_time(small: LoadedScenario, small_city: City,
                                                     redis: aioredis.Redis, namespace: str) -> None:
    for strategy in ("alone", "joint_green_wave"):
        result = await Replay(small, strategy, small_city, redis, namespace=f"{namespace}{strategy}").run()
        done = [t for t in result.trips if t.arrive_s is not None]
        assert len(done) >= 8
        for t in done:
            assert t.duration_s is not None
            assert t.duration_s >= t.free_flow_s - 1e-6, t
            assert t.signal_wait_s >= 0
            if t.without_priority_s is not None:
                assert t.without_priority_s >= t.free_flow_s - 1e-6
        # and every unit assigned ended the day back at its station, available
        last = {}
        for r in result.records:
            if isinstance(r.event, ev.UnitStatusChanged):
                last[r.event.unit_id] = r.event.status
        assert set(last.values()) <= {UnitStatus.AVAILABLE}


async def test_strategies_differ_in_what_the_service_does(small: LoadedScenario, small_city: City,
                                                          redis: aioredis.Redis) -> None:
    alone, joint, green = await compare(small, small_city, redis)
    # alone: each centre its own incident for the one crash (122's from the calls passed on to
    # it by phone), no whistle; every other agency's part arrives by a transfer, after a delay
    assert alone.kpis["incidents"] == 5
    assert _types(alone)["whistle_blown"] == 0
    assert alone.kpis["calls"] == joint.kpis["calls"] == 5
    passed_on = [r.event for r in alone.records if isinstance(r.event, ev.CallReceived)
                 and "transferred_from" in r.event.details]
    # 110 and 119 (person trapped) pass it to three centres each, 120 (crash with injuries) to two;
    # the repeat call to 110 is not passed on again
    assert len(passed_on) == alone.kpis["transfers"] == 8
    assert {c.hotline for c in passed_on} == {"110", "119", "120", "122"}
    assert all(c.details["transfer_s"] > 0 for c in passed_on)
    assert joint.kpis["transfers"] == 0
    police_task = alone.kpis["per_event"][0]["agencies"]["122"]["task_s"]
    assert police_task is not None and police_task > 30  # waited for the phone (+ intake)
    assert joint.kpis["per_event"][0]["agencies"]["122"]["task_s"] <= 30
    assert alone.kpis["agencies"]["122"]["served"] == 1
    # joint: one incident for the crash, whistled, every agency there; no signal priority
    assert joint.kpis["incidents"] == 2
    assert _types(joint)["whistle_blown"] == 1
    assert _types(joint)["green_wave_requested"] == 0
    assert joint.kpis["agencies"]["122"]["served"] == 1
    assert joint.kpis["missed"] == 0
    # with green wave: the whistled units' routes are held green, released as they pass
    assert _types(green)["green_wave_requested"] >= 3
    assert _types(green)["green_wave_released"] >= 3
    gw = [t for t in green.trips if t.green_wave]
    assert gw and all(t.without_priority_s is not None for t in gw)
    assert sum(t.duration_s or 0 for t in gw) < sum(t.without_priority_s or 0 for t in gw)
    assert green.kpis["green_wave"]["saved_s"]["mean"] > 0
    # acknowledgements and expectations are measured
    assert set(joint.kpis["whistles"]["ack_s"]) == {"110", "119", "120", "122"}
    assert [x["met"] for x in alone.kpis["expectations"]][0] is False  # nobody whistles alone
    assert [x["met"] for x in joint.kpis["expectations"]][0] is True
    assert alone.kpis["repeat_call_rate"] == joint.kpis["repeat_call_rate"] > 0


async def test_unit_out_of_service_is_not_sent(small: LoadedScenario, small_city: City,
                                               redis: aioredis.Redis, namespace: str) -> None:
    result = await Replay(small, "joint", small_city, redis, namespace=namespace).run()
    out = [r.event for r in result.records if isinstance(r.event, ev.UnitStatusChanged)
           and r.event.unit_id == "A-2" and r.event.status in ("out_of_service", "available")]
    assert out, "A-2 went out of service"
    assert out[0].status == "out_of_service"


async def test_training_namespace_holds_the_run_and_nothing_else(
        small: LoadedScenario, small_city: City, redis: aioredis.Redis, namespace: str) -> None:
    await redis.xadd(f"{namespace}:log", {"e": "live"}, id="1-1")  # a live log beside it
    replay = Replay(small, "alone", small_city, redis)
    assert replay.namespace == "training:small_town:alone"
    await replay.run()
    again = await Replay(small, "alone", small_city, redis).run()  # a fresh run starts empty
    assert again.records[0].seq == 1 and again.records[0].event.type == "unit_registered"
    assert await redis.xlen(f"{namespace}:log") == 1
    assert await redis.xlen("training:small_town:alone:log") == len(again.records)


async def test_traffic_by_hour_slows_the_hours_it_names(small: LoadedScenario, small_city: City,
                                                        redis: aioredis.Redis, namespace: str) -> None:
    """The small town starts at 09:00: traffic heavy from 09:00 makes every drive slower than
    the same day with the roads empty from 09:00, and the file's single level is the fallback."""
    from datetime import datetime

    from scenarios.model import LoadedScenario as Loaded
    from scenarios.model import TrafficSpec

    spec = TrafficSpec(level=0.2, by_hour={9: 0.9, 12: 0.1})
    assert spec.level_at(datetime(2026, 5, 1, 8, 0)) == 0.1  # before 09:00: the evening before's
    assert spec.level_at(datetime(2026, 5, 1, 10, 0)) == 0.9 and TrafficSpec(level=0.3).level_at(
        datetime(2026, 5, 1, 10, 0)) == 0.3

    def with_traffic(level: float) -> Loaded:
        changed = small.spec.model_copy(update={"traffic": TrafficSpec(level=0.5, by_hour={9: level})})
        return Loaded(changed, small.source, small.fleet, small.plans, small.timeline)

    slow = await Replay(with_traffic(0.9), "joint", small_city, redis, namespace=f"{namespace}s").run()
    fast = await Replay(with_traffic(0.0), "joint", small_city, redis, namespace=f"{namespace}f").run()
    first = [t for t in slow.trips if t.duration_s is not None][0]
    same = next(t for t in fast.trips if (t.unit_id, t.depart_s) == (first.unit_id, first.depart_s))
    assert first.duration_s > same.duration_s  # type: ignore[operator]


async def test_each_set_of_expectations_is_reported(small: LoadedScenario, small_city: City,
                                                    redis: aioredis.Redis, namespace: str) -> None:
    from scenarios.model import Expectations
    from scenarios.model import LoadedScenario as Loaded

    sets = [Expectations(event="crash", whistle_within_s=60),
            Expectations(event="heart", on_scene_within_s={"120": 1200})]
    two = Loaded(small.spec.model_copy(update={"expect": sets}), small.source, small.fleet, small.plans,
                 small.timeline)
    result = await Replay(two, "joint_green_wave", small_city, redis, namespace=namespace).run()
    said = [x["expectation"] for x in result.kpis["expectations"]]
    assert len(said) == 2 and "(crash)" in said[0] and "120 on scene" in said[1] and "(heart)" in said[1]


async def test_sumo_trips_are_labelled_with_the_event_they_went_to(
        small: LoadedScenario, small_city: City, redis: aioredis.Redis, namespace: str) -> None:
    from scenarios.sumo.replay import trips_to_evaluate

    result = await Replay(small, "joint_green_wave", small_city, redis, namespace=namespace).run()
    events = {i: str(row["event"]) for row in result.kpis["per_event"] for i in row["incidents"]}
    specs = trips_to_evaluate(result.trips, small.spec.start, events=events)
    assert specs and all(s.label.startswith("crash (I") for s in specs), [s.label for s in specs]
