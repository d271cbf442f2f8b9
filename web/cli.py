"""The `jointdispatch` command line: serve the coordinator, manage API keys, import OSM
extracts, replay training scenarios, run benchmarks."""

import asyncio
import contextlib
import getpass
import json
import signal
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from web.api_keys import AGENCIES, KeyRing, Role, demo_key
from web.cli_homes import gateways_app, register_app
from web.settings import Settings

if TYPE_CHECKING:
    from web.mqtt_broker import MosquittoBroker
    from web.redis_server import RedisServer

app = typer.Typer(help="Joint police-medical-fire dispatch coordinator.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(register_app, name="register")
app.add_typer(gateways_app, name="gateways")
cluster_app = typer.Typer(
    no_args_is_help=True, help="The fault-tolerant topology: Sentinel set, app nodes, HAProxy, one machine.")
app.add_typer(cluster_app, name="cluster")
console = Console()


@contextlib.contextmanager
def _unwound_by_signals() -> Iterator[None]:
    """SIGTERM (systemd, `kill`) and SIGINT (Ctrl-C) unwind the command like an exception, so
    every `finally` runs and the Redis it started is stopped; then the process ends by that same
    signal, as whoever sent it expects. uvicorn serves with handlers of its own and, once it has
    shut down gracefully, raises the signal again: that lands here too."""
    caught: list[int] = []

    def unwind(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)
        if len(caught) == 1:  # a second signal must not cut the clean-up short
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, unwind) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    except KeyboardInterrupt:
        if not caught:
            raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(caught[0], signal.SIG_DFL)
        signal.raise_signal(caught[0])


def _private_redis(data_dir: Path, port: int | None = None, fsync: str = "always") -> "RedisServer":
    """Start the Redis that keeps its data in `data_dir`, or, if one still runs there, say whose
    it is in one line and exit 2: two servers on one folder would corrupt it."""
    from web.redis_server import DataFolderInUse, RedisServer

    try:
        return RedisServer(data_dir, port=port, fsync=fsync).start()
    except DataFolderInUse as e:
        typer.echo(f"{e}; stop it or set JD_DATA_DIR", err=True)
        raise typer.Exit(2) from None


def _serving_file(settings: Settings) -> Path:
    """Where a running `serve` says which Redis it started, so `keys` reaches the same one."""
    return settings.data_dir / "serving.json"


@contextlib.contextmanager
def _redis_url(settings: Settings) -> Iterator[str]:
    """REDIS_URL; else the private Redis a running `serve` started; else start that Redis (its
    data folder is the same, so what is written here is there when `serve` starts)."""
    if settings.redis_url:
        yield settings.redis_url
        return
    import redis

    info = _serving_file(settings)
    if info.exists():
        url = json.loads(info.read_text())["redis_url"]
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis.from_url(url).ping()
            yield url
            return
    server = _private_redis(settings.data_dir / "redis", port=settings.redis_port)
    try:
        yield server.url
    finally:
        server.stop()


def _run(coro_fn):  # type: ignore[no-untyped-def]
    """Run one async step against the keys and the audit log of the configured namespace."""
    from dispatch.clock import SystemClock
    from web.audit import AuditLog
    from web.redis_client import connect

    settings = Settings()

    async def go(url: str):  # type: ignore[no-untyped-def]
        client = connect(url)
        try:
            return await coro_fn(KeyRing(client, settings.namespace),
                                 AuditLog(client, settings.namespace, SystemClock()))
        finally:
            await client.aclose()

    with _redis_url(settings) as url:
        return asyncio.run(go(url))


