"""Scenario files: the built-in ones load; bad ones are rejected naming the line and the field."""

from pathlib import Path

import pytest

import scenarios
from scenarios.model import BUILTIN_DIR
from scenarios.source import ScenarioError
from tests.scenarios.conftest import SMALL

BUILTINS = sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def test_every_builtin_scenario_loads() -> None:
    assert {"taxi_rollover", "river_summer_weekend", "night_market", "industrial_park_year_end",
            "elderly_night_fire", "district_day"} <= set(BUILTINS)
    for name in BUILTINS:
        s = scenarios.load(scenarios.builtin(name))
        assert s.calls, name
        assert s.fleet.units, name


def test_the_district_week_is_7000_calls_over_seven_days() -> None:
    s = scenarios.load(scenarios.builtin("district_week"))
    assert len(s.calls) == 7000 and len(s.fleet.units) == 150
    assert 160 * 3600 < max(e.at for e in s.timeline) <= 169 * 3600  # a last repeat call may run on
    assert s.spec.traffic.by_hour  # rush hours


def test_district_day_is_about_a_thousand_calls_and_150_units() -> None:
    s = scenarios.load(scenarios.builtin("district_day"))
    assert 950 <= len(s.calls) <= 1050
    assert len(s.fleet.units) == 150


def test_generated_calls_are_the_same_every_time() -> None:
    a = scenarios.load(scenarios.builtin("district_day"))
    b = scenarios.load(scenarios.builtin("district_day"))
    assert [(e.at, e.call) for e in a.calls] == [(e.at, e.call) for e in b.calls]


def _load(tmp_path: Path, text: str) -> scenarios.LoadedScenario:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return scenarios.load(path)


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    count = 0
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            count += 1
            if count == nth:
                return i
    raise AssertionError(needle)


@pytest.mark.parametrize(("old", "new", "field", "needle", "words"), [
    ("kind: medical_emergency", "kind: heart_trouble", "timeline[5].call.kind", "heart_trouble",
     "unknown kind"),
    ('hotline: "119"', 'hotline: "999"', "timeline[2].call.hotline", '"999"', "110"),
    ("place: home", "place: school", "timeline[5].call.place", "school", "no place 'school'"),
    ("unit: A-2", "unit: A-9", "timeline[4].unit_out_of_service.unit", "A-9", "no unit"),
    ("{at: \"0:10:00\", unit_out", "{at: \"ten past\", unit_out", "timeline[4].at", "ten past", "H:MM:SS"),
    ("traffic: {level: 0.6}", "traffic: {level: 1.6}", "traffic.level", "level: 1.6", "0.95"),
    ("    - {id: R, station: FS,", "    - {id: R, station: FS9,", "fleet.units[2].station", "FS9",
     "no station"),
    ("scene: {default_min: 15,", "scene: {default_min: 15, colour: red,", "scene.colour", "colour",
     "not a known"),
    ("start: 2026-05-01T09:00:00+08:00", "start: 2026-05-01T09:00:00", "start", "start:", "timezone"),
])
def test_bad_value_is_named_by_line_and_field(tmp_path: Path, old: str, new: str, field: str,
                                              needle: str, words: str) -> None:
    assert old in SMALL
    text = SMALL.replace(old, new, 1)
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, text)
    assert err.value.field == field
    assert err.value.line == _line_of(text, needle)
    assert words in err.value.message
    assert f"line {err.value.line}: {field}" in str(err.value)


def test_missing_field_names_its_parent_line(tmp_path: Path) -> None:
    text = SMALL.replace('kind: medical_emergency, place: home', 'place: home')
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, text)
    assert err.value.field == "timeline[5].call.kind"
    assert err.value.message == "required"
    assert err.value.line == _line_of(text, "0:12:00")


def test_timeline_entry_must_be_one_thing(tmp_path: Path) -> None:
    text = SMALL.replace("  - {at: \"0:10:00\", unit_out_of_service: {unit: A-2, minutes: 20}}",
                         "  - {at: \"0:10:00\"}")
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, text)
    assert err.value.field == "timeline[4]"
    assert err.value.line == _line_of(text, "0:10:00")
    assert "each timeline entry is one of" in err.value.message


