"""Scenario files, the simulated world, the replay engine and KPI reports."""
