"""The shared map for a live training exercise: the same web app, on the replay's training
namespace and simulated clock, so trainees see the replayed units and incidents exactly as they
would live, and nothing of it mixes with live incidents (another namespace in Redis)."""

import asyncio
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from rich.console import Console

from dispatch.rejection import Rejected
from scenarios.model import Offset
from scenarios.replay import Replay
from scenarios.world import City
from web.api_keys import demo_key
from web.app import create_app
from web.schemas import ViewRoute, refusals
from web.schemas_map import TrainingState
from web.settings import Settings


def write_fleet_file(replay: Replay, path: Path) -> Path:
    """The scenario's fleet as a fleet file, so the map shows its stations and hospitals."""
    fleet = replay.scenario.fleet
    body = {
        "stations": [{"id": s.station_id, "agency": str(s.agency), "name": s.name, "lon": s.lon, "lat": s.lat}
                     for s in fleet.stations.values()],
        "hospitals": [{"id": h.hospital_id, "name": h.name, "lon": h.lon, "lat": h.lat,
                       "takes": sorted(h.takes)} for h in fleet.hospitals.values()],
        "units": [{"id": u.unit_id, "station": u.station_id, "kind": u.kind, "call_sign": u.call_sign,
                   "crew": u.crew, "capabilities": list(u.capabilities)} for u in fleet.units],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class JumpIn(BaseModel):
    to: Offset = Field(description="Seconds after the scenario's start, or H:MM:SS.")


class SpeedIn(BaseModel):
    speed: float | None = Field(gt=0, description="Simulated seconds per second; null: as fast as possible.")


def training_controls(replay: Replay) -> APIRouter:
    """Pause, resume, jump and speed for the trainer running the exercise."""
    router = APIRouter(prefix="/v1/training", route_class=ViewRoute)
    engine = replay.engine

    def state() -> dict[str, Any]:
        return {"scenario": replay.scenario.name, "strategy": replay.strategy.name,
                "namespace": replay.namespace, "now": engine.clock.now().isoformat(),
                "elapsed_s": round(engine.now_s, 1), "speed": engine.speed, "paused": engine.paused,
                "pending_actions": engine.pending}

    @router.get("", response_model=TrainingState)
    async def get_state() -> dict[str, Any]:
        return state()

    @router.post("/pause", response_model=TrainingState)
    async def pause() -> dict[str, Any]:
        engine.pause()
        return state()

    @router.post("/resume", response_model=TrainingState)
    async def resume() -> dict[str, Any]:
        engine.resume()
        return state()

    @router.post("/jump", response_model=TrainingState,
                 responses=refusals(409, said={409: "The clock never runs back: replay from the start."}))
    async def jump(body: JumpIn) -> dict[str, Any]:
        try:
            engine.jump(body.to)
        except ValueError as e:
            raise Rejected(409, "to", str(e)) from None
        return state()

    @router.post("/speed", response_model=TrainingState)
    async def speed(body: SpeedIn) -> dict[str, Any]:
        engine.set_speed(body.speed)
        return state()

    return router


async def serve_training_map(replay: Replay, city: City, settings: Settings, redis_url: str, host: str,
                             port: int, out_dir: Path, console: Console) -> uvicorn.Server:
    """Start the map server in this event loop; returns once it answers."""
    training = settings.model_copy(update={
        "namespace": replay.namespace, "keys_namespace": settings.keys_namespace or settings.namespace,
        "fleet_file": write_fleet_file(replay, out_dir / "fleet.yaml"),
        "roster_file": replay.scenario.roster_file, "signal_controller_url": None, "exercise": True})
    app: FastAPI = create_app(training, network=city.network, clock=replay.engine.clock, redis_url=redis_url)
    app.include_router(training_controls(replay))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    with console.status("Starting the training map…"):
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it (a port in use, ...)
            await asyncio.sleep(0.1)
    key = await demo_key(redis_url, settings)  # the live map's key, or any from `keys create`
    console.print(f"[bold green]Training map:[/bold green] http://{host}:{port}/#key={key}  "
                  f"(namespace {replay.namespace}, nothing here touches live incidents)\n"
                  f"Trainer: POST /v1/training/pause, /resume, /jump {{\"to\": \"1:30:00\"}}, "
                  f"/speed {{\"speed\": 60}}")
    return server
