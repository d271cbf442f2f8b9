"""Runs every benchmark, prints a table and writes bench/results.json (one key per figure).

`python -m bench.run routing fanout` runs only the suites named (their figures replace the same
keys in results.json; the other keys stay)."""

import importlib
import json
import platform
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).with_name("results.json")
SUITES = ["bench.intake_bench", "bench.routing_bench", "bench.fleet_bench", "bench.greenwave_bench",
          "bench.sumo_bench", "bench.fanout_bench", "bench.replay_bench", "bench.ha_bench",
          "bench.node_kill_bench", "bench.ha_intake_bench", "bench.hot_incident_bench",
          "bench.fuzz_bench", "bench.posts_bench", "bench.alarm_bench", "bench.console_bench",
          "bench.replay_week_bench"]


def main() -> None:
    console = Console()
    wanted = sys.argv[1:]
    results: dict[str, float | str] = {}
    if wanted and RESULTS.exists():
        results.update(json.loads(RESULTS.read_text()))
    results["machine"] = f"{platform.machine()} {platform.python_version()}"
    for name in SUITES:
        if wanted and not any(w in name for w in wanted):
            continue
        console.print(f"[bold]{name}[/bold] …")
        try:
            figures = importlib.import_module(name).run()
        except ModuleNotFoundError as e:
            console.print(f"[yellow]skipped {name}: {e}[/yellow]")
            continue
        except Exception as e:  # one broken suite must not hide the others' figures
            console.print(f"[red]{name} failed: {e!r}[/red]")
            results[f"{name.rsplit('.', 1)[-1]}_error"] = repr(e)
            continue
        results.update(figures)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    table = Table("figure", "value")
    for key, value in results.items():
        table.add_row(key, str(value))
    console.print(table)
    console.print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