def test_broken_yaml_names_its_line(tmp_path: Path) -> None:
    text = SMALL.replace("traffic: {level: 0.6}", "traffic: {level: 0.6")
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, text)
    assert err.value.field == "(file)"
    assert err.value.line is not None and err.value.line >= _line_of(text, "traffic:")


def test_unknown_builtin_lists_the_known_ones() -> None:
    with pytest.raises(ScenarioError, match="taxi_rollover"):
        scenarios.builtin("no_such_day")


def test_clock_times_are_times_of_day_and_two_part_offsets_are_refused(tmp_path: Path) -> None:
    # the scenario starts at 09:00 local: 23:40 is 14 h 40 min in, 08:30 is the next morning
    text = SMALL.replace('  - {at: "0:12:00", call:', '  - {clock: "23:40", call:').replace(
        '  - {at: "0:10:00", unit_out_of_service:', '  - {clock: "08:30:00", unit_out_of_service:')
    s = _load(tmp_path, text)
    ats = sorted(e.at for e in s.timeline)
    assert ats[-2:] == [14 * 3600 + 40 * 60, 23.5 * 3600]
    night = next(e for e in s.timeline if e.call is not None and e.call.event == "heart")
    assert s.at(night.at).isoformat() == "2026-05-01T23:40:00+08:00"

    ambiguous = SMALL.replace('{at: "0:12:00", call:', '{at: "23:40", call:')
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, ambiguous)
    assert err.value.field == "timeline[5].at" and 'clock: "23:40"' in err.value.message
    assert err.value.line == _line_of(ambiguous, '"23:40"')

    both = SMALL.replace('{at: "0:12:00", call:', '{at: "0:12:00", clock: "23:40", call:')
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, both)
    assert "`at` (after the start) or `clock`" in err.value.message


def test_a_misspelt_key_is_named_with_what_it_was_meant_to_be(tmp_path: Path) -> None:
    text = SMALL.replace('{at: "0:12:00", call: {hotline: "120"', '{at: "0:12:00", call: {hotlnie: "120"')
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, text)
    assert err.value.field == "timeline[5].call.hotlnie"
    assert "did you mean `hotline`?" in err.value.message
    assert err.value.line == _line_of(text, "hotlnie")


def test_a_place_off_the_citys_roads_is_refused_before_the_run_with_line_and_distance(tmp_path: Path) -> None:
    from scenarios.world import City

    text = SMALL.replace("home: {lon: 119.950, lat: 30.060}", "home: {lon: 120.400, lat: 30.060}")
    scenario = _load(tmp_path, text)  # the file alone is fine: only the city can say
    with pytest.raises(ScenarioError) as err:
        City.of(scenario)
    assert err.value.field == "places.home" and err.value.line == _line_of(text, "home: {lon: 120.400")
    assert "not on this city's roads" in err.value.message and " m from the nearest road" in err.value.message


def test_several_expectations_each_about_its_own_event(tmp_path: Path) -> None:
    text = SMALL.replace('''expect:
  whistle_within_s: 60
  on_scene_within_s: {"120": 1200}''', '''expect:
  - {event: crash, whistle_within_s: 60}
  - {event: heart, on_scene_within_s: {"120": 1200}}''')
    s = _load(tmp_path, text)
    assert [x.event for x in s.spec.expect] == ["crash", "heart"]
    wrong = text.replace("{event: heart,", "{event: hart,")
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, wrong)
    assert err.value.field == "expect[1].event" and err.value.line == _line_of(wrong, "event: hart")


def test_generate_can_count_calls_exactly_or_events(tmp_path: Path) -> None:
    base = SMALL.replace("expect:", """generate:
  seed: 4
  calls: 200
  hours: 6
  kinds: {traffic_crash: 3, fire: 1, medical_emergency: 2}
  areas: [{centre: crash, radius_m: 800}]
expect:""")
    s = _load(tmp_path, base)
    generated = [e for e in s.calls if e.call is not None and (e.call.event or "").startswith("G")]
    assert len(generated) == 200  # calls, exactly, whatever the witnesses and repeats
    events = _load(tmp_path, base.replace("calls: 200", "events: 100"))
    tagged = {e.call.event for e in events.calls
              if e.call is not None and (e.call.event or "").startswith("G")}
    assert len(tagged) == 100
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, base.replace("calls: 200", "calls: 200\n  events: 100"))
    assert "one of the two" in err.value.message
