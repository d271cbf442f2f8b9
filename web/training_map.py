"""The shared map for a live training exercise: the same web app, on the replay's training
namespace and simulated clock, so trainees see the replayed units and incidents exactly as they
would live, and nothing of it mixes with live incidents (another namespace in Redis)."""

import asyncio
from pathlib import Path

import uvicorn
import yaml
from rich.console import Console

from scenarios.replay import Replay
from scenarios.world import City
from web.app import create_app
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


async def serve_training_map(replay: Replay, city: City, settings: Settings, redis_url: str, host: str,
                             port: int, out_dir: Path, console: Console) -> uvicorn.Server:
    """Start the map server in this event loop; returns once it answers."""
    training = settings.model_copy(update={
        "namespace": replay.namespace, "fleet_file": write_fleet_file(replay, out_dir / "fleet.yaml"),
        "roster_file": replay.scenario.roster_file, "signal_controller_url": None})
    app = create_app(training, network=city.network, clock=replay.engine.clock, redis_url=redis_url)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    with console.status("Starting the training map…"):
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it (a port in use, ...)
            await asyncio.sleep(0.1)
    console.print(f"[bold green]Training map:[/bold green] http://{host}:{port}/  "
                  f"(namespace {replay.namespace}, nothing here touches live incidents)")
    return server
