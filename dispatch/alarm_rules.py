"""Home alarm rules as data, like the response plans: per alarm kind, the steps that follow
(call-backs, a welfare check, an incident for the hotlines), when the rule acts at all, and the
programme's thresholds (night window, dedup window, low battery, heartbeat grace)."""

from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from dispatch.agencies import Agency

DEFAULT_ALARM_RULES_FILE = Path(__file__).with_name("alarm_rules.yaml")
CHECKS = ("call_resident", "call_contact", "welfare_check")
OUTCOMES = ("all_well", "needs_help", "no_answer")
# What a community responder at the home may report as the outcome of their task: the resident
# is fine, needs an ambulance, nobody answers the door, needs help (the rule's own incident step),
# or something else in words (which advances nothing: the dispatcher reads it).
RESPONDER_OUTCOMES = ("all_well", "needs_120", "no_answer", "needs_help", "other")


class AlarmRuleError(ValueError):
    """An alarm-rules file that cannot be used; the message names the kind and field."""


@dataclass(frozen=True)
class AlarmStep:
    check: str | None = None  # one of CHECKS; None: the incident step
    deadline_s: float = 0.0
    hotline: str | None = None
    incident_kind: str | None = None

    @property
    def is_incident(self) -> bool:
        return self.check is None


@dataclass(frozen=True)
class AlarmRule:
    kind: str
    steps: tuple[AlarmStep, ...]
    tell_responder: bool = False
    when_night: bool = False
    when_dementia: bool = False
    outside: tuple[float, float] | None = None
    no_motion_hours: float | None = None
    label_en: str = ""
    label_zh: str = ""

    def incident_step(self) -> int:
        return next(i for i, s in enumerate(self.steps) if s.is_incident)


@dataclass(frozen=True)
class AlarmRules:
    kinds: dict[str, AlarmRule]
    timezone: str = "Asia/Shanghai"
    night_from: time = time(22, 0)
    night_to: time = time(6, 0)
    dedup_window_s: float = 600.0
    battery_low_percent: float = 20.0
    heartbeat_grace: float = 2.0
    needs_120_kind: str = "medical_emergency"  # the 120 call a responder's "needs 120" makes

    def __contains__(self, kind: object) -> bool:
        return kind in self.kinds

    def __getitem__(self, kind: str) -> AlarmRule:
        return self.kinds[kind]

    def is_night(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone)).time()
        if self.night_from <= self.night_to:
            return self.night_from <= local < self.night_to
        return local >= self.night_from or local < self.night_to

    @classmethod
    def load(
        cls, path: Path | str = DEFAULT_ALARM_RULES_FILE, plan_kinds: frozenset[str] | None = None
    ) -> "AlarmRules":
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
        return cls.from_dict(raw, source=str(path), plan_kinds=plan_kinds)

    @classmethod
    def from_dict(
        cls, raw: object, source: str = "<alarm rules>", plan_kinds: frozenset[str] | None = None
    ) -> "AlarmRules":
        """`plan_kinds`: the response plans' kinds, so an incident step naming no plan is refused
        at start-up rather than when a resident needs it."""
        if not isinstance(raw, dict) or not isinstance(raw.get("kinds"), dict):
            raise AlarmRuleError(f"{source}: expected a top-level 'kinds' mapping")
        kinds = {
            str(k): _rule(str(k), body, f"{source}: kinds.{k}", plan_kinds)
            for k, body in raw["kinds"].items()
        }
        night = raw.get("night") or {}
        try:
            tz = str(raw.get("timezone", "Asia/Shanghai"))
            ZoneInfo(tz)
            night_from = time.fromisoformat(str(night.get("from", "22:00")))
            night_to = time.fromisoformat(str(night.get("to", "06:00")))
        except (ValueError, KeyError) as e:
            raise AlarmRuleError(f"{source}: timezone/night: {e}") from None
        needs_120 = str(raw.get("needs_120_kind", "medical_emergency"))
        if plan_kinds is not None and needs_120 not in plan_kinds:
            raise AlarmRuleError(f"{source}: needs_120_kind: {needs_120!r} is not a response plan kind")
        return cls(
            kinds=kinds,
            needs_120_kind=needs_120,
            timezone=tz,
            night_from=night_from,
            night_to=night_to,
            dedup_window_s=float(raw.get("dedup_window_s", 600)),
            battery_low_percent=float(raw.get("battery_low_percent", 20)),
            heartbeat_grace=float(raw.get("heartbeat_grace", 2.0)),
        )


def _rule(kind: str, body: object, where: str, plan_kinds: frozenset[str] | None) -> AlarmRule:
    if not isinstance(body, dict) or not isinstance(body.get("steps"), list) or not body["steps"]:
        raise AlarmRuleError(f"{where}.steps: a list of at least one step is needed")
    steps: list[AlarmStep] = []
    for i, raw_step in enumerate(body["steps"]):
        at = f"{where}.steps[{i}]"
        if not isinstance(raw_step, dict):
            raise AlarmRuleError(f"{at}: expected a mapping")
        if "incident" in raw_step:
            inc = raw_step["incident"] or {}
            hotline, incident_kind = str(inc.get("hotline", "")), str(inc.get("kind", ""))
            try:
                Agency(hotline)
            except ValueError:
                raise AlarmRuleError(f"{at}.incident.hotline: unknown hotline {hotline!r}") from None
            if plan_kinds is not None and incident_kind not in plan_kinds:
                raise AlarmRuleError(f"{at}.incident.kind: {incident_kind!r} is not a response plan kind")
            steps.append(AlarmStep(hotline=hotline, incident_kind=incident_kind))
        else:
            check = raw_step.get("check")
            if check not in CHECKS:
                raise AlarmRuleError(f"{at}.check: one of {', '.join(CHECKS)}, or an incident step")
            deadline = raw_step.get("deadline_s")
            if not isinstance(deadline, int | float) or deadline <= 0:
                raise AlarmRuleError(f"{at}.deadline_s: a check step needs a positive deadline")
            steps.append(AlarmStep(check=str(check), deadline_s=float(deadline)))
    if not any(s.is_incident for s in steps):
        raise AlarmRuleError(f"{where}.steps: the last resort must be an incident step")
    when = body.get("when") or {}
    outside = when.get("outside")
    if outside is not None and (not isinstance(outside, list) or len(outside) != 2):
        raise AlarmRuleError(f"{where}.when.outside: [low, high]")
    label = body.get("label") or {}
    hours = body.get("no_motion_hours")
    return AlarmRule(
        kind=kind,
        steps=tuple(steps),
        tell_responder=bool(body.get("tell_responder", False)),
        when_night=bool(when.get("night", False)),
        when_dementia=bool(when.get("dementia", False)),
        outside=(float(outside[0]), float(outside[1])) if outside else None,
        no_motion_hours=float(hours) if hours is not None else None,
        label_en=label.get("en", kind.replace("_", " ")),
        label_zh=label.get("zh", ""),
    )
