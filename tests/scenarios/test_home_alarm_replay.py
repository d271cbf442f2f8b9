"""Home alarms in a replay: a scenario's register and its devices' alarms go through the same
commands as the live edges; the smoke alarm opens the 119+120 incident a neighbour's call then
joins, the responder's "needs 120" reaches it, unanswered call-backs go on at their deadlines, an
answered one resolves; the KPI report gives alarm -> verified -> dispatched -> on scene."""

from pathlib import Path

import pytest

import scenarios
from dispatch import events as ev
from scenarios.model import LoadedScenario, ScenarioError
from scenarios.replay import Replay, compare
from scenarios.report import write_report
from scenarios.world import City

HOMES = """\
name: homes_night
title: A smoke alarm, an SOS nobody answers, a fall answered
start: 2026-05-01T02:00:00+08:00
seed: 4
city: {demo: {seed: 7, scale: 0.05}}
dispatcher: {intake_s: 30, dispatch_s: 20, whistle_s: 10}
fleet:
  stations:
    - {id: FS, agency: "119", lon: 119.955, lat: 30.047}
    - {id: AS, agency: "120", lon: 119.957, lat: 30.046}
    - {id: PS, agency: "110", lon: 119.956, lat: 30.048}
  hospitals:
    - {id: H, name: Town hospital, lon: 119.960, lat: 30.050, takes: [trauma, cardiac, general]}
  units:
    - {id: E, station: FS, kind: fire_engine, crew: 5}
    - {id: A, station: AS, kind: ambulance, count: 2, crew: 3}
    - {id: P, station: PS, kind: patrol_car}
scene: {default_min: 10}
register: {file: demo}
places:
  stairwell: {lon: 119.9606, lat: 30.0509}
timeline:
  - at: 60
    alarm:
      device: SM-R001
      kind: smoke
      event: flat_fire
      responder: {accept_s: 30, arrive_s: 240, outcome: needs_120, outcome_after_s: 30,
                  note: "out on the street, coughing"}
  - {at: 80, alarm: {device: SM-R001, kind: smoke, event: flat_fire}}
  - {at: 180, call: {hotline: "119", kind: fire, place: stairwell, text: smoke on the stairs,
                     event: flat_fire}}
  - {at: "0:40:00", alarm: {device: SOS-R002, kind: sos, event: sos}}
  - {at: "1:20:00", alarm: {device: WB-R001, kind: fall, event: fall,
                            answers: [{after_s: 25, outcome: all_well}]}}
expect:
  event: flat_fire
  on_scene_within_s: {"119": 900}
"""


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> LoadedScenario:
    path = tmp_path_factory.mktemp("homes") / "homes.yaml"
    path.write_text(HOMES, encoding="utf-8")
    return scenarios.load(path)


async def test_alarms_in_a_replay_become_incidents_and_their_times_are_reported(
        homes: LoadedScenario, small_city: City, tmp_path: Path) -> None:
    result = await Replay(homes, "joint_green_wave", small_city).run()
    log = [r.event for r in result.records]
    raised = [e for e in log if isinstance(e, ev.DeviceAlarmRaised)]
    assert [e.device_id for e in raised] == ["SM-R001", "SOS-R002", "WB-R001"]
    fire = next(e for e in log if isinstance(e, ev.AlarmEscalated) and e.alarm_id == raised[0].alarm_id)
    joined = next(e for e in log if isinstance(e, ev.CallMerged))
    assert joined.incident_id == fire.incident_id  # the neighbour's 119 call joined the alarm's
    opened = next(e for e in log if isinstance(e, ev.IncidentOpened) and e.incident_id == fire.incident_id)
    assert opened.kind == "home_fire_alarm"
    reports = [e for e in log if isinstance(e, ev.ResponderReported)]
    assert [r.report for r in reports] == ["accepted", "arrived", "outcome"]
    assert reports[-1].outcome == "needs_120"

    alarms = {a["kind"]: a for a in result.kpis["alarms"]["per_alarm"]}
    smoke, sos, fall = alarms["smoke"], alarms["sos"], alarms["fall"]
    assert smoke["count"] == 2 and smoke["verified_s"] == 0.0  # the smoke rule checks nothing first
    assert smoke["dispatch_s"] is not None and smoke["on_scene_s"] is not None
    assert 0 < smoke["dispatch_s"] < smoke["on_scene_s"]
    assert smoke["responder_s"] == 240.0
    assert sos["checks"] == ["call_resident: timed_out", "call_contact: timed_out"]
    assert sos["verified_s"] == 180.0 and sos["outcome"] == "incident" and sos["on_scene_s"] > 180
    assert fall["verified_s"] == 25.0 and fall["outcome"] == "all_well" and fall["incident_id"] is None
    figures = result.kpis["alarms"]
    assert figures["count"] == 3 and figures["escalated"] == 2
    assert figures["alarm_to_on_scene_s"]["n"] == 2
    # the flat fire counts from the alarm's call, the first of its event
    [row] = [r for r in result.kpis["per_event"] if r["event"] == "flat_fire"]
    assert row["calls"] == 2 and row["first_call_s"] == 60.0
    files = write_report(homes, [result], tmp_path)
    page = files["html"].read_text(encoding="utf-8")
    assert "Home alarms: alarm, verification, dispatch, on scene" in page


async def test_working_alone_the_alarms_incident_reaches_120_by_phone(
        homes: LoadedScenario, small_city: City) -> None:
    alone, joint = await compare(homes, small_city, strategies=("alone", "joint"))
    smoke_alone = next(a for a in alone.kpis["alarms"]["per_alarm"] if a["kind"] == "smoke")
    assert smoke_alone["incident_id"] is not None
    transfers = [r.event for r in alone.records if isinstance(r.event, ev.CallReceived)
                 and "transferred_from" in r.event.details]
    assert any(c.hotline == "120" and c.details["event"] == "flat_fire" for c in transfers)
    assert joint.kpis["alarms"]["count"] == alone.kpis["alarms"]["count"] == 3


@pytest.mark.parametrize(("old", "new", "field", "words"), [
    ("device: SOS-R002", "device: SOS-R009", "timeline[3].alarm.device", "no device"),
    ("kind: sos, event", "kind: panic, event", "timeline[3].alarm.kind", "unknown alarm kind"),
    ("register: {file: demo}\n", "", "timeline[0].alarm", "needs a register"),
    ("outcome: needs_120, outcome_after_s: 30,\n                  note: \"out on the street, coughing\"",
     "outcome: other", "timeline[0].alarm.responder", "note"),
])
def test_a_bad_alarm_or_register_is_named_by_field(tmp_path: Path, old: str, new: str, field: str,
                                                   words: str) -> None:
    assert old in HOMES
    path = tmp_path / "bad.yaml"
    path.write_text(HOMES.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        scenarios.load(path)
    assert err.value.field == field and words in err.value.message, err.value

