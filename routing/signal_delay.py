"""Expected waiting at a red signal for a vehicle with no priority, by the approach's road class.

With a fixed cycle C and red time r on the approach, a vehicle arriving at a random moment waits
r^2 / (2C) on average (uniform arrivals). The green-wave package holds signals green, which
brings this to zero; the difference is the time a green wave is expected to save."""

DEFAULT_CYCLE_S = 90.0

# Share of the cycle an approach of this class sees red: arterials get the longer greens.
RED_SHARE = {"motorway": 0.3, "trunk": 0.4, "primary": 0.45, "secondary": 0.5, "tertiary": 0.55}
LOCAL_RED_SHARE = 0.6


def expected_red_wait_s(approach_class: str, cycle_s: float = DEFAULT_CYCLE_S) -> float:
    red = RED_SHARE.get(approach_class, LOCAL_RED_SHARE) * cycle_s
    return red * red / (2 * cycle_s)
