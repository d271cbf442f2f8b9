"""Benchmarks: figures printed and written to bench/results.json; never run as tests."""
