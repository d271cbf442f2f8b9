"""Live unit positions: latest in a Redis GEO index, recent track in a bounded stream.

Telemetry is not history: positions arrive many times a second across a fleet, so they never
enter the incident log. What matters for dispatch is where each unit is now and how fresh that
is; the bounded track serves the map's trails and a re-route check."""

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import redis.asyncio as aioredis
from pydantic_core import to_json


@dataclass(frozen=True)
class Position:
    unit_id: str
    lon: float
    lat: float
    at: datetime
    heading: float | None = None
    speed_kmh: float | None = None

    def to_wire(self) -> dict[str, object]:
        return {"unit_id": self.unit_id, "lon": self.lon, "lat": self.lat, "at": self.at.isoformat(),
                "heading": self.heading, "speed_kmh": self.speed_kmh}


# The whole batch in one script: Redis unpacks the fixes itself, so a fleet's second of fixes is
# one argument to send instead of thousands to encode one by one in Python.
_RECORD = """
local fixes = cjson.decode(ARGV[1])
for _, f in ipairs(fixes) do
  redis.call('GEOADD', KEYS[1], f.lon, f.lat, f.unit_id)
  redis.call('HSET', KEYS[2], f.unit_id, cjson.encode(f))
end
redis.call('XADD', KEYS[3], 'MINID', '~', ARGV[2], '*', 'b', ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[1])
return #fixes
"""


# Redis GEO (and Web Mercator) stop here: a fix beyond it is refused at the edge, not half-stored.
GEO_MAX_LAT = 85.05112878


class PositionStore:
    TRACK_KEEP_S = 120  # the recent track: the map's trails and a re-route check look back this far

    def __init__(self, redis: aioredis.Redis, namespace: str = "jd") -> None:
        self.redis = redis
        self.geo_key = f"{namespace}:pos"
        self.meta_key = f"{namespace}:posmeta"
        self.track_key = f"{namespace}:track"
        self.channel = f"{namespace}:positions"
        self._record = redis.register_script(_RECORD)

    async def record(self, positions: Sequence[Position]) -> None:
        """Store a batch in one round trip and tell every server process about it."""
        if not positions:
            return
        batch = to_json([p.to_wire() for p in positions]).decode()
        # One track entry per batch, not per fix, trimmed by age (entry ids are Redis's clock in ms).
        oldest = f"{int(time.time() * 1000) - self.TRACK_KEEP_S * 1000}-0"
        await self._record(keys=[self.geo_key, self.meta_key, self.track_key],
                           args=[batch, oldest, self.channel])

    async def latest(self, unit_ids: Sequence[str] | None = None) -> dict[str, Position]:
        if unit_ids is None:
            # redis-py's replies are typed as every shape a reply can take; these are the ones we get
            raw = cast(dict[bytes, bytes], await self.redis.hgetall(self.meta_key))
            items: list[tuple[str, bytes | str]] = [(k.decode(), v) for k, v in raw.items()]
        else:
            values = await self.redis.hmget(self.meta_key, list(unit_ids)) if unit_ids else []
            items = [(u, v) for u, v in zip(unit_ids, values, strict=True) if v is not None]
        return {u: _position(json.loads(v)) for u, v in items}

    async def near(self, lon: float, lat: float, radius_m: float) -> list[tuple[str, float]]:
        """Units within a radius, nearest first, with their straight-line distance in metres."""
        rows = cast(list[tuple[bytes, float]], await self.redis.geosearch(
            self.geo_key, longitude=lon, latitude=lat, radius=radius_m, unit="m", sort="ASC", withdist=True))
        return [(u.decode(), float(d)) for u, d in rows]

    async def track(self, unit_id: str, count: int = 50) -> list[Position]:
        """The unit's recent positions, newest first, from the bounded stream."""
        out: list[Position] = []
        rows = cast(list[tuple[bytes, dict[bytes, bytes]]],
                    await self.redis.xrevrange(self.track_key, count=count * 50))
        for _id, fields in rows:
            for row in reversed(json.loads(fields[b"b"])):
                if row["unit_id"] == unit_id:
                    out.append(_position(row))
                    if len(out) >= count:
                        return out
        return out


def _position(row: dict) -> Position:  # type: ignore[type-arg]
    return Position(unit_id=row["unit_id"], lon=row["lon"], lat=row["lat"],
                    at=datetime.fromisoformat(row["at"]), heading=row.get("heading"),
                    speed_kmh=row.get("speed_kmh"))


def is_stale(position: Position | None, now: datetime, stale_after_s: float) -> bool:
    return position is None or (now - position.at).total_seconds() > stale_after_s
