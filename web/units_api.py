"""The fleet over HTTP: units, live positions (single, batch, device websocket), recommendation
and assignment. Positions go to telemetry (Redis GEO and a bounded stream), never to the log."""

import asyncio
import contextlib
import json
import math
from collections.abc import Callable
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from shapely import LineString, Point

from dispatch.decide import (
    AssignUnits,
    ChangeUnitStatus,
    RecordReroute,
    RegisterUnit,
    Rejected,
)
from dispatch.fleet import HOSPITAL_NEEDS, Fleet
from dispatch.recommend import Need, assignments_from, drive_times_to, recommend, units_to_rank
from dispatch.router import RoutePlan, Router, profile_for
from dispatch.service import DispatchService
from dispatch.telemetry import Position, PositionStore, is_stale
from dispatch.units import COMMITTED, Unit, UnitStatus
from web.access import Denied, permit_message
from web.views import unit_view

router = APIRouter()
AgencyCode = Literal["110", "119", "120", "122"]
MAX_BATCH = 10_000


class PositionIn(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    at: AwareDatetime | None = Field(None, description="When the fix was taken; defaults to now.")
    heading: float | None = Field(None, ge=0, lt=360)
    speed_kmh: float | None = Field(None, ge=0, le=400)


class UnitPositionIn(PositionIn):
    unit_id: str = Field(max_length=64)


class PositionBatchIn(BaseModel):
    positions: list[UnitPositionIn] = Field(max_length=MAX_BATCH)


class UnitIn(BaseModel):
    unit_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    agency: AgencyCode
    kind: str = Field(min_length=1, max_length=64)
    call_sign: str = Field(min_length=1, max_length=100)
    station_id: str = Field(max_length=64)
    crew: int = Field(ge=1, le=50)
    capabilities: list[str] = Field(default_factory=list, max_length=50)


class UnitStatusIn(BaseModel):
    status: str
    reason: str = Field("", max_length=500)
    by: str = Field("dispatcher", max_length=64)


class AssignIn(BaseModel):
    units: list[str] | None = Field(
        None, description="Unit ids to send; omit to confirm the recommendation as it stands.")
    reason: str = Field("", max_length=500, description="Why, when not the recommended units.")
    by: str = Field("dispatcher", max_length=64)


class RouteFollower(Protocol):
    """Something that follows assigned units along their routes (the green wave does)."""

    async def rerouted(self, unit_id: str, plan: RoutePlan) -> None: ...


class Fleetwork:
    """The edge pieces the fleet endpoints share: telemetry, the router, the fleet file."""

    def __init__(self, service: DispatchService, positions: PositionStore, road: Router,
                 fleet: Fleet, stale_after_s: float) -> None:
        self.service, self.positions, self.road = service, positions, road
        self.fleet, self.stale_after_s = fleet, stale_after_s
        self.routes: dict[str, RoutePlan] = {}  # assigned unit -> its current route
        self.followers: list[RouteFollower] = []  # told of every re-route (the green wave)

    async def register_fleet(self) -> None:
        """Put the fleet file's units in the log once; the log then owns them."""
        for spec in self.fleet.units:
            if spec.unit_id not in self.service.state.units:
                # Another process starting on the same Redis may register it first: that is fine.
                with contextlib.suppress(Rejected):
                    await self.service.execute(RegisterUnit(
                        spec.unit_id, spec.agency, spec.kind, spec.call_sign, spec.station_id,
                        spec.crew, spec.capabilities))

    async def where(self, unit_ids: list[str]) -> dict[str, tuple[float, float]]:
        latest = await self.positions.latest(unit_ids)
        return self.places([self.service.state.units[u] for u in unit_ids], latest)

    def places(self, units: list[Unit], latest: dict[str, Position]) -> dict[str, tuple[float, float]]:
        """Each unit's latest position, or its home station when it has never reported."""
        out: dict[str, tuple[float, float]] = {}
        for unit in units:
            if unit.unit_id in latest:
                out[unit.unit_id] = (latest[unit.unit_id].lon, latest[unit.unit_id].lat)
            else:
                station = self.fleet.stations.get(unit.station_id)
                if station is not None:
                    out[unit.unit_id] = (station.lon, station.lat)
        return out

    async def recommendation(self, incident_id: str) -> tuple[list[Need], dict[str, Any] | None]:
        state = self.service.state
        inc = state.incidents.get(incident_id)
        if inc is None:
            raise Rejected(404, "incident_id", f"no incident {incident_id}")
        if inc.lon is None or inc.lat is None:
            raise Rejected(409, "incident_id", f"{incident_id} has no coordinates to route to yet")
        units = units_to_rank(state, inc, self.service.rules.plans)
        latest = await self.positions.latest([u.unit_id for u in units])
        eta = drive_times_to(inc, units, self.places(units, latest), self.road)
        ranked = recommend(state, inc, self.service.rules.plans, eta, latest,
                           self.service.clock.now(), self.stale_after_s)
        hospital = self.hospital_for(inc.kind, (inc.lon, inc.lat)) if "120" in inc.tasks else None
        return ranked, hospital

    async def route_assigned(self, incident_id: str, unit_ids: list[str]) -> dict[str, Any]:
        """Give each newly assigned unit its route from where it is now to the incident."""
        inc = self.service.state.incidents[incident_id]
        places = await self.where(unit_ids)
        routes: dict[str, Any] = {}
        for uid in unit_ids:
            if uid in places and inc.lon is not None and inc.lat is not None:
                unit = self.service.state.units[uid]
                plan = await asyncio.to_thread(self.road.route, places[uid], (inc.lon, inc.lat),
                                               profile_for(unit.kind))
                self.routes[uid] = plan
                routes[uid] = _route_view(plan)
        return {"assigned": unit_ids, "routes": routes}

    async def ingest(self, fixes: list[Position]) -> None:
        """Every fix, from a vehicle or the demo drive, goes this one way: stored, fanned out to
        the screens, and checked against the unit's route and corridor."""
        await self.positions.record(fixes)
        await self.follow(fixes)

    async def follow(self, positions: list[Position]) -> None:
        """Re-route an assigned unit that has strayed from its route."""
        for p in positions:
            plan = self.routes.get(p.unit_id)
            if plan is None or not self._sent(p.unit_id):
                continue  # a fix is cheap to skip; measuring it against a route is not
            off = off_route_m(plan, (p.lon, p.lat))
            if off > OFF_ROUTE_M:
                await self.reroute(p.unit_id, (p.lon, p.lat), f"{off:.0f} m off its route")

    async def reroute_where(self, reason: str, affected: Callable[[RoutePlan], bool]) -> None:
        """Give a new route, from where it is now, to every unit whose route `affected` picks
        (the roads under it changed)."""
        picked = [uid for uid, plan in list(self.routes.items()) if self._sent(uid) and affected(plan)]
        if picked:
            places = await self.where(picked)
            for uid in picked:
                if uid in places:
                    await self.reroute(uid, places[uid], reason)

    def _sent(self, unit_id: str) -> bool:
        """Whether the unit is on its way to an incident (its route still matters)."""
        unit = self.service.state.units.get(unit_id)
        return unit is not None and unit.incident_id is not None

    async def reroute(self, unit_id: str, at: tuple[float, float], reason: str) -> None:
        """A new route from `at` to the unit's incident, in the log and told to the followers."""
        state = self.service.state
        unit = state.units.get(unit_id)
        if unit is None or unit.incident_id is None:
            return
        inc = state.incidents[unit.incident_id]
        if inc.lon is None or inc.lat is None:
            return
        try:
            new = await asyncio.to_thread(self.road.route, at, (inc.lon, inc.lat), profile_for(unit.kind))
        except ValueError:
            return  # off the road network for now (or cut off); the next fix will try again
        self.routes[unit_id] = new
        with contextlib.suppress(Rejected):
            await self.service.execute(RecordReroute(unit_id, new.eta_s, reason))
        for follower in self.followers:
            await follower.rerouted(unit_id, new)

    def hospital_for(self, kind: str, place: tuple[float, float]) -> dict[str, Any] | None:
        found = self.fleet.hospital_for(kind, place, self.road)
        if found is None:
            return None
        h, eta = found
        return {"hospital_id": h.hospital_id, "name": h.name, "takes": sorted(h.takes),
                "needed": HOSPITAL_NEEDS.get(kind, "general"), "eta_s": round(eta, 1)}


OFF_ROUTE_M = 80.0  # beyond GPS noise on a city street; closer than the next parallel street


def off_route_m(plan: RoutePlan, at: tuple[float, float]) -> float:
    """Distance from a fix to the route's line, in metres (local flat-earth scale)."""
    line = LineString(plan.coords)
    mx = 111_320.0 * math.cos(math.radians(at[1]))
    # degrees to metres differ per axis; scale both into metres before measuring
    scaled = LineString([((x - at[0]) * mx, (y - at[1]) * 110_574.0) for x, y in line.coords])
    return float(scaled.distance(Point(0.0, 0.0)))


def _fw(request: Request | WebSocket) -> Fleetwork:
    return request.app.state.fleetwork  # type: ignore[no-any-return]


def _route_view(r: RoutePlan) -> dict[str, Any]:
    return {"eta_s": round(r.eta_s, 1), "eta_green_s": round(r.eta_green_s, 1),
            "length_m": round(r.length_m, 1), "coords": [[round(x, 6), round(y, 6)] for x, y in r.coords],
            "signals": [s.__dict__ for s in r.signals]}


@router.get("/v1/units")
async def list_units(
    request: Request,
    agency: Annotated[AgencyCode | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[list[UnitStatus] | None, Query()] = None,
    near: Annotated[str | None, Query(pattern=r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$",
                                      description="lon,lat")] = None,
    radius_m: Annotated[float, Query(gt=0, le=100_000)] = 5000,
) -> dict[str, Any]:
    fw = _fw(request)
    state = fw.service.state
    units = [u for u in state.units.values()
             if (agency is None or u.agency == agency) and (kind is None or u.kind == kind)
             and (not status or u.status in status)]
    distance: dict[str, float] = {}
    if near is not None:
        lon, lat = (float(x) for x in near.split(","))
        distance = dict(await fw.positions.near(lon, lat, radius_m))
        units = sorted((u for u in units if u.unit_id in distance), key=lambda u: distance[u.unit_id])
    latest = await fw.positions.latest([u.unit_id for u in units])
    now = fw.service.clock.now()
    out = []
    for u in units:
        view = unit_view(u, latest.get(u.unit_id), is_stale(latest.get(u.unit_id), now, fw.stale_after_s))
        if u.unit_id in distance:
            view["distance_m"] = round(distance[u.unit_id], 1)
        out.append(view)
    return {"count": len(out), "units": out}


@router.get("/v1/fleet")
async def fleet_places(request: Request) -> dict[str, Any]:
    """Stations and hospitals, for the map and for units that have not reported a position."""
    fleet = _fw(request).fleet
    return {"stations": [{"station_id": s.station_id, "agency": s.agency, "name": s.name,
                          "lon": s.lon, "lat": s.lat} for s in fleet.stations.values()],
            "hospitals": [{"hospital_id": h.hospital_id, "name": h.name, "lon": h.lon, "lat": h.lat,
                           "takes": sorted(h.takes)} for h in fleet.hospitals.values()]}


@router.get("/v1/routes")
async def current_routes(request: Request) -> dict[str, Any]:
    """The route each assigned unit is following, for the map."""
    fw = _fw(request)
    units = fw.service.state.units
    return {uid: {**_route_view(r), "incident_id": units[uid].incident_id}
            for uid, r in fw.routes.items() if units[uid].status in COMMITTED}


@router.get("/v1/units/{unit_id}")
async def get_unit(unit_id: str, request: Request) -> dict[str, Any]:
    fw = _fw(request)
    unit = fw.service.state.units.get(unit_id)
    if unit is None:
        raise Rejected(404, "unit_id", f"no unit {unit_id}")
    pos = (await fw.positions.latest([unit_id])).get(unit_id)
    view = unit_view(unit, pos, is_stale(pos, fw.service.clock.now(), fw.stale_after_s))
    if unit_id in fw.routes:
        view["route"] = _route_view(fw.routes[unit_id])
    return view


@router.post("/v1/units", status_code=201)
async def register_unit(body: UnitIn, request: Request) -> dict[str, Any]:
    fw = _fw(request)
    await fw.service.execute(RegisterUnit(body.unit_id, body.agency, body.kind, body.call_sign,
                                          body.station_id, body.crew, tuple(body.capabilities)))
    return unit_view(fw.service.state.units[body.unit_id], None, True)


@router.post("/v1/units/{unit_id}/status")
async def change_unit_status(unit_id: str, body: UnitStatusIn, request: Request) -> dict[str, Any]:
    fw = _fw(request)
    await fw.service.execute(ChangeUnitStatus(unit_id, body.status, body.by, body.reason))
    unit = fw.service.state.units[unit_id]
    if unit.status not in COMMITTED:
        fw.routes.pop(unit_id, None)
        await request.app.state.signal_priority.release(unit_id, f"{unit.call_sign} {unit.status}")
    return unit_view(unit, None, False)


@router.post("/v1/units/{unit_id}/release")
async def release_unit(unit_id: str, body: UnitStatusIn, request: Request) -> dict[str, Any]:
    """Free a unit from its incident: it turns back (returning) and can be sent again."""
    return await change_unit_status(unit_id, UnitStatusIn(status="returning", reason=body.reason,
                                                          by=body.by), request)


def _positions(fw: Fleetwork, items: list[UnitPositionIn]) -> list[Position]:
    now = fw.service.clock.now()
    units = fw.service.state.units
    for i, p in enumerate(items):
        if p.unit_id not in units:
            raise Rejected(422, f"positions[{i}].unit_id", f"no unit {p.unit_id}")
    return [Position(p.unit_id, p.lon, p.lat, p.at or now, p.heading, p.speed_kmh) for p in items]


@router.post("/v1/units/{unit_id}/position")
async def post_position(unit_id: str, body: PositionIn, request: Request) -> dict[str, Any]:
    fw = _fw(request)
    if unit_id not in fw.service.state.units:
        raise Rejected(404, "unit_id", f"no unit {unit_id}")
    fixes = _positions(fw, [UnitPositionIn(unit_id=unit_id, **body.model_dump())])
    await fw.ingest(fixes)
    return {"accepted": 1}


@router.post("/v1/positions")
async def post_positions(body: PositionBatchIn, request: Request) -> dict[str, Any]:
    """Many units at once, as a vehicle gateway sends them; all stored, or none."""
    fw = _fw(request)
    fixes = _positions(fw, body.positions)
    await fw.ingest(fixes)
    return {"accepted": len(body.positions)}


@router.websocket("/v1/units/positions/ws")
async def position_ingress(ws: WebSocket) -> None:
    """Devices stream fixes: each message one position or a list; each answered with a count
    or an error naming the field, and a bad message never closes the stream."""
    fw = _fw(ws)
    await ws.accept()
    try:
        while True:
            text = await ws.receive_text()
            try:
                raw = json.loads(text)
                batch = PositionBatchIn(positions=raw if isinstance(raw, list) else [raw])
                permit_message(ws, [p.unit_id for p in batch.positions])
                fixes = _positions(fw, batch.positions)
                await fw.ingest(fixes)
                await ws.send_json({"accepted": len(batch.positions)})
            except ValidationError as e:
                err = e.errors()[0]
                await ws.send_json({"error": err["msg"], "field": ".".join(map(str, err["loc"]))})
            except (Rejected, Denied) as e:
                await ws.send_json({"error": e.message, "field": e.field})
            except json.JSONDecodeError as e:
                await ws.send_json({"error": f"not JSON: {e}", "field": "body"})
    except WebSocketDisconnect:
        return


def _need_view(n: Need) -> dict[str, Any]:
    return {"agency": n.agency, "kind": n.kind,
            "candidates": [{**c.__dict__, "eta_s": round(c.eta_s, 1)} for c in n.candidates]}


@router.get("/v1/incidents/{incident_id}/recommendation")
async def get_recommendation(incident_id: str, request: Request) -> dict[str, Any]:
    fw = _fw(request)
    await fw.service.catch_up()
    needs, hospital = await fw.recommendation(incident_id)
    return {"incident_id": incident_id, "needs": [_need_view(n) for n in needs],
            "hospital": hospital, "computed_at": fw.service.clock.now().isoformat()}


@router.post("/v1/incidents/{incident_id}/assign")
async def assign(incident_id: str, body: AssignIn, request: Request) -> dict[str, Any]:
    """Confirm the recommendation, or send other units with a reason; each gets its route."""
    fw = _fw(request)
    await fw.service.catch_up()
    needs, _ = await fw.recommendation(incident_id)
    assignments = assignments_from(needs, body.units)
    if not assignments:
        raise Rejected(409, "units", "nothing to send: no recommendation and no units named")
    await fw.service.execute(AssignUnits(incident_id, assignments, body.by, body.reason))
    return {"incident_id": incident_id,
            **await fw.route_assigned(incident_id, [a.unit_id for a in assignments])}
