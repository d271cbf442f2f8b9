"""A grid index of where open incidents' calls are, so merging a call looks only nearby.

Scanning every open incident made each call cost O(open incidents); on a busy day that is
thousands. Cells are fixed in degrees; a lookup covers as many cells as the merge radius needs."""

import math
from collections import defaultdict

CELL_DEG = 0.005  # about 550 m north-south, 480 m east-west at 30 N
M_PER_DEG_LAT = 110_574.0

Cell = tuple[int, int]


def cell_of(lon: float, lat: float) -> Cell:
    return (math.floor(lon / CELL_DEG), math.floor(lat / CELL_DEG))


class NearbyIndex:
    def __init__(self) -> None:
        # cell -> incident id -> number of that incident's calls in the cell
        self.cells: dict[Cell, dict[str, int]] = defaultdict(dict)

    def add(self, incident_id: str, lon: float | None, lat: float | None) -> None:
        if lon is None or lat is None:
            return
        bucket = self.cells[cell_of(lon, lat)]
        bucket[incident_id] = bucket.get(incident_id, 0) + 1

    def remove(self, incident_id: str, lon: float | None, lat: float | None) -> None:
        if lon is None or lat is None:
            return
        cell = cell_of(lon, lat)
        bucket = self.cells.get(cell, {})
        if bucket.get(incident_id, 0) <= 1:
            bucket.pop(incident_id, None)
            if not bucket:
                self.cells.pop(cell, None)
        else:
            bucket[incident_id] -= 1

    def around(self, lon: float, lat: float, radius_m: float) -> set[str]:
        m_lon = M_PER_DEG_LAT * math.cos(math.radians(lat))
        kx = math.ceil(radius_m / (CELL_DEG * m_lon))
        ky = math.ceil(radius_m / (CELL_DEG * M_PER_DEG_LAT))
        cx, cy = cell_of(lon, lat)
        found: set[str] = set()
        for x in range(cx - kx, cx + kx + 1):
            for y in range(cy - ky, cy + ky + 1):
                found.update(self.cells.get((x, y), ()))
        return found

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NearbyIndex) and {k: v for k, v in self.cells.items() if v} == {
            k: v for k, v in other.cells.items() if v}