@keys_app.command("create")
def keys_create(
    client: Annotated[str, typer.Option(help="Who uses the key, e.g. hospital-ed-board.")],
    agency: Annotated[str, typer.Option(help=f"The agency it acts for: {', '.join(AGENCIES)}.")],
    role: Annotated[list[Role], typer.Option(help="A role; repeat for several.")],
    unit: Annotated[str | None, typer.Option(help="For a vehicle_device: its unit id.")] = None,
    rate: Annotated[str | None, typer.Option(help="Own rate limit, e.g. 200/second.")] = None,
    responder: Annotated[str | None, typer.Option(help="For a community_responder: its id in the register.")]
    = None,
) -> None:
    """Make a key; it is printed once and only its hash is kept."""

    async def create(keys: KeyRing, audit):  # type: ignore[no-untyped-def]
        plain, record = await keys.create(client, agency, role, datetime.now(UTC), unit, rate,
                                          responder_id=responder)
        await audit.record("key", None, f"cli:{getpass.getuser()}", "keys create",
                           subject_key=record.key_id, subject_client=client, agency_of_key=agency,
                           roles_of_key=[str(r) for r in role])
        return plain, record

    if Role.COMMUNITY_RESPONDER in role and not responder:
        # such a key sees no task (the API refuses it); say so now rather than on the phone
        raise typer.BadParameter("a community_responder key needs its responder of the register: --responder")
    try:
        plain, record = _run(create)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    console.print(f"key id {record.key_id} for {client} (agency {agency}; "
                  f"{', '.join(record.roles)}). Keep it now, it is not shown again:", highlight=False)
    print(plain)


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line, for scripts.")] = False,
) -> None:
    """Every key: id, client, agency, roles, when made, whether revoked (never the key)."""

    async def all_keys(keys: KeyRing, audit):  # type: ignore[no-untyped-def]
        return await keys.all()

    found = _run(all_keys)
    if as_json:
        for k in found:
            print(json.dumps(k.public()))
        return
    table = Table("key id", "client", "agency", "roles", "unit", "rate", "created", "revoked")
    for column in table.columns:
        column.overflow = "fold"  # a narrow terminal wraps a value, never cuts it
    for k in found:
        table.add_row(k.key_id, k.client_id, k.agency, ", ".join(k.roles), k.unit_id or "",
                      k.rate or "", k.created_at, k.revoked_at or "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id shown by `keys list`.")]) -> None:
    """Revoke a key: every server refuses it from its next request on."""

    async def revoke(keys: KeyRing, audit):  # type: ignore[no-untyped-def]
        done = await keys.revoke(key_id, datetime.now(UTC))
        await audit.record("key", None, f"cli:{getpass.getuser()}", "keys revoke", subject_key=key_id)
        return done

    try:
        done = _run(revoke)
    except KeyError as e:
        raise typer.BadParameter(f"no key {key_id}") from e
    console.print(f"revoked {done.key_id} ({done.client_id}) at {done.revoked_at}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default JD_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default JD_PORT).")] = None,
) -> None:
    """Start the coordinator; without REDIS_URL, start a private Redis under the data folder."""
    import uvicorn

    from web.app import create_app

    settings = Settings()
    host, port = host or settings.host, port or settings.port
    with _unwound_by_signals():
        server = None
        url = settings.redis_url
        if url is None:
            server = _private_redis(settings.data_dir / "redis", port=settings.redis_port)
            url = server.url
            console.print(f"[dim]Redis started on {url}, data in {server.data_dir}[/dim]")
        broker = None
        if settings.mqtt_url is None:  # unset: the private mosquitto; empty: no MQTT intake
            broker = _private_broker(settings)
            settings = settings.model_copy(update={"mqtt_url": broker.url})
            console.print(f"[dim]MQTT broker (mosquitto) on 127.0.0.1:{broker.port}, "
                          f"gateways' passwords in {broker.folder}[/dim]")
        serving = _serving_file(settings)
        try:
            if server is not None:
                serving.write_text(json.dumps({"redis_url": url}))
            page = f"http://{host}:{port}/"
            if settings.demo_supervisor:
                page += f"#key={asyncio.run(demo_key(url, settings))}"
            console.print("[dim]Loading the road network…[/dim]")
            network = None
            if settings.osm_cache is not None:  # a missing or stale cache is said plainly, not as a traceback
                from routing.cache import CacheFormatError, load_cached

                try:
                    network = load_cached(settings.osm_cache)
                except FileNotFoundError:
                    console.print(f"[red]no network cache at {settings.osm_cache}: make one with "
                                  "`jointdispatch import-osm EXTRACT` and point JD_OSM_CACHE at it[/red]")
                    raise typer.Exit(2) from None
                except (CacheFormatError, OSError) as e:
                    console.print(f"[red]{e}[/red]")
                    raise typer.Exit(2) from None
            application = create_app(settings, network=network, redis_url=url)
            console.print(f"[bold green]Joint dispatch is up:[/bold green] {page}  "
                          f"(API docs: http://{host}:{port}/docs)", soft_wrap=True)
            # No per-message deflate on the websocket: each screen would compress the same position
            # frames on its own, which costs more CPU than the whole fan-out; control rooms are on a LAN.
            uvicorn.run(application, host=host, port=port, log_level="warning", ws_per_message_deflate=False)
        finally:
            if broker is not None:
                broker.stop()
            if server is not None:
                serving.unlink(missing_ok=True)
                server.stop()


def _private_broker(settings: Settings) -> "MosquittoBroker":
    """The demo's mosquitto under the data folder, on 1883 when free; the demo register's
    gateways get passwords kept beside it for the README's mosquitto_pub line."""
    import socket

    from web.mqtt_broker import MosquittoBroker
    from web.redis_server import free_port

    port = settings.mqtt_port
    if port is None:
        with socket.socket() as s:
            port = 1883 if s.connect_ex(("127.0.0.1", 1883)) != 0 else free_port()
    broker = MosquittoBroker(settings.data_dir / "mosquitto", port)
    if settings.register_file is None and settings.osm_cache is None:
        from coordination.register_file import DEMO_REGISTER_FILE, load_register

        gateways = sorted({d.gateway_id for d in load_register(DEMO_REGISTER_FILE).devices})
        broker.passwords.kept_for_demo(gateways)
    return broker.start()


