"""The scenario file's model: city, stations and fleet, hospitals, roster, signals, traffic, how
dispatchers and crews behave, the timeline of calls and other events, targets and expectations.
Validated with pydantic; `load` turns every error into the file's line and field."""

import math
from datetime import datetime, time, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from coordination.register_file import (
    DEMO_REGISTER_FILE,
    DeviceIn,
    RegisterFileError,
    RegisterIn,
    ResidentIn,
    ResponderIn,
    load_register,
)
from dispatch.alarm_rules import AlarmRules
from dispatch.fleet import DEMO_FLEET_FILE, Fleet, FleetError
from dispatch.home_register import ImportRegister
from dispatch.plans import DEFAULT_PLANS_FILE, ResponsePlans
from dispatch.roster import DEMO_ROSTER_FILE
from scenarios.source import LinedYaml, ScenarioError, read

AgencyCode = Literal["110", "119", "120", "122"]
BUILTIN_DIR = Path(__file__).with_name("builtin")


def _offset_s(value: Any) -> Any:
    """`at` is seconds after the start, or "H:MM:SS". Two parts ("23:40") are refused: a trainer
    means the clock by them, and reading them as 23 min 40 s put a night call in the morning."""
    if isinstance(value, str) and value.count(":") == 1:
        raise ValueError(f"{value!r} is ambiguous: for the time of day write `clock: \"{value}\"`; "
                         "for a time after the start write H:MM:SS (\"0:23:40\") or seconds")
    if isinstance(value, str) and ":" not in value:
        try:
            return float(value)
        except ValueError:
            raise ValueError("a time after the start is seconds or H:MM:SS") from None
    if isinstance(value, str):
        try:
            parts = [float(p) for p in value.split(":")]
        except ValueError:
            raise ValueError("a time after the start is seconds or H:MM:SS") from None
        if len(parts) > 3:
            raise ValueError("a time after the start is seconds or H:MM:SS")
        total = 0.0
        for p in parts:
            total = total * 60 + p
        return total
    return value


