"""Who leads the joint response today: the roster's lead, unless that centre went dark and the
lead passed to the next centre in the rotation that still has a live console.

A centre is dark when none of its consoles has been live for the settings' time; the edge
watches the consoles and asks, the decision here is made on the log, so two watchers asking at
once hand over once (the second finds the lead already moved)."""

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from dispatch import events as ev
from dispatch.agencies import Agency
from dispatch.roster import RosterDay, RosterRules

if TYPE_CHECKING:
    from dispatch.state import DispatchState


@dataclass(frozen=True)
class HandOverLead:
    """Sent by the edge's watch: `dark` has had no live console since `dark_since`; `live` are
    the centres with a console live now."""

    dark: str
    dark_since: datetime
    live: frozenset[str]


def roster_for(state: "DispatchState", rules: RosterRules, day: date) -> RosterDay:
    """The day as planned (or by the default rotation), with any hand-over of its lead."""
    planned = state.roster_plans.get(day) or rules.default_day(day)
    handed = state.lead_handovers.get(day)
    if handed is None:
        return planned
    return replace(planned, lead=Agency(handed.to_agency), lead_reason=handed.reason)


def today(state: "DispatchState", rules: RosterRules, now: datetime) -> RosterDay:
    return roster_for(state, rules, rules.duty_day(now))


def hand_over(state: "DispatchState", cmd: HandOverLead, rules: RosterRules, now: datetime) -> list[ev.Event]:
    day = today(state, rules, now)
    if day.lead != cmd.dark or cmd.dark in cmd.live:
        return []  # the lead moved already, or the centre is back: nothing to do
    order = list(rules.lead_order)
    start = order.index(day.lead) if day.lead in order else -1
    successor = next((a for a in order[start + 1:] + order[:start + 1]
                      if a != day.lead and a in cmd.live), None)
    if successor is None:
        return []  # no centre in the rotation has a live console: nobody to hand it to
    convener = day.duties[successor].convener
    dark_s = (now - cmd.dark_since).total_seconds()
    took = f"{dark_s / 60:.0f} min" if dark_s >= 120 else f"{dark_s:.0f} s"
    reason = (f"no {day.lead} console live for {took} (since "
              f"{cmd.dark_since.astimezone(rules.tz):%H:%M}); {successor} is next in the rotation")
    return [ev.LeadHandedOver(at=now, day=day.day.isoformat(), from_agency=str(day.lead),
                              to_agency=str(successor), reason=reason, dark_since=cmd.dark_since,
                              told=convener.name, channel=convener.channel)]


def fold(state: "DispatchState", seq: int, e: ev.Event) -> None:
    match e:
        case ev.LeadHandedOver():
            state.lead_handovers[date.fromisoformat(e.day)] = e
        case ev.RosterDayPlanned():
            state.lead_handovers.pop(date.fromisoformat(e.day), None)  # a plan made after it decides
