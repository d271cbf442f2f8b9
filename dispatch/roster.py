"""The whistle roster: for each duty day, the lead agency and each agency's convener on duty.

A default rotation fills every day nobody planned; a supervisor's plan for a day overrides it.
A duty day starts at the shift change hour local time, so 03:00 belongs to the day before."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import yaml

from dispatch.agencies import Agency

DEMO_ROSTER_FILE = Path(__file__).with_name("demo_roster.yaml")


class RosterError(ValueError):
    """A roster file or plan that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Person:
    name: str
    channel: str  # how the summons reaches them: phone number, radio id, app handle


@dataclass(frozen=True)
class Duty:
    convener: Person
    backup: Person
    chief: Person

    def at_level(self, level: str) -> Person:
        return {"convener": self.convener, "backup": self.backup, "chief": self.chief}[level]


ESCALATION = ("convener", "backup", "chief")


@dataclass(frozen=True)
class RosterDay:
    day: date
    lead: Agency
    duties: dict[Agency, Duty]
    planned_by: str | None = None  # None: from the default rotation
    lead_reason: str | None = None  # why the lead is not the planned one (the lead centre went dark)


@dataclass(frozen=True)
class RosterRules:
    utc_offset_min: int
    shift_change_hour: int
    lead_order: tuple[Agency, ...]
    epoch: date
    conveners: dict[Agency, tuple[Person, ...]]
    chiefs: dict[Agency, Person]

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(minutes=self.utc_offset_min))

    def duty_day(self, moment: datetime) -> date:
        local = moment.astimezone(self.tz)
        return (local - timedelta(hours=self.shift_change_hour)).date()

    def default_day(self, day: date) -> RosterDay:
        n = (day - self.epoch).days
        duties = {}
        for agency, people in self.conveners.items():
            duties[agency] = Duty(convener=people[n % len(people)],
                                  backup=people[(n + 1) % len(people)], chief=self.chiefs[agency])
        return RosterDay(day=day, lead=self.lead_order[n % len(self.lead_order)], duties=duties)

    @classmethod
    def load(cls, path: Path | str = DEMO_ROSTER_FILE) -> "RosterRules":
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
        src = str(path)
        try:
            lead_order = tuple(Agency(str(a)) for a in raw["lead_order"])
        except (KeyError, ValueError) as e:
            raise RosterError(f"{src}: lead_order: {e}") from None
        bad = [a for a in lead_order if a not in (Agency.POLICE, Agency.FIRE, Agency.MEDICAL)]
        if bad or not lead_order:
            raise RosterError(f"{src}: lead_order: the lead rotates among 110, 119 and 120")
        conveners: dict[Agency, tuple[Person, ...]] = {}
        chiefs: dict[Agency, Person] = {}
        for code, body in (raw.get("agencies") or {}).items():
            where = f"{src}: agencies.{code}"
            try:
                agency = Agency(str(code))
            except ValueError:
                raise RosterError(f"{where}: unknown agency") from None
            people = tuple(Person(p["name"], str(p.get("channel", ""))) for p in body.get("conveners", []))
            if len(people) < 2:
                raise RosterError(f"{where}.conveners: at least two, so every day has a backup")
            if "chief" not in body:
                raise RosterError(f"{where}.chief: required")
            conveners[agency] = people
            chiefs[agency] = Person(body["chief"]["name"], str(body["chief"].get("channel", "")))
        missing = {Agency.POLICE, Agency.FIRE, Agency.MEDICAL, Agency.TRAFFIC} - set(conveners)
        if missing:
            raise RosterError(f"{src}: agencies: missing {', '.join(sorted(missing))}")
        return cls(utc_offset_min=int(raw.get("utc_offset_min", 480)),
                   shift_change_hour=int(raw.get("shift_change_hour", 8)), lead_order=lead_order,
                   epoch=date.fromisoformat(str(raw.get("epoch", "2026-01-01"))),
                   conveners=conveners, chiefs=chiefs)
