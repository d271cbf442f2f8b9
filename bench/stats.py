"""The one percentile every benchmark reports: nearest rank, q as a fraction (0.99 for p99)."""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
