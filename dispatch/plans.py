"""Response plans as data: which agencies an incident kind calls on, and whether it may be whistled."""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dispatch.agencies import Agency

DEFAULT_PLANS_FILE = Path(__file__).with_name("response_plans.yaml")


class PlanError(ValueError):
    """A response-plan file that cannot be used; the message names the kind and field."""


@dataclass(frozen=True)
class ResponsePlan:
    kind: str
    agencies: tuple[Agency, ...]
    whistle: bool
    severity: int
    groups: frozenset[str]
    units: dict[Agency, tuple[str, ...]] = field(default_factory=dict)
    label_en: str = ""
    label_zh: str = ""
    person: bool = False  # about one person (a patient at home), not a scene many people see


@dataclass(frozen=True)
class ResponsePlans:
    plans: dict[str, ResponsePlan]

    def __contains__(self, kind: object) -> bool:
        return kind in self.plans

    def __getitem__(self, kind: str) -> ResponsePlan:
        return self.plans[kind]

    @property
    def kinds(self) -> list[str]:
        return sorted(self.plans)

    def compatible(self, a: str, b: str) -> set[str]:
        """The groups two kinds share; empty means the calls cannot be about one event."""
        if a == b:
            return {a}
        return set(self.plans[a].groups & self.plans[b].groups)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_PLANS_FILE) -> "ResponsePlans":
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: object, source: str = "<plans>") -> "ResponsePlans":
        if not isinstance(raw, dict) or not isinstance(raw.get("plans"), dict):
            raise PlanError(f"{source}: expected a top-level 'plans' mapping")
        plans: dict[str, ResponsePlan] = {}
        for kind, body in raw["plans"].items():
            where = f"{source}: plans.{kind}"
            if not isinstance(body, dict):
                raise PlanError(f"{where}: expected a mapping")
            try:
                agencies = tuple(Agency(str(a)) for a in body.get("agencies", []))
            except ValueError as e:
                raise PlanError(f"{where}.agencies: {e}") from None
            if not agencies:
                raise PlanError(f"{where}.agencies: at least one agency is needed")
            severity = body.get("severity", 2)
            if not isinstance(severity, int) or not 1 <= severity <= 5:
                raise PlanError(f"{where}.severity: must be an integer 1..5")
            units = {
                Agency(str(a)): tuple(kinds) for a, kinds in (body.get("units") or {}).items()
            }
            label = body.get("label") or {}
            plans[str(kind)] = ResponsePlan(
                kind=str(kind),
                agencies=agencies,
                whistle=bool(body.get("whistle", False)),
                severity=severity,
                groups=frozenset(body.get("groups") or []),
                units=units,
                label_en=label.get("en", str(kind).replace("_", " ")),
                label_zh=label.get("zh", ""),
                person=bool(body.get("person", False)),
            )
        return cls(plans)
