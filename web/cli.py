"""The `jointdispatch` command line: serve the coordinator, import OSM extracts, run benchmarks."""

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
def bench() -> None:
    """Run the benchmarks; figures are printed and written to bench/results.json."""
    from bench.run import main

    main()


if __name__ == "__main__":
    app()
