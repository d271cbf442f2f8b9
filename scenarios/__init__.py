"""Trainers' scenarios: scenario files, the simulated world, the replay engine and KPI reports.

`load(path)` reads and checks a scenario; `Replay` runs it under one strategy; `compare` runs
every strategy on the same calls."""

from scenarios.model import LoadedScenario, ScenarioError, builtin, load

__all__ = ["LoadedScenario", "ScenarioError", "builtin", "load"]
