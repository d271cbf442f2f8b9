"""The `jointdispatch` command line: serve the coordinator, import OSM extracts, replay training
scenarios, run benchmarks."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from web.settings import Settings

app = typer.Typer(help="Joint police-medical-fire dispatch coordinator.", no_args_is_help=True)
console = Console()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default JD_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default JD_PORT).")] = None,
) -> None:
    """Start the coordinator; without REDIS_URL, start a private Redis under the data folder."""
    import uvicorn

    from web.app import create_app
    from web.redis_server import RedisServer

    settings = Settings()
    host, port = host or settings.host, port or settings.port
    server = None
    url = settings.redis_url
    if url is None:
        server = RedisServer(settings.data_dir / "redis", port=settings.redis_port)
        server.start()
        url = server.url
        console.print(f"[dim]Redis started on {url}, data in {server.data_dir}[/dim]")
    try:
        console.print("[dim]Loading the road network…[/dim]")
        application = create_app(settings, redis_url=url)
        console.print(f"[bold green]Joint dispatch is up:[/bold green] http://{host}:{port}/  "
                      f"(API docs: http://{host}:{port}/docs)")
        # No per-message deflate on the websocket: each screen would compress the same position
        # frames on its own, which costs more CPU than the whole fan-out; control rooms are on a LAN.
        uvicorn.run(application, host=host, port=port, log_level="warning", ws_per_message_deflate=False)
    finally:
        if server is not None:
            server.stop()


@app.command("import-osm")
def import_osm(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".osm or .osm.pbf")],
    cache_dir: Annotated[Path, typer.Option(help="Where the built network is kept.")] = Path("var/networks"),
) -> None:
    """Build the road network from an OpenStreetMap extract once and cache it for fast starts."""
    from routing.cache import import_osm as build

    out = build(path, cache_dir)
    console.print(f"Cached network at {out}\nStart on it with: JD_OSM_CACHE={out} make run")


@app.command()
def replay(
    file: Annotated[str, typer.Argument(help="A scenario file, or a built-in name (taxi_rollover, ...).")],
    compare: Annotated[bool, typer.Option("--compare", help="Replay every strategy on the same calls.")] \
    = False,
    strategy: Annotated[str, typer.Option(help="alone, joint or joint_green_wave.")] = "joint_green_wave",
    speed: Annotated[str, typer.Option(help="1 (live exercise), 60, or max.")] = "max",
    seed: Annotated[int | None, typer.Option(help="Chance on scene and in transport (default: the file's).")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Report folder (default var/replays/<scenario>).")] = None,
    serve: Annotated[bool, typer.Option("--serve", help="Show the replay on the map, in its training "
                                        "namespace (use with --speed 1).")] = False,
    host: Annotated[str | None, typer.Option(help="Map server address (with --serve).")] = None,
    port: Annotated[int | None, typer.Option(help="Map server port (with --serve).")] = None,
    traffic: Annotated[str, typer.Option(help="model (the replay's own traffic model) or sumo: drive "
                                         "the green-wave trips again in Eclipse SUMO, paired runs "
                                         "(needs the sumo extra: pip install -e '.\\[sumo]').")] = "model",
    sumo_seeds: Annotated[int, typer.Option(min=1, help="SUMO background-traffic seeds.")] = 3,
    sumo_departures: Annotated[int, typer.Option(min=1, help="Departure times per seed in SUMO.")] = 3,
    sumo_trips: Annotated[int | None, typer.Option(min=1, help="Drive only the first N trips in SUMO.")] \
    = None,
) -> None:
    """Replay a training scenario on a simulated clock and write its KPI report (JSON and HTML)."""
    import asyncio
    import signal

    import redis.asyncio as aioredis
    from rich.markup import escape

    from scenarios.command import find_scenario, parse_speed, print_summary, replay_command
    from scenarios.source import ScenarioError
    from scenarios.world import STRATEGIES
    from web.redis_server import RedisServer

    try:
        scenario = find_scenario(file)
        factor = parse_speed(speed)
    except (ScenarioError, ValueError) as e:
        console.print(f"[red]{escape(str(e))}[/red]", soft_wrap=True)  # one line: file, line, field
        raise typer.Exit(2) from None
    if strategy not in STRATEGIES:
        console.print(f"[red]--strategy: one of {', '.join(STRATEGIES)}[/red]")
        raise typer.Exit(2)
    if traffic not in ("model", "sumo"):
        console.print("[red]--traffic: model or sumo[/red]")
        raise typer.Exit(2)
    if traffic == "sumo" and not compare and not STRATEGIES[strategy].green_wave:
        console.print("[red]--traffic sumo drives the green-wave trips: "
                      "use --strategy joint_green_wave[/red]")
        raise typer.Exit(2)
    settings = Settings()
    server = None
    url = settings.redis_url
    if url is None:  # a private Redis for the training run; nothing durable is at stake
        server = RedisServer((settings.data_dir / "redis-training").resolve(), fsync="everysec").start()
        url = server.url
    out_dir = out or settings.data_dir / "replays" / scenario.name

    async def main() -> None:
        client = aioredis.Redis.from_url(url)
        on_ready = None
        stop_map: list[object] = []
        if serve:
            from web.training_map import serve_training_map

            async def on_ready(replay, city) -> None:  # type: ignore[no-untyped-def]
                stop_map.append(await serve_training_map(replay, city, settings, url, host or settings.host,
                                                         port or settings.port, out_dir, console))
        try:
            city = None
            if traffic == "sumo":
                from scenarios.world import City

                with console.status("Building the city's road network and signal plans…"):
                    city = City.of(scenario)
            run = await replay_command(scenario, client, out_dir, compare=compare, strategy=strategy,
                                       speed=factor, seed=seed, console=console, city=city, on_ready=on_ready)
            print_summary(run, console)
            if city is not None:
                _sumo_evaluation(run, city, out_dir / "sumo", sumo_seeds, sumo_departures, sumo_trips)
            if stop_map:
                console.print("[bold]The map stays up; Ctrl-C to stop.[/bold]")
                await asyncio.Event().wait()
        finally:
            await client.aclose()

    def stop(*_: object) -> None:  # a terminated run still stops the Redis it started
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()


def _sumo_evaluation(run, city, out: Path, seeds: int, departures: int,  # type: ignore[no-untyped-def]
                     limit: int | None) -> None:
    """Drive the replay's green-wave trips again in SUMO and write the paired report."""
    try:
        from scenarios.sumo.replay import evaluate_replay
    except ModuleNotFoundError as e:
        console.print(f"[red]--traffic sumo needs Eclipse SUMO: pip install -e '.\\[sumo]' ({e})[/red]")
        raise typer.Exit(2) from None
    result = next(r for r in run.results if r.strategy.green_wave)
    with console.status("Driving the green-wave trips in SUMO…") as status:
        try:
            path, n = evaluate_replay(run.scenario, city, result, out, seeds=seeds, departures=departures,
                                      limit=limit, progress=lambda m: status.update(f"SUMO: {m}"))
        except ValueError as e:
            console.print(f"[red]{e}[/red]")
            raise typer.Exit(1) from None
    console.print(f"SUMO evaluation of {n} green-wave trips: {path}")
    from rich.markdown import Markdown

    console.print(Markdown(path.read_text().split("## Network conversion")[0]))


@app.command()
def bench() -> None:
    """Run the benchmarks; figures are printed and written to bench/results.json."""
    from bench.run import main

    main()


if __name__ == "__main__":
    app()
