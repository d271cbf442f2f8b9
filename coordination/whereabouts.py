"""Where units are: the port the workflows ask, and its live filling from telemetry.

Live, a unit is where its latest fix says, or at its home station if it never reported; a replay
answers from its simulated vehicles. Positions are telemetry, never history: they are not in the
log."""

from typing import Protocol

from dispatch.fleet import Fleet
from dispatch.router import LonLat
from dispatch.service import DispatchService
from dispatch.telemetry import Position, PositionStore


class Whereabouts(Protocol):
    async def fixes(self, unit_ids: list[str]) -> dict[str, Position]:
        """The latest fix of each unit that has one."""
        ...

    async def places(self, unit_ids: list[str]) -> dict[str, LonLat]:
        """Each unit's best known place; units with none are left out."""
        ...


class FleetWhereabouts:
    """Latest fixes from the position store; a unit never heard from is at its station."""

    def __init__(self, positions: PositionStore, fleet: Fleet, service: DispatchService) -> None:
        self.positions, self.fleet, self.service = positions, fleet, service

    async def fixes(self, unit_ids: list[str]) -> dict[str, Position]:
        return await self.positions.latest(unit_ids)

    async def places(self, unit_ids: list[str]) -> dict[str, LonLat]:
        return self.places_from(unit_ids, await self.positions.latest(unit_ids))

    def places_from(self, unit_ids: list[str], latest: dict[str, Position]) -> dict[str, LonLat]:
        out: dict[str, LonLat] = {}
        for uid in unit_ids:
            if uid in latest:
                out[uid] = (latest[uid].lon, latest[uid].lat)
                continue
            unit = self.service.state.units.get(uid)
            station = self.fleet.stations.get(unit.station_id) if unit is not None else None
            if station is not None:
                out[uid] = (station.lon, station.lat)
        return out
