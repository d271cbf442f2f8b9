"""A replay shown on the shared map: the same web app on the training namespace and the replay's
clock; incidents and moving units appear there, and never in the live namespace."""

import asyncio
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from rich.console import Console

from scenarios.model import LoadedScenario
from scenarios.replay import Replay
from scenarios.world import City
from web.api_keys import KeyRing, Role
from web.redis_server import free_port
from web.settings import Settings
from web.training_map import serve_training_map


async def test_replay_moves_units_on_the_training_map_only(small: LoadedScenario, small_city: City,
                                                          redis: aioredis.Redis, redis_server,  # type: ignore[no-untyped-def]
                                                          namespace: str, tmp_path: Path) -> None:
    live = Settings(namespace=namespace, redis_url=redis_server.url, data_dir=tmp_path)
    replay = Replay(small, "joint_green_wave", small_city, redis, speed=60.0, show_positions=True,
                    namespace=f"training:{namespace}")
    await replay.prepare()
    port = free_port()
    said = io.StringIO()
    server = await serve_training_map(replay, small_city, live, redis_server.url, "127.0.0.1", port,
                                      tmp_path, Console(file=said, width=400))
    printed = re.search(r"#key=(\S+)", said.getvalue())
    assert printed, said.getvalue()  # the command prints a key the training map takes
    run = asyncio.create_task(replay.run())
    try:
        seen_places: set[tuple[float, float]] = set()
        incidents: list[dict] = []  # type: ignore[type-arg]
        # a trainer's key made on the live side works on the training map (keys are shared)
        trainer, _ = await KeyRing(redis, namespace).create("trainer", "120", [Role.TRAINER],
                                                            datetime.now(UTC))
        watcher, _ = await KeyRing(redis, namespace).create("screen", "119", [Role.DISPATCHER],
                                                            datetime.now(UTC))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as other:
            me = await other.get("/v1/whoami", headers={"Authorization": f"Bearer {printed.group(1)}"})
            assert me.status_code == 200, me.text
            refused = await other.post("/v1/training/pause", headers={"Authorization": f"Bearer {watcher}"})
            assert refused.status_code == 403 and refused.json()["missing"] == {
                "role": ["supervisor", "trainer"]}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     headers={"Authorization": f"Bearer {trainer}"}) as http:
            for _ in range(120):
                await asyncio.sleep(0.25)
                units = (await http.get("/v1/units", params={"agency": "120"})).json()["units"]
                seen_places |= {(u["position"]["lon"], u["position"]["lat"]) for u in units if u["position"]}
                incidents = (await http.get("/v1/incidents")).json()["incidents"]
                if incidents and len(seen_places) > 5:
                    break
            assert incidents and incidents[0]["kind"] == "person_trapped"
            assert len(seen_places) >= 3, "the ambulance moved on the map"
            # the trainer pauses: the clock holds; jumps ahead; lets it run out
            held = (await http.post("/v1/training/pause")).json()
            assert held["paused"] is True
            await asyncio.sleep(0.6)
            assert (await http.get("/v1/training")).json()["elapsed_s"] == held["elapsed_s"]
            back = await http.post("/v1/training/jump", json={"to": 0})
            assert back.status_code == 409 and back.json()["field"] == "to"
            ahead = (await http.post("/v1/training/jump", json={"to": "0:40:00"})).json()
            (await http.post("/v1/training/resume")).raise_for_status()
            await asyncio.sleep(0.5)
            assert (await http.get("/v1/training")).json()["elapsed_s"] >= 2400 > ahead["elapsed_s"]
            bad = await http.post("/v1/training/speed", json={"speed": -1})
            assert bad.status_code == 422
            (await http.post("/v1/training/speed", json={"speed": None})).raise_for_status()
            await asyncio.wait_for(run, 60)
        assert not await redis.exists(f"{namespace}:log"), "nothing reached the live namespace"
    finally:
        replay.engine.set_speed(None)
        replay.engine.resume()
        if not run.done():
            run.cancel()
        server.should_exit = True
        await asyncio.sleep(0.3)
