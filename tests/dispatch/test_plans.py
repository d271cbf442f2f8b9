"""Response plans are data a district edits; bad files are refused with the field named."""

import pytest

from dispatch.plans import PlanError, ResponsePlans


def test_shipped_plans_cover_the_kinds_the_field_needs() -> None:
    plans = ResponsePlans.load()
    for kind in ["traffic_crash_injury", "person_trapped", "fire", "drowning", "fall_from_height",
                 "critical_transfer", "natural_disaster", "fight", "theft", "noise", "labour_dispute"]:
        assert kind in plans
    whistled = {k for k in plans.kinds if plans[k].whistle}
    assert {"drowning", "fall_from_height", "fire", "natural_disaster", "critical_transfer"} <= whistled
    assert "theft" not in whistled


def test_crash_and_casualty_are_compatible_burglary_and_fire_are_not() -> None:
    plans = ResponsePlans.load()
    assert plans.compatible("traffic_crash", "injured_person")
    assert not plans.compatible("burglary", "fire")


def test_a_district_plan_file_is_read(tmp_path) -> None:
    f = tmp_path / "plans.yaml"
    f.write_text("plans:\n  dam_breach:\n    agencies: ['110', '119']\n    whistle: true\n"
                 "    severity: 5\n    groups: [water]\n")
    plans = ResponsePlans.load(f)
    assert plans["dam_breach"].whistle and plans["dam_breach"].agencies == ("110", "119")


@pytest.mark.parametrize("body, field", [
    ("plans:\n  x:\n    agencies: ['999']\n", "plans.x.agencies"),
    ("plans:\n  x:\n    agencies: []\n", "plans.x.agencies"),
    ("plans:\n  x:\n    agencies: ['110']\n    severity: 9\n", "plans.x.severity"),
    ("nothing: here\n", "plans"),
])
def test_bad_plan_file_names_the_field(tmp_path, body, field) -> None:
    f = tmp_path / "plans.yaml"
    f.write_text(body)
    with pytest.raises(PlanError, match=field.replace(".", r"\.")):
        ResponsePlans.load(f)
