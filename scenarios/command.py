"""The work behind `jointdispatch replay`: find the scenario, build its city once, replay one
strategy or compare them all with a progress bar, and write the report. Runs are in memory
unless given a Redis (`redis` None).

A map server for a live exercise is the web package's business; it plugs in through `on_ready`,
called once the training namespace is prepared and before the first call arrives."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scenarios.model import LoadedScenario, builtin, load
from scenarios.replay import Replay, ReplayResult, training_namespace
from scenarios.report import comparison_rows, write_report
from scenarios.world import STRATEGIES, City


def parse_speed(text: str) -> float | None:
    """"max" (as fast as possible), or a factor such as 1 or 60."""
    if text.strip().lower() in ("max", "fast", "0"):
        return None
    try:
        value = float(text.lower().removesuffix("x"))
    except ValueError:
        raise ValueError(f"speed is a factor such as 1 or 60, or 'max'; got {text!r}") from None
    if value <= 0:
        raise ValueError("speed must be positive")
    return value


def find_scenario(name_or_path: str) -> LoadedScenario:
    path = Path(name_or_path)
    return load(path if path.exists() or path.suffix in (".yaml", ".yml") else builtin(name_or_path))


def horizon_s(scenario: LoadedScenario) -> float:
    """How far the progress bar runs: the last call, or the stated end, plus time to wind down."""
    if scenario.spec.end_after_h is not None:
        return scenario.spec.end_after_h * 3600
    last = max((e.at for e in scenario.timeline), default=0.0)
    return last + 3600


@dataclass
class ReplayRun:
    scenario: LoadedScenario
    results: list[ReplayResult]
    setup_s: float
    files: dict[str, Path]


async def replay_command(scenario: LoadedScenario, redis: aioredis.Redis | None, out_dir: Path, *,
                         compare: bool, strategy: str, speed: float | None, seed: int | None,
                         console: Console, city: City | None = None,
                         on_ready: Callable[[Replay, City], Awaitable[None]] | None = None,
                         run_name: str | None = None) -> ReplayRun:
    t0 = time.perf_counter()
    with console.status("Building the city's road network and signal plans…"):
        # built on this thread: the contraction-hierarchy engine must stay on the thread that made it
        city = city or City.of(scenario)
    setup_s = time.perf_counter() - t0
    names = list(STRATEGIES) if compare else [strategy]
    results: list[ReplayResult] = []
    total = horizon_s(scenario)
    with Progress(TextColumn("{task.description:<24}"), BarColumn(), TextColumn("{task.fields[clock]}"),
                  TimeElapsedColumn(), console=console) as bar:
        for name in names:
            task = bar.add_task(STRATEGIES[name].label, total=total, clock="")
            # A paced run on Redis moves the units for whoever watches its namespace; in memory
            # nobody can, so its positions are not worked out at all.
            replay = Replay(scenario, name, city, redis, seed=seed, speed=speed,
                            show_positions=speed is not None and redis is not None,
                            namespace=training_namespace(scenario.name, name, run_name))
            if on_ready is not None:
                await replay.prepare()
                await on_ready(replay, city)

            def tell(t: float, task: int = task) -> None:
                h, m = divmod(int(t) // 60, 60)
                bar.update(task, completed=min(t, total), clock=f"{h:02d}:{m:02d} simulated")
            results.append(await replay.run(tell))
            bar.update(task, completed=total)
    files = write_report(scenario, results, out_dir)
    return ReplayRun(scenario, results, setup_s, files)


def print_summary(run: ReplayRun, console: Console) -> None:
    table = Table("figure", *[r.strategy.label for r in run.results], title=run.scenario.spec.title)
    for label, values in comparison_rows(run.results):
        table.add_row(label, *values)
    console.print(table)
    for r in run.results:
        console.print(f"[dim]{r.strategy.label}: {len(r.records)} events, {r.kpis['calls']} calls, "
                      f"replayed in {r.wall_s:.1f} s (city built in {run.setup_s:.1f} s)[/dim]")
        for x in r.kpis["expectations"]:
            mark = "[green]met[/green]" if x["met"] else "[red]NOT met[/red]"
            console.print(f"  {mark}: {x['expectation']} (measured {x['measured']})")
    console.print(f"Report: {run.files['html']}  and  {run.files['json']}")
