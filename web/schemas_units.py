"""The answers about units and the fleet: unit views with their positions and routes, stations
and hospitals, recommendations and the units sent (web/units_api.py)."""

from pydantic import Field, RootModel

from dispatch.agencies import Agency
from dispatch.routes import RoutePurpose
from dispatch.units import UnitStatus
from web.schemas import Answer, LonLat, Moment


class PositionView(Answer):
    unit_id: str
    lon: float
    lat: float
    at: Moment
    heading: float | None
    speed_kmh: float | None


class RouteSignal(Answer):
    """A signal on a route: where the unit meets it and how long it would wait there."""

    signal_id: str
    approach: str
    eta_s: float
    expected_delay_s: float


class RouteView(Answer):
    """The route a unit was given (as the log holds it), drawn and timed."""

    incident_id: str
    purpose: RoutePurpose
    hospital_id: str | None
    destination: LonLat
    given_at: Moment
    reason: str
    eta_s: float
    eta_green_s: float
    length_m: float
    coords: list[LonLat]
    signals: list[RouteSignal]


class UnitView(Answer):
    unit_id: str
    agency: Agency
    kind: str
    call_sign: str
    station_id: str
    crew: int
    capabilities: list[str]
    status: UnitStatus
    status_at: Moment | None
    incident_id: str | None
    position: PositionView | None = Field(description="The latest fix, or null before the first.")
    stale: bool = Field(description="No fix for longer than the server's stale_after_s.")
    distance_m: float | None = Field(None, description="Only in a list asked with `near`.")
    route: RouteView | None = Field(None, description="Only for one unit, while it drives a route.")


class UnitList(Answer):
    count: int
    units: list[UnitView]


class StationPlace(Answer):
    station_id: str
    agency: Agency
    name: str
    lon: float
    lat: float


class HospitalPlace(Answer):
    hospital_id: str
    name: str
    lon: float
    lat: float
    takes: list[str] = Field(description="What it treats: trauma, burns, cardiac, ...")


class FleetPlaces(Answer):
    stations: list[StationPlace]
    hospitals: list[HospitalPlace]


class RoutesByUnit(RootModel[dict[str, RouteView]]):
    """The route each moving unit follows, by unit id."""


class PositionsAccepted(Answer):
    accepted: int = Field(description="How many fixes were stored (all of the request's).")


class Candidate(Answer):
    unit_id: str
    call_sign: str
    agency: Agency
    kind: str
    eta_s: float
    stale: bool
    divert_from: str | None = Field(description="The incident it would be taken from, if any.")
    reason: str


class Need(Answer):
    """One unit kind an agency must send, with the best candidates, fastest first."""

    agency: Agency
    kind: str
    candidates: list[Candidate]


class HospitalChoice(Answer):
    hospital_id: str
    name: str
    takes: list[str]
    needed: str = Field(description="What the patient's kind needs: trauma, burns, general, ...")
    eta_s: float


class Recommendation(Answer):
    incident_id: str
    needs: list[Need]
    hospital: HospitalChoice | None
    computed_at: Moment


class UnitsSent(Answer):
    """The units sent, with the route each was given."""

    incident_id: str
    assigned: list[str]
    routes: dict[str, RouteView] = Field(description="By unit id; a unit with no route is left out.")
