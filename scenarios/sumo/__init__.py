"""Evaluating green-wave corridors in Eclipse SUMO: network conversion, traffic, paired runs, report."""