Offset = Annotated[float, BeforeValidator(_offset_s), Field(ge=0)]
ClockTime = Annotated[time, Field(description="A time of day, \"23:40\" or \"23:40:00\", in the start's "
                                              "UTC offset: the first such moment at or after the start.")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Place(Strict):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


PlaceRef = str | Place  # a name from `places`, or coordinates


class CallSpec(Strict):
    hotline: AgencyCode
    kind: str
    place: PlaceRef
    caller: str | None = Field(None, pattern=r"^\+?[0-9 \-]{3,32}$")
    text: str = ""
    address: str | None = None
    event: str | None = Field(None, description="The real-world event this call is about (for KPIs); "
                              "calls without one are each their own event.")


class RoadSpec(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: PlaceRef = Field(alias="from")
    to: PlaceRef


class UnitOut(Strict):
    unit: str
    minutes: float | None = Field(None, gt=0, description="Back in service after; omit: stays out.")


class UnitBack(Strict):
    unit: str


class AnswerSpec(Strict):
    """A call-back of the alarm's verification answered: by whoever the step is calling then."""

    after_s: float = Field(ge=0, description="Seconds after the alarm was raised.")
    outcome: Literal["all_well", "needs_help", "no_answer"]
    by: str = Field("resident", max_length=64)


class ResponderPlay(Strict):
    """How the community responder sent to the home acts, in seconds after being told."""

    accept_s: float = Field(60.0, ge=0)
    arrive_s: float = Field(600.0, ge=0)
    outcome: Literal["all_well", "needs_120", "no_answer", "needs_help", "other"] | None = Field(
        None, description="Reported this long after arriving; omit: never reported.")
    outcome_after_s: float = Field(60.0, ge=0, description="After arriving.")
    note: str = Field("", max_length=500)

    @model_validator(mode="after")
    def _in_order(self) -> "ResponderPlay":
        if self.arrive_s < self.accept_s:
            raise ValueError("arrive_s comes after accept_s")
        if self.outcome == "other" and not self.note.strip():
            raise ValueError("an outcome of 'other' says in the note what was found")
        return self


class AlarmSpec(Strict):
    """A device of the scenario's register raises an alarm, as its gateway would over MQTT."""

    device: str
    kind: str = Field(description="An alarm kind of the alarm rules: smoke, fall, sos, ...")
    value: float | None = Field(None, description="A measure: heart rate, hours without motion.")
    event: str | None = Field(None, description="The real-world event it is about (for KPIs).")
    answers: list[AnswerSpec] = Field(default_factory=list, description=(
        "Call-backs answered; a step no answer reaches goes on at its deadline."))
    responder: ResponderPlay | None = Field(None, description="The responder told; omit: silent.")


class RegisterSpec(Strict):
    """The home-alarm register: residents, their devices, the community responders."""

    file: str | None = Field(None, description='"demo" or a register file; inline lists are added to it')
    residents: list[ResidentIn] = Field(default_factory=list)
    devices: list[DeviceIn] = Field(default_factory=list)
    responders: list[ResponderIn] = Field(default_factory=list)


class TimelineEntry(Strict):
    at: Offset = Field(-1.0, description="Seconds (or H:MM:SS) after the start; or give `clock`.")
    clock: ClockTime | None = None
    call: CallSpec | None = None
    alarm: AlarmSpec | None = None
    road_closed: RoadSpec | None = None
    road_reopened: RoadSpec | None = None
    unit_out_of_service: UnitOut | None = None
    unit_back_in_service: UnitBack | None = None

    @model_validator(mode="after")
    def _one_thing(self) -> "TimelineEntry":
        if (self.at >= 0) == (self.clock is not None):
            raise ValueError("each timeline entry has `at` (after the start) or `clock` (time of day)")
        given = [k for k in ENTRY_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"each timeline entry is one of {', '.join(ENTRY_KINDS)} "
                             f"(got {', '.join(given) or 'none'})")
        return self

    @property
    def what(self) -> str:
        return next(k for k in ENTRY_KINDS if getattr(self, k) is not None)


ENTRY_KINDS = ("call", "alarm", "road_closed", "road_reopened", "unit_out_of_service",
               "unit_back_in_service")


class DemoCity(Strict):
    seed: int = 7
    scale: float = Field(1.0, gt=0, le=20)


class CitySpec(Strict):
    demo: DemoCity | None = None
    osm_cache: str | None = Field(None, description="A network cached by `jointdispatch import-osm`.")
    osm: str | None = Field(None, description="An OpenStreetMap extract (.osm / .osm.pbf).")

    @model_validator(mode="after")
    def _one_source(self) -> "CitySpec":
        if sum(x is not None for x in (self.demo, self.osm_cache, self.osm)) != 1:
            raise ValueError("give one of demo, osm_cache, osm")
        return self


class StationIn(Strict):
    id: str
    agency: AgencyCode
    name: str | None = None
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class HospitalIn(Strict):
    id: str
    name: str | None = None
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    takes: list[str] = Field(default_factory=list)


class UnitIn(Strict):
    id: str
    station: str
    kind: str
    call_sign: str | None = None
    count: int = Field(1, ge=1, le=500)
    crew: int = Field(2, ge=1, le=50)
    capabilities: list[str] = Field(default_factory=list)


class FleetSpec(Strict):
    file: str | None = Field(None, description='"demo" or a fleet file; inline lists are added to it')
    stations: list[StationIn] = Field(default_factory=list)
    hospitals: list[HospitalIn] = Field(default_factory=list)
    units: list[UnitIn] = Field(default_factory=list)


class RosterSpec(Strict):
    file: str = "demo"
    # Seconds each agency's convener takes to answer the whistle; "never" lets it escalate.
    ack_s: dict[AgencyCode, float | Literal["never"]] = Field(
        default_factory=lambda: {"110": 25.0, "119": 20.0, "120": 15.0, "122": 35.0})
    ack_deadline_s: float = Field(30.0, gt=0)


class SignalSpec(Strict):
    plans_file: str | None = Field(None, description="District signal plans; defaults by road class.")
    lead_s: float = Field(15.0, ge=0)
    clearance_s: float = Field(5.0, ge=0)
    max_hold_s: float = Field(60.0, gt=0)


class TrafficSpec(Strict):
    # Degree of saturation of the roads (flow over capacity). Slows links (BPR) and builds the
    # queue a unit finds at a red signal.
    level: float = Field(0.5, ge=0, le=0.95)
    by_hour: dict[Annotated[int, Field(ge=0, le=23)], Annotated[float, Field(ge=0, le=0.95)]] = Field(
        default_factory=dict, description="The level from each listed hour of day (local, the start's "
        "offset) until the next listed one: {7: 0.8, 10: 0.5, 17: 0.85, 20: 0.4}; before the first "
        "listed hour, the last one's (the evening before).")

    def level_at(self, moment: datetime) -> float:
        if not self.by_hour:
            return self.level
        hours = sorted(self.by_hour)
        earlier = [h for h in hours if h <= moment.hour]
        return self.by_hour[earlier[-1] if earlier else hours[-1]]


class TransferSpec(Strict):
    """How long, working alone, a call takes to reach another centre by phone: from the first
    centre's receipt to the second centre's answer, log-normal. The defaults fit the 299,679
    transfers between primary and secondary PSAPs in seven US metropolitan systems (median 41 s,
    IQR 31-59 s, 90th percentile 86 s): "Secondary Public Safety Answering Points Delay the
    Response to Out-of-Hospital Cardiac Arrest", Prehospital Emergency Care 28(1):135-138, 2024,
    doi:10.1080/10903127.2023.2214221. Centres that pass calls on by a call-back rather than a
    hot transfer are slower: set the median and p90 to the district's own figures."""

    median_s: float = Field(41.0, gt=0)
    p90_s: float = Field(86.0, gt=0)

    @model_validator(mode="after")
    def _spread(self) -> "TransferSpec":
        if self.p90_s <= self.median_s:
            raise ValueError("p90_s must be above median_s")
        return self

    def delay_s(self, u: float) -> float:
        """The delay at quantile `u` of the log-normal with this median and 90th percentile."""
        sigma = math.log(self.p90_s / self.median_s) / NormalDist().inv_cdf(0.9)
        return self.median_s * math.exp(sigma * NormalDist().inv_cdf(min(max(u, 1e-6), 1 - 1e-6)))


class DispatcherSpec(Strict):
    intake_s: float = Field(60.0, ge=0, description="Call answered to call entered.")
    dispatch_s: float = Field(30.0, ge=0, description="Call entered to units sent.")
    whistle_s: float = Field(20.0, ge=0, description="Call entered to the whistle (qualifying kinds).")
    turnout_s: dict[AgencyCode, float] = Field(
        default_factory=lambda: {"110": 30.0, "119": 60.0, "120": 60.0, "122": 30.0})
    transfer: TransferSpec = Field(default_factory=TransferSpec, description=(
        "Working alone: a call for another agency's work is passed on by phone after this delay."))


class SceneSpec(Strict):
    default_min: float = Field(20.0, gt=0)
    minutes: dict[str, float] = Field(default_factory=dict, description="On-scene minutes by kind.")
    variation: float = Field(0.3, ge=0, le=0.9, description="+- share around the minutes, by seed.")
    transport_share: dict[str, float] = Field(
        default_factory=dict, description="Share of ambulance attendances that carry a patient, by kind.")
    default_transport_share: float = Field(0.6, ge=0, le=1)
    handover_min: float = Field(15.0, ge=0)


class Area(Strict):
    centre: PlaceRef
    radius_m: float = Field(gt=0)
    weight: float = Field(1.0, gt=0)


class GenerateSpec(Strict):
    """Calls drawn from rates, deterministic from `seed`: for a day of many calls."""

    seed: int = 1
    events: int | None = Field(None, gt=0, le=100_000, description="How many real events; each "
                               "brings one call or more (other witnesses, repeats).")
    calls: int | None = Field(None, gt=0, le=200_000, description="How many calls, exactly: events "
                              "are drawn until there are this many (give this or `events`).")
    hours: float = Field(24.0, gt=0)
    kinds: dict[str, float] = Field(min_length=1, description="Relative rate of each kind.")
    areas: list[Area] = Field(min_length=1)
    by_hour: list[float] | None = Field(None, min_length=24, max_length=24,
                                        description="Relative rate in each hour of the day.")
    other_hotlines_share: float = Field(0.5, ge=0, le=1,
                                        description="Chance another agency of the plan is also called.")
    repeat_share: float = Field(0.08, ge=0, le=1, description="Chance the caller rings again.")

    @model_validator(mode="after")
    def _events_or_calls(self) -> "GenerateSpec":
        if (self.events is None) == (self.calls is None):
            raise ValueError("say how many `events` or how many `calls` (one of the two)")
        return self


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class Expectations(Strict):
    event: str | None = Field(None, description="The event (as tagged on its calls) they are about; "
                              "default: every event of the day.")
    whistle_within_s: float | None = Field(None, gt=0)
    acknowledged_within_s: float | None = Field(None, gt=0)
    on_scene_within_s: dict[AgencyCode, float] = Field(default_factory=dict)


class Scenario(Strict):
    name: str = Field(pattern=r"^[a-z0-9_\-]+$", max_length=64)
    title: str
    description: str = ""
    start: AwareDatetime
    seed: int = 1
    end_after_h: float | None = Field(None, gt=0, description="Stop the replay here; default: when "
                                      "every unit is back after the last call.")
    city: CitySpec = Field(default_factory=lambda: CitySpec(demo=DemoCity()))
    fleet: FleetSpec = Field(default_factory=lambda: FleetSpec(file="demo"))
    roster: RosterSpec = Field(default_factory=RosterSpec)
    signals: SignalSpec = Field(default_factory=SignalSpec)
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)
    dispatcher: DispatcherSpec = Field(default_factory=DispatcherSpec)
    scene: SceneSpec = Field(default_factory=SceneSpec)
    targets: dict[AgencyCode, float] = Field(
        default_factory=lambda: {"110": 600.0, "119": 600.0, "120": 720.0, "122": 900.0},
        description="Response-time targets in seconds, call to first unit on scene.")
    places: dict[str, Place] = Field(default_factory=dict)
    # `register` in the file; a model's own `register` (ABCMeta's) is not to be shadowed
    homes: RegisterSpec | None = Field(None, alias="register", description=(
        "The home-alarm register whose devices the timeline's alarms come from."))
    timeline: list[TimelineEntry] = Field(default_factory=list)
    generate: GenerateSpec | None = None
    expect: Annotated[list[Expectations], BeforeValidator(_one_or_many)] = Field(
        default_factory=list, description="What trainees should achieve: one set, or a list of sets "
        "(each about its own event).")

    @model_validator(mode="after")
    def _clock_times_as_offsets(self) -> "Scenario":
        """Entries given by the clock get their offset from the start, so the rest of the
        replay knows one kind of time."""
        if all(e.clock is None for e in self.timeline):
            return self
        timeline = [e if e.clock is None else e.model_copy(update={"at": _after(self.start, e.clock)})
                    for e in self.timeline]
        return self.model_copy(update={"timeline": timeline})


def _after(start: datetime, clock: time) -> float:
    moment = datetime.combine(start.date(), clock, tzinfo=start.tzinfo)
    if moment < start:
        moment += timedelta(days=1)
    return (moment - start).total_seconds()


class LoadedScenario:
    """A validated scenario with what it refers to resolved: fleet, plans, paths, generated calls."""

    def __init__(self, spec: Scenario, source: Path, fleet: Fleet, plans: ResponsePlans,
                 timeline: list[TimelineEntry], register: RegisterIn | None = None) -> None:
        self.spec, self.source, self.fleet, self.plans = spec, source, fleet, plans
        self.timeline = timeline  # written entries and generated calls, in time order
        self.register = register  # the file's and the inline entries, checked

    def register_command(self) -> ImportRegister | None:
        return None if self.register is None else self.register.command(f"scenario:{self.name}")

    @property
    def name(self) -> str:
        return self.spec.name

    def at(self, offset_s: float) -> datetime:
        return self.spec.start + timedelta(seconds=offset_s)

    def place(self, ref: PlaceRef) -> tuple[float, float]:
        p = self.spec.places[ref] if isinstance(ref, str) else ref
        return (p.lon, p.lat)

    def path(self, value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else self.source.parent / p

    @property
    def roster_file(self) -> Path:
        return DEMO_ROSTER_FILE if self.spec.roster.file == "demo" else self.path(self.spec.roster.file)

    @property
    def calls(self) -> list[TimelineEntry]:
        return [e for e in self.timeline if e.call is not None]


def load(path: Path | str) -> LoadedScenario:
    """Read and check a scenario file; a ScenarioError names the line and field of any fault."""
    doc = read(path)
    return from_doc(doc, Path(path))


def from_doc(doc: LinedYaml, source: Path) -> LoadedScenario:
    from scenarios.generator import generate_calls

    if not isinstance(doc.data, dict):
        raise doc.error((), "a scenario is a mapping (name, title, start, ..., timeline)")
    try:
        spec = Scenario.model_validate(doc.data)
    except ValidationError as e:
        raise doc.from_validation(e) from None
    plans = ResponsePlans.load(DEFAULT_PLANS_FILE)
    fleet = _fleet(spec, doc, source)
    _check_refs(spec, doc, plans, fleet)
    register = _register(spec, doc, source)
    timeline = list(spec.timeline)
    if spec.generate is not None:
        timeline += generate_calls(spec.generate, spec, plans)
    timeline.sort(key=lambda e: e.at)  # stable: entries at one moment keep the file's order
    return LoadedScenario(spec, source, fleet, plans, timeline, register)


def _register(spec: Scenario, doc: LinedYaml, source: Path) -> RegisterIn | None:
    """The register the alarms come from: the file's entries and the inline ones; each alarm's
    device must be in it and its kind in the alarm rules."""
    r = spec.homes
    alarms = [(i, e.alarm) for i, e in enumerate(spec.timeline) if e.alarm is not None]
    if r is None:
        if alarms:
            raise doc.error(("timeline", alarms[0][0], "alarm"), "an alarm needs a register: "
                            "add `register: {file: demo}` or the homes inline")
        return None
    base = RegisterIn()
    if r.file is not None:
        path = DEMO_REGISTER_FILE if r.file == "demo" else (source.parent / r.file)
        try:
            base = load_register(path)
        except RegisterFileError as e:
            raise doc.error(("register", "file"), str(e)) from None
    register = RegisterIn(residents=[*base.residents, *r.residents], devices=[*base.devices, *r.devices],
                          responders=[*base.responders, *r.responders])
    residents = {x.resident_id for x in register.residents}
    for i, d in enumerate(r.devices):
        if d.resident_id not in residents:
            raise doc.error(("register", "devices", i, "resident_id"), f"no resident {d.resident_id!r}")
    devices = {d.device_id for d in register.devices}
    kinds = AlarmRules.load().kinds
    for i, alarm in alarms:
        if alarm.device not in devices:
            raise doc.error(("timeline", i, "alarm", "device"), f"no device {alarm.device!r} in the "
                            f"register (known: {', '.join(sorted(devices)) or 'none'})")
        if alarm.kind not in kinds:
            raise doc.error(("timeline", i, "alarm", "kind"),
                            f"unknown alarm kind {alarm.kind!r}; known: {', '.join(sorted(kinds))}")
    return register


def _fleet(spec: Scenario, doc: LinedYaml, source: Path) -> Fleet:
    f = spec.fleet
    raw: dict[str, list[dict[str, Any]]] = {"stations": [], "hospitals": [], "units": []}
    if f.file is not None:
        path = DEMO_FLEET_FILE if f.file == "demo" else (source.parent / f.file)
        try:
            base = LinedYaml(path.read_text(encoding="utf-8"), str(path)).data or {}
        except OSError as e:
            raise doc.error(("fleet", "file"), f"cannot read {path}: {e.strerror}") from None
        for key in raw:
            raw[key] += list(base.get(key) or [])
    for key, items in (("stations", f.stations), ("hospitals", f.hospitals), ("units", f.units)):
        raw[key] += [m.model_dump(exclude_none=True) for m in items]
    stations = {s["id"] for s in raw["stations"]}
    for i, u in enumerate(f.units):
        if u.station not in stations:
            raise doc.error(("fleet", "units", i, "station"), f"no station {u.station!r}")
    try:
        return Fleet.from_dict(raw, str(source))
    except FleetError as e:
        raise doc.error(("fleet",), str(e)) from None


def _check_refs(spec: Scenario, doc: LinedYaml, plans: ResponsePlans, fleet: Fleet) -> None:
    units = {u.unit_id for u in fleet.units}

    def place(ref: PlaceRef, loc: tuple[str | int, ...]) -> None:
        if isinstance(ref, str) and ref not in spec.places:
            known = ", ".join(sorted(spec.places)) or "none defined"
            raise doc.error(loc, f"no place {ref!r} in places (known: {known})")

    for i, e in enumerate(spec.timeline):
        loc: tuple[str | int, ...] = ("timeline", i)
        if e.call is not None:
            if e.call.kind not in plans:
                raise doc.error((*loc, "call", "kind"),
                                f"unknown kind {e.call.kind!r}; known: {', '.join(plans.kinds)}")
            place(e.call.place, (*loc, "call", "place"))
        for key in ("road_closed", "road_reopened"):
            road = getattr(e, key)
            if road is not None:
                place(road.from_, (*loc, key, "from"))
                place(road.to, (*loc, key, "to"))
        for key in ("unit_out_of_service", "unit_back_in_service"):
            u = getattr(e, key)
            if u is not None and u.unit not in units:
                raise doc.error((*loc, key, "unit"), f"no unit {u.unit!r} in the fleet")
    tagged = {e.call.event for e in spec.timeline if e.call is not None} | {
        e.alarm.event for e in spec.timeline if e.alarm is not None}
    for i, exp in enumerate(spec.expect):
        if exp.event is None or exp.event in tagged:
            continue
        loc = ("expect", i, "event") if isinstance(doc.data.get("expect"), list) else ("expect", "event")
        raise doc.error(loc, f"no call of the timeline is about {exp.event!r}; "
                        f"events: {', '.join(sorted(t for t in tagged if t)) or 'none tagged'}")
    if spec.generate is not None:
        for kind in spec.generate.kinds:
            if kind not in plans:
                raise doc.error(("generate", "kinds", kind), f"unknown kind {kind!r}")
        for i, a in enumerate(spec.generate.areas):
            place(a.centre, ("generate", "areas", i, "centre"))
    for key in ("minutes", "transport_share"):
        for kind in getattr(spec.scene, key):
            if kind not in plans:
                raise doc.error(("scene", key, kind), f"unknown kind {kind!r}")
    if spec.city.demo is None:
        for key in ("osm_cache", "osm"):
            value = getattr(spec.city, key)
            if value is not None and not (Path(value) if Path(value).is_absolute()
                                          else doc_dir(doc) / value).exists():
                raise doc.error(("city", key), f"no such file {value}")


def doc_dir(doc: LinedYaml) -> Path:
    return Path(doc.source).parent


def builtin(name: str) -> Path:
    """The path of a built-in scenario by name (taxi_rollover, district_day, ...)."""
    path = BUILTIN_DIR / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml")))
        raise ScenarioError(name, None, "scenario", f"no built-in scenario {name!r}; known: {known}")
    return path


__all__ = ["LoadedScenario", "Scenario", "ScenarioError", "builtin", "load"]
