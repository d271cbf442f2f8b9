"""The call generator: a day of calls drawn from rates by kind, area and hour, deterministic from
the file's seed. Each drawn event brings its first call to the hotline of the agency that leads
its plan, sometimes calls to the plan's other agencies and a repeat call from the same caller."""

import math
import random

from dispatch.plans import ResponsePlans
from routing.network import metres_per_degree
from scenarios.model import CallSpec, GenerateSpec, Place, Scenario, TimelineEntry

# Who the public rings first for each kind of trouble (otherwise the plan's first agency).
FIRST_HOTLINE = {"fire": "119", "drowning": "110", "person_trapped": "110", "fall_from_height": "120",
                 "traffic_crash_injury": "110", "natural_disaster": "110"}


def generate_calls(gen: GenerateSpec, spec: Scenario, plans: ResponsePlans) -> list[TimelineEntry]:
    rng = random.Random(gen.seed)
    kinds, kind_w = list(gen.kinds), list(gen.kinds.values())
    hour_w = gen.by_hour or [1.0] * 24
    start_hour = spec.start.hour
    out: list[TimelineEntry] = []
    drawn = 0  # events so far

    def more() -> bool:
        return len(out) < gen.calls if gen.calls is not None else drawn < (gen.events or 0)

    while more():
        n, drawn = drawn, drawn + 1
        # the hour by its rate (hours counted from the start's clock hour), uniform within it
        hours = max(1, math.ceil(gen.hours))
        weights = [hour_w[(start_hour + h) % 24] for h in range(hours)]
        hour = rng.choices(range(hours), weights)[0]
        at = min(gen.hours * 3600 - 1, (hour + rng.random()) * 3600)
        kind = rng.choices(kinds, kind_w)[0]
        area = rng.choices(gen.areas, [a.weight for a in gen.areas])[0]
        lon, lat = _point_in(rng, area.centre if isinstance(area.centre, Place) else spec.places[area.centre],
                             area.radius_m)
        agencies = [str(a) for a in plans[kind].agencies]
        first = FIRST_HOTLINE.get(kind, agencies[0])
        if first not in agencies:
            first = agencies[0]
        event = f"G{n + 1:05d}"
        caller = f"+86 13{rng.randrange(10**8, 10**9)}"
        place = Place(lon=round(lon, 6), lat=round(lat, 6))
        out.append(_call(at, first, kind, place, caller, event, "first call"))
        for other in agencies:
            if other != first and other != "122" and rng.random() < gen.other_hotlines_share:
                # a bystander rings another hotline a little later, standing a little elsewhere
                olon, olat = _point_in(rng, place, 60.0)
                out.append(_call(at + rng.uniform(20, 240), other, kind,
                                 Place(lon=round(olon, 6), lat=round(olat, 6)),
                                 f"+86 13{rng.randrange(10**8, 10**9)}", event, "another witness"))
        if rng.random() < gen.repeat_share:
            out.append(_call(at + rng.uniform(180, 720), first, kind, place, caller, event,
                             "calling again: where are you?"))
    # with `calls`, the last event's later witnesses may go past the count: they are left out
    return out[:gen.calls] if gen.calls is not None else out


def _call(at: float, hotline: str, kind: str, place: Place, caller: str, event: str,
          text: str) -> TimelineEntry:
    call = CallSpec(hotline=hotline, kind=kind, place=place, caller=caller,  # type: ignore[arg-type]
                    text=text, event=event)
    return TimelineEntry(at=round(at, 1), call=call)


def _point_in(rng: random.Random, centre: Place, radius_m: float) -> tuple[float, float]:
    r = radius_m * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    mx, my = metres_per_degree(centre.lat)
    return centre.lon + r * math.cos(a) / mx, centre.lat + r * math.sin(a) / my
