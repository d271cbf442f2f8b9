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
