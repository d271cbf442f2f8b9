"""The generated demo city: a riverside county district around 119.96 E, 30.05 N.

Deterministic from its seed: a river crossing west to east with a few bridges, a ring road,
arterials every few blocks with signals where they cross, and local street grids with some
jitter, gaps and one-way streets. Big enough to route on like a real district (tens of
thousands of nodes at scale 1) and scalable for benchmarks.

With `street_detail`, streets are drawn the way an OpenStreetMap extract draws them, where a
node is any point of a way, not only a crossing: local streets bend and carry shape points,
and dead-end lanes branch off them. That is the graph an imported district gives the router
(most of its nodes are shape points), so the routing benchmark measures on it as well as on the
plain grid, where every node is a crossing (the hardest case for a contraction hierarchy)."""

import math
import random

import networkx as nx
from shapely import LineString

from routing.network import DEFAULT_SPEED_KMH, RoadNetwork, metres_per_degree

CENTRE = (119.96, 30.05)
BLOCK_M = 110.0  # local street spacing
ARTERIAL_EVERY = 8  # blocks between arterials
RIVER_HALF_WIDTH_M = 70.0


LOCAL = ("tertiary", "residential")


def build_demo_city(seed: int = 7, scale: float = 1.0, street_detail: bool = False) -> RoadNetwork:
    """About 24,000 nodes at scale 1.0 (about 100,000 with `street_detail`); node count grows in
    proportion to `scale`."""
    # One linear recipe (grid, river, bridges, arterials, signals) whose steps share the graph
    # under construction; split, each step would take and return the same half-built city.
    rng = random.Random(seed)
    cols = max(24, int(round(160 * math.sqrt(scale))))
    rows = max(24, int(round(150 * math.sqrt(scale))))
    width, height = cols * BLOCK_M, rows * BLOCK_M
    mx, my = metres_per_degree(CENTRE[1])
    amplitude = height * 0.06
    phase = rng.uniform(0, 2 * math.pi)

    def river_y(x: float) -> float:
        return height / 2 + amplitude * math.sin(2 * math.pi * x / width * 1.5 + phase)

    ring_cols = {cols // 5, cols - cols // 5}
    ring_rows = {rows // 5, rows - rows // 5}
    arterial_cols = {c for c in range(0, cols + 1, ARTERIAL_EVERY)} | ring_cols
    arterial_rows = {r for r in range(0, rows + 1, ARTERIAL_EVERY)} | ring_rows
    # Bridges: the ring road's two sides plus a few arterials, chosen by the seed.
    inner = sorted(c for c in arterial_cols if cols // 5 < c < cols - cols // 5)
    bridges = set(ring_cols) | set(rng.sample(inner, k=min(3, len(inner))))

    def road_class(kind: str, index: int) -> str:
        if (kind == "col" and index in ring_cols) or (kind == "row" and index in ring_rows):
            return "trunk"
        arterials = arterial_cols if kind == "col" else arterial_rows
        if index in arterials:
            return "primary" if (index // ARTERIAL_EVERY) % 2 == 0 else "secondary"
        return "tertiary" if index % 4 == 0 else "residential"

    g = nx.DiGraph()
    node_id: dict[tuple[int, int], int] = {}
    for r in range(rows + 1):
        for c in range(cols + 1):
            x, y = c * BLOCK_M, r * BLOCK_M
            on_arterial = c in arterial_cols or r in arterial_rows
            if not on_arterial:  # local streets wander a little; arterials stay straight
                x += rng.uniform(-18, 18)
                y += rng.uniform(-18, 18)
            if abs(y - river_y(x)) < RIVER_HALF_WIDTH_M:
                continue  # in the river
            n = len(node_id)
            node_id[(r, c)] = n
            signal = c in arterial_cols and r in arterial_rows
            g.add_node(n, lon=CENTRE[0] + (x - width / 2) / mx, lat=CENTRE[1] + (y - height / 2) / my,
                       x=x, y=y, **({"signal_id": f"S{r:03d}{c:03d}"} if signal else {}))

    def add_point(x: float, y: float) -> int:
        n: int = g.number_of_nodes()
        g.add_node(n, lon=CENTRE[0] + (x - width / 2) / mx, lat=CENTRE[1] + (y - height / 2) / my,
                   x=x, y=y)
        return n

    def link(a: int, b: int, cls: str, oneway: bool) -> None:
        da, db = g.nodes[a], g.nodes[b]
        length = math.hypot(da["x"] - db["x"], da["y"] - db["y"])
        speed = DEFAULT_SPEED_KMH[cls]
        attrs = {"length_m": length, "road_class": cls, "speed_kmh": speed,
                 "travel_time_s": length / (speed / 3.6), "oneway": oneway}
        g.add_edge(a, b, geometry=LineString([(da["lon"], da["lat"]), (db["lon"], db["lat"])]), **attrs)
        if not oneway:
            g.add_edge(b, a, geometry=LineString([(db["lon"], db["lat"]), (da["lon"], da["lat"])]),
                       **attrs)

    def shape_points(a: int, b: int, cls: str) -> list[int]:
        """The bend of a street between two crossings, as points an OSM way would carry."""
        if not street_detail:
            return []
        count = rng.randint(1, 4) if cls in LOCAL else rng.randint(0, 1)
        (ax, ay), (bx, by) = (g.nodes[a]["x"], g.nodes[a]["y"]), (g.nodes[b]["x"], g.nodes[b]["y"])
        span = math.hypot(bx - ax, by - ay) or 1.0
        bow = rng.uniform(-0.08, 0.08) * span if cls in LOCAL else 0.0
        nx_, ny_ = -(by - ay) / span, (bx - ax) / span  # unit normal: the side the street bows to
        out = []
        for k in range(1, count + 1):
            t = k / (count + 1)
            side = bow * math.sin(math.pi * t)
            out.append(add_point(ax + t * (bx - ax) + side * nx_, ay + t * (by - ay) + side * ny_))
        return out

    def connect(a: int, b: int, cls: str, oneway: bool) -> None:
        chain = [a, *shape_points(a, b, cls), b]
        for p, q in zip(chain, chain[1:], strict=False):
            link(p, q, cls, oneway)
        if street_detail and cls in LOCAL and len(chain) > 2 and rng.random() < 0.35:
            lane(chain[1])

    def lane(start: int) -> None:
        """A dead-end lane off a local street: a few points into the block, two-way."""
        x, y = g.nodes[start]["x"], g.nodes[start]["y"]
        heading = rng.uniform(0, 2 * math.pi)
        prev = start
        for _ in range(rng.randint(1, 3)):
            heading += rng.uniform(-0.6, 0.6)
            x, y = x + 14 * math.cos(heading), y + 14 * math.sin(heading)
            if abs(y - river_y(x)) < RIVER_HALF_WIDTH_M:
                return
            here = add_point(x, y)
            link(prev, here, "residential", False)
            prev = here

    oneway_rows = {r for r in range(rows + 1) if r not in arterial_rows and rng.random() < 0.15}
    oneway_cols = {c for c in range(cols + 1) if c not in arterial_cols and rng.random() < 0.15}
    for (r, c), a in node_id.items():
        # along the row (west-east)
        b = node_id.get((r, c + 1))
        if b is not None and (r in arterial_rows or rng.random() > 0.06):
            cls = road_class("row", r)
            if r in oneway_rows:
                connect(a, b, cls, True) if r % 2 else connect(b, a, cls, True)
            else:
                connect(a, b, cls, False)
        # along the column (south-north); crossing the river only on a bridge
        b = node_id.get((r + 1, c))
        if b is None:
            # the next node north in this column is across the river: only bridges reach it
            far = next((node_id[(rr, c)] for rr in range(r + 2, rows + 1) if (rr, c) in node_id), None)
            if c in bridges and far is not None:
                connect(a, far, road_class("col", c), False)
            continue
        if c in arterial_cols or rng.random() > 0.06:
            cls = road_class("col", c)
            if c in oneway_cols:
                connect(a, b, cls, True) if c % 2 else connect(b, a, cls, True)
            else:
                connect(a, b, cls, False)
    largest = max(nx.strongly_connected_components(g), key=len)
    g = g.subgraph(largest).copy()
    for n in g.nodes:
        del g.nodes[n]["x"], g.nodes[n]["y"]
    g = nx.convert_node_labels_to_integers(g, ordering="sorted")
    return RoadNetwork(g, name=f"demo-city-seed{seed}-scale{scale:g}")