@cluster_app.command("up")
def cluster_up(
    port: Annotated[int, typer.Option(help="The load balancer's port: the address to open.")] = 8000,
    folder: Annotated[Path, typer.Option(help="Where the servers keep data and logs.")] = Path("var/cluster"),
) -> None:
    """Start 3 sentinels, a primary and 2 replicas, 2 app nodes and HAProxy; keep them up until Ctrl-C."""
    import secrets
    import time

    from web.cluster import Cluster

    settings = Settings()
    key = settings.demo_key or f"jd_demo_{secrets.token_urlsafe(32)}"
    cluster = Cluster(folder, settings.host, port, demo_key=key)
    with _unwound_by_signals():
        try:
            console.print("[dim]Starting the Sentinel set and two app nodes…[/dim]")
            cluster.up()
            console.print(f"[bold green]Joint dispatch (2 nodes behind HAProxy) is up:[/bold green] "
                          f"{cluster.url}#key={key}", soft_wrap=True)
            console.print(f"[dim]log: {cluster.log.url}; nodes: "
                          + ", ".join(f"{a.name} on {a.port}" for a in cluster.apps)
                          + f"; logs under {cluster.folder}[/dim]", soft_wrap=True)
            while True:
                time.sleep(1)
                cluster.keep_up()
        finally:
            cluster.down()


@app.command("import-osm")
def import_osm(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".osm or .osm.pbf")],
    cache_dir: Annotated[Path, typer.Option(help="Where the built network is kept.")] = Path("var/networks"),
) -> None:
    """Build the road network from an OpenStreetMap extract once and cache it for fast starts."""
    from routing.cache import import_osm as build
    from routing.cache import load_report

    out = build(path, cache_dir)
    for line in load_report(out).lines():
        console.print(line)
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
    out: Annotated[Path | None, typer.Option(help="Report folder (default var/replays/<scenario>/<run>, "
                                             "the run being the command's start time; `latest` "
                                             "beside it points at the newest).")] = None,
    serve: Annotated[bool, typer.Option("--serve", help="Show the replay on the map, in its training "
                                        "namespace (use with --speed 1).")] = False,
    host: Annotated[str | None, typer.Option(help="Map server address (with --serve).")] = None,
    port: Annotated[int | None, typer.Option(help="Map server port (with --serve).")] = None,
    on_redis: Annotated[bool, typer.Option("--redis", help="Keep the run in its training namespace on "
                                           "Redis (REDIS_URL, else a private redis-server) for other "
                                           "processes to read; --serve implies it. Without it the "
                                           "run is in memory.")] = False,
    traffic: Annotated[str, typer.Option(help="model (the replay's own traffic model) or sumo: drive "
                                         "the green-wave trips again in Eclipse SUMO, paired runs "
                                         "(needs the sumo extra: pip install -e '.\\[sumo]').")] = "model",
    sumo_seeds: Annotated[int, typer.Option(min=1, help="SUMO background-traffic seeds.")] = 3,
    sumo_departures: Annotated[int, typer.Option(min=1, help="Departure times per seed in SUMO.")] = 3,
    sumo_trips: Annotated[int | None, typer.Option(min=1, help="Drive only the first N trips in SUMO.")] \
    = None,
) -> None:
    """Replay a training scenario on a simulated clock and write its KPI report (JSON and HTML)."""
    # The command's options are its interface (typer reads them from the signature); the body is short.
    from rich.markup import escape

    from scenarios.command import find_scenario, parse_speed, print_summary, replay_command
    from scenarios.source import ScenarioError
    from scenarios.world import STRATEGIES
    from web.redis_client import connect

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
    # Each run its own folder and namespace, named by when it started: nothing is overwritten.
    run_name = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if out is None:
        out_dir = _run_folder(settings.data_dir / "replays" / scenario.name, run_name)
        run_name = out_dir.name  # "-2" when another run started in the same second
    else:
        out_dir = out
    server = None
    url = None

    async def main() -> None:
        client = None if url is None else connect(url)
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
                                       speed=factor, seed=seed, console=console, city=city, on_ready=on_ready,
                                       run_name=run_name)
            print_summary(run, console)
            if city is not None:
                _sumo_evaluation(run, city, out_dir / "sumo", sumo_seeds, sumo_departures, sumo_trips)
            if stop_map:
                console.print("[bold]The map stays up; Ctrl-C to stop.[/bold]")
                await asyncio.Event().wait()
        finally:
            if client is not None:
                await client.aclose()

    with _unwound_by_signals():  # a terminated run still stops the Redis it started
        if on_redis or serve:  # the map server reads the run from Redis
            url = settings.redis_url
            if url is None:  # a private Redis for the training run; nothing durable is at stake
                server = _private_redis(settings.data_dir / "redis-training", fsync="everysec")
                url = server.url
        try:
            asyncio.run(main())
        finally:
            if server is not None:
                server.stop()


def _run_folder(parent: Path, run_name: str) -> Path:
    """parent/<run>, and parent/latest pointing at it (a trainer's "the one I just ran")."""
    folder = parent / run_name
    n = 1
    while folder.exists():  # two runs started within one second
        n += 1
        folder = parent / f"{run_name}-{n}"
    folder.mkdir(parents=True)
    latest = parent / "latest"
    if latest.is_symlink() or not latest.exists():
        latest.unlink(missing_ok=True)
        latest.symlink_to(folder.name)
    return folder


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
