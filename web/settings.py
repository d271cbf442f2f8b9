"""The one typed settings object, read from the environment (prefix JD_, plus REDIS_URL)."""

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from coordination.posts import NamedPlace, PostRules
from dispatch.alarm_rules import DEFAULT_ALARM_RULES_FILE
from dispatch.fleet import DEMO_FLEET_FILE
from dispatch.plans import DEFAULT_PLANS_FILE
from dispatch.roster import DEMO_ROSTER_FILE
from greenwave.corridor import CorridorSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JD_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "JD_REDIS_URL"),
        description="An external Redis; when unset, `serve` starts its own under data_dir.",
    )
    redis_port: int | None = Field(None, description="Port for the private Redis (default: any free).")
    time_zone: str = Field(
        "Asia/Shanghai", description="The centre's time zone (an IANA name): every time the console "
        "shows and the API's human text tells is local to it.")
    namespace: str = Field("jd", description="Key prefix: live, or a training run's own space.")
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8000
    plans_file: Path = DEFAULT_PLANS_FILE
    merge_radius_m: float = 300.0
    merge_window_min: float = 15.0
    merge_person_radius_m: float = Field(
        100.0, description="Calls about one person (plan `person: true`) merge only this close...")
    merge_person_window_min: float = Field(
        10.0, description="...and this soon, unless caller or address match.")
    city_seed: int = 7
    city_scale: float = 1.0
    osm_cache: Path | None = Field(None, description="A network cached by `jointdispatch import-osm`.")
    fleet_file: Path = DEMO_FLEET_FILE
    roster_file: Path = DEMO_ROSTER_FILE
    ack_deadline_s: float = Field(30.0, description="How long a summoned convener has to answer.")
    stale_after_s: float = Field(60.0, description="A unit silent this long is flagged stale.")
    check_in_minutes: float = Field(
        20.0, gt=0, description="An agency on scene that has not checked in for this long is overdue: "
        "its screens ring until someone checks in.")
    signal_controller_url: str | None = Field(
        None, description="The 122 centre's signal controller service; unset: the simulated one.")
    max_body_bytes: int = 64 * 1024
    # a batch of positions may carry the API's maximum of 10,000 fixes (about 1.4 MB)
    max_batch_body_bytes: int = 2 * 1024 * 1024
    rate_limit: str = Field("50/second", description="Each API key's default rate (`limits` notation).")
    cap_sender: str = Field("jointdispatch.example", description="CAP <sender>: this centre's name.")
    exercise: bool = Field(False, description="A training run: CAP alerts say status Exercise.")
    webhook_backoff_s: list[float] = Field(
        [2.0, 10.0, 60.0, 300.0, 1800.0], description="Waits before each retry; then dead letter.")
    demo_supervisor: bool = Field(
        True, description="`serve` makes a supervisor key for the demo map; false in production.")
    keys_namespace: str | None = Field(
        None, description="Where API keys live, when not in `namespace` (a training run uses live keys).")
    demo_key: str | None = Field(None, description="Use this as the demo supervisor key.")
    webhook_timeout_s: float = Field(5.0, description="How long one webhook attempt may take, all of it.")
    webhook_allow: list[str] = Field(
        [], description="Webhook targets: networks (10.20.0.0/16) internal addresses may be in, host names "
        "(hooks.example.org, .example.org) targets must have; empty: any public address, nothing internal.")
    snap_max_m: float = 500.0
    emergency_bus_lanes: bool = Field(
        True, description="Emergency vehicles on a task may use bus lanes and bus-only roads (the law "
        "in China; set false where it is not allowed).")
    green_lead_s: float = Field(15.0, description="Green wave: green this long before the unit's ETA.")
    green_clearance_s: float = Field(5.0, description="Green wave: and this long after it.")
    green_max_hold_s: float = Field(60.0, description="Green wave: no signal held longer than this.")
    green_drift_s: float = Field(
        5.0, description="Green wave: re-send a signal's window when the unit's ETA moved this much.")
    demo_motion: bool | None = Field(
        None, description="Drive the fleet about the city through the position ingest (demo and "
        "training); unset: on for the demo city, off on an imported network with real units.")
    demo_pace: float = Field(1.0, gt=0, description="Demo drive: 2.0 drives twice as fast as real time.")

    mqtt_url: str | None = Field(
        None, description="The MQTT broker home gateways publish to (mqtt://user:password@host:port); "
        "unset: `serve` starts its own mosquitto under data_dir; empty: no MQTT intake.")
    mqtt_port: int | None = Field(None, description="Port of the private mosquitto (default 1883 if free).")
    alarm_rules_file: Path = DEFAULT_ALARM_RULES_FILE
    register_file: Path | None = Field(
        None, description="A home-alarm register imported at every start (the demo city: the demo one).")
    device_watch_s: float = Field(30.0, gt=0, description="How often devices are looked over.")
    lease_ttl_s: float = Field(
        3.0, gt=0, description="Work done once across app nodes (escalation clock, webhooks, the "
        "demo drive) is held under a lease this long; a dead node's work moves on within 1.33x this.")
    lead_dark_after_s: float = Field(
        120.0, gt=0, description="The day's lead centre with no live console this long hands the "
        "lead to the next centre in the rotation that has one.")
    node_id: str | None = Field(None, description="This app node's name in leases (default host:pid).")

    post_agencies: list[str] = Field(
        ["120", "119"], description="Agencies the staging-post planner places units for (MEXCLP).")
    post_target_s: dict[str, float] = Field(
        {"120": 480.0, "119": 240.0, "110": 300.0}, description="Staging posts: the target drive time "
        "per agency a cell counts as covered within (NFPA 1710: 240 s first engine, 480 s ALS; set "
        "local ones).")
    post_busy: dict[str, float] = Field(
        {"120": 0.3, "119": 0.1, "110": 0.3}, description="Staging posts: the share of time a unit of "
        "each agency is busy (MEXCLP's q).")
    post_coverage_goal: float = Field(
        0.9, gt=0, le=1, description="Staging posts: the expected coverage a plan reaches with the "
        "fewest units.")
    post_places: list[dict[str, str | float]] = Field(
        [{"name": "River beach", "lon": 119.945, "lat": 30.049},
         {"name": "Night market", "lon": 119.968, "lat": 30.056},
         {"name": "Industrial park", "lon": 119.985, "lat": 30.036}],
        description="Named places and road points a post may stand at, besides stations and the "
        "busiest cells' road points: [{name, lon, lat}].")
    post_capacity: int = Field(2, ge=1, description="Units one staging post holds.")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not a time zone the system knows (e.g. Asia/Shanghai)") from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def corridor_settings(self) -> CorridorSettings:
        return CorridorSettings(lead_s=self.green_lead_s, clearance_s=self.green_clearance_s,
                                max_hold_s=self.green_max_hold_s, drift_threshold_s=self.green_drift_s)

    def post_rules(self) -> PostRules:
        places = tuple(NamedPlace(str(p["name"]), float(p["lon"]), float(p["lat"])) for p in self.post_places)
        return PostRules(agencies=tuple(self.post_agencies), target_s=dict(self.post_target_s),
                         busy=dict(self.post_busy), coverage_goal=self.post_coverage_goal, places=places,
                         post_capacity=self.post_capacity, snap_max_m=self.snap_max_m)

    @property
    def drives_demo_fleet(self) -> bool:
        return self.osm_cache is None if self.demo_motion is None else self.demo_motion
