"""Home alarms in the core: the register, dedup, the rules' steps and their deadlines, merging
with a neighbour's call, maintenance tasks."""

from datetime import UTC, datetime, timedelta

import pytest

from coordination.register_file import DEMO_REGISTER_FILE, load_register
from dispatch import events as ev
from dispatch.decide import ReceiveCall, Rules, decide
from dispatch.device_health import CloseMaintenanceTask, OpenMaintenanceTask
from dispatch.home_alarms import AnswerAlarmStep, CheckAlarmDeadlines, RaiseDeviceAlarm, ReportResponderTask
from dispatch.plans import ResponsePlans
from dispatch.rejection import Rejected
from dispatch.state import DispatchState, apply

RULES = Rules(plans=ResponsePlans.load())
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: day
NIGHT = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 00:00 in Shanghai


def run(state: DispatchState, command, now: datetime = T0) -> list[ev.Event]:
    events = decide(state, command, RULES, now)
    for e in events:
        apply(state, e)
    return events


def registered() -> DispatchState:
    state = DispatchState()
    run(state, load_register(DEMO_REGISTER_FILE).command("demo"))
    return state


def types(events: list[ev.Event]) -> list[str]:
    return [e.type for e in events]


def test_register_import_is_in_the_log_and_a_second_import_adds_nothing() -> None:
    state = DispatchState()
    first = run(state, load_register(DEMO_REGISTER_FILE).command("demo"))
    assert types(first).count("resident_registered") == 2
    assert types(first).count("device_registered") == 6
    assert types(first).count("community_responder_registered") == 2
    assert run(state, load_register(DEMO_REGISTER_FILE).command("demo")) == []
    assert state.homes.residents["R-002"].has_dementia


def test_a_device_naming_an_unknown_resident_is_refused_with_its_place() -> None:
    state = DispatchState()
    cmd = load_register(DEMO_REGISTER_FILE).command("demo")
    bad = type(cmd)(residents=(), devices=cmd.devices[:1], responders=(), source="t")
    with pytest.raises(Rejected) as refused:
        run(state, bad)
    assert refused.value.field == "devices[0].resident_id"


def test_smoke_opens_one_incident_for_119_and_120_and_tells_the_nearest_responder() -> None:
    state = registered()
    out = run(state, RaiseDeviceAlarm("SM-R001", "GW-JB01", "smoke", T0, message_id="m1"))
    assert types(out)[:2] == ["device_alarm_raised", "responder_tasked"]
    assert "incident_opened" in types(out) and types(out)[-1] == "alarm_escalated"
    alarm = next(iter(state.alarms.values()))
    inc = state.incidents[alarm.incident_id]
    assert inc.kind == "home_fire_alarm" and set(inc.tasks) == {"119", "120"}
    task = state.responder_tasks[alarm.responder_task_ids[0]]
    assert task.responder_id == "CR-JB" and "covers the home's area" in task.reason


def test_a_repeating_or_flapping_device_makes_one_alarm_with_a_count() -> None:
    state = registered()
    for i in range(5):
        run(state, RaiseDeviceAlarm("SM-R001", "GW-JB01", "smoke", T0 + timedelta(seconds=20 * i),
                                    message_id=f"m{i}"))
    run(state, RaiseDeviceAlarm("SM-R001", "GW-JB01", "smoke", T0, message_id="m4"))  # redelivered
    assert len(state.alarms) == 1 and len(state.incidents) == 1
    assert next(iter(state.alarms.values())).count == 5


def test_an_alarm_from_the_wrong_gateway_or_unknown_device_is_refused() -> None:
    state = registered()
    with pytest.raises(Rejected) as wrong:
        run(state, RaiseDeviceAlarm("SM-R001", "GW-XQ01", "smoke", T0))
    assert (wrong.value.code, wrong.value.field) == (403, "gateway_id")
    with pytest.raises(Rejected) as unknown:
        run(state, RaiseDeviceAlarm("NOPE", None, "smoke", T0))
    assert unknown.value.field == "device_id"


def test_a_fall_answered_all_well_by_the_resident_makes_no_incident() -> None:
    state = registered()
    run(state, RaiseDeviceAlarm("WB-R001", "GW-JB01", "fall", T0))
    alarm = next(iter(state.alarms.values()))
    assert alarm.current_step.action == "call_resident"
    run(state, AnswerAlarmStep(alarm.alarm_id, "all_well", "operator 7"), T0 + timedelta(seconds=30))
    assert alarm.status == "resolved" and alarm.outcome == "all_well" and not state.incidents


def test_a_fall_unanswered_goes_to_the_contact_then_to_120_on_the_old_deadlines() -> None:
    state = registered()
    run(state, RaiseDeviceAlarm("WB-R001", "GW-JB01", "fall", T0))
    alarm = next(iter(state.alarms.values()))
    assert run(state, CheckAlarmDeadlines(), T0 + timedelta(seconds=59)) == []
    out = run(state, CheckAlarmDeadlines(), T0 + timedelta(seconds=75))  # a late tick
    assert types(out) == ["alarm_step_timed_out", "alarm_step_started"]
    assert alarm.current_step.action == "call_contact" and "王小明" in alarm.current_step.who
    assert alarm.current_step.deadline == T0 + timedelta(seconds=180)  # from the old deadline
    out = run(state, CheckAlarmDeadlines(), T0 + timedelta(seconds=181))
    assert "incident_opened" in types(out)
    assert set(state.incidents[alarm.incident_id].tasks) == {"120"}


def test_needs_help_skips_to_the_incident_step() -> None:
    state = registered()
    run(state, RaiseDeviceAlarm("SOS-R002", "GW-XQ01", "sos", T0))
    alarm = next(iter(state.alarms.values()))
    run(state, AnswerAlarmStep(alarm.alarm_id, "needs_help", "operator 7", "cannot get up"))
    assert alarm.status == "escalated"
    assert state.incidents[alarm.incident_id].kind == "home_sos"


def test_a_restart_rebuilds_the_step_and_resumes_its_deadline() -> None:
    state = registered()
    log: list[ev.Event] = []
    for cmd in (load_register(DEMO_REGISTER_FILE).command("demo"),):
        log += decide(DispatchState(), cmd, RULES, T0)
    state = DispatchState()
    for e in log:
        apply(state, e)
    log += run(state, RaiseDeviceAlarm("WB-R001", "GW-JB01", "fall", T0))
    rebuilt = DispatchState()
    for e in log:
        apply(rebuilt, e)
    out = run(rebuilt, CheckAlarmDeadlines(), T0 + timedelta(seconds=61))
    assert types(out) == ["alarm_step_timed_out", "alarm_step_started"]


def test_a_door_open_at_night_for_dementia_calls_110_but_not_by_day_or_without_dementia() -> None:
    state = registered()
    run(state, RaiseDeviceAlarm("DC-R002", "GW-XQ01", "door_open", T0))
    assert not state.incidents and next(iter(state.alarms.values())).outcome == "not_acted"
    run(state, RaiseDeviceAlarm("DC-R002", "GW-XQ01", "door_open", NIGHT))
    [inc] = state.incidents.values()
    assert inc.kind == "dementia_wandering" and set(inc.tasks) == {"110"}


def test_heart_rate_out_of_range_calls_120_and_in_range_is_recorded_only() -> None:
    state = registered()
    run(state, RaiseDeviceAlarm("WB-R001", "GW-JB01", "heart_rate", T0, value=72))
    assert not state.incidents
    run(state, RaiseDeviceAlarm("WB-R001", "GW-JB01", "heart_rate", T0 + timedelta(hours=1), value=180))
    [inc] = state.incidents.values()
    assert inc.kind == "heart_rate_alarm"


def test_no_motion_sends_a_welfare_check_whose_silence_calls_110() -> None:
    state = registered()
    run(state, RaiseDeviceAlarm("MS-R001", None, "no_motion", T0, value=13, via="watch"))
    alarm = next(iter(state.alarms.values()))
    assert alarm.current_step.action == "welfare_check" and alarm.current_step.responder_id == "CR-JB"
    task_id = alarm.responder_task_ids[0]
    run(state, ReportResponderTask(task_id, "CR-JB", "accepted"))
    with pytest.raises(Rejected):
        run(state, ReportResponderTask(task_id, "CR-XQ", "arrived"))
    run(state, CheckAlarmDeadlines(), T0 + timedelta(seconds=1801))
    [inc] = state.incidents.values()
    assert inc.kind == "welfare_concern" and set(inc.tasks) == {"110"}


def test_a_neighbours_119_call_about_the_fire_joins_the_alarms_incident_with_the_reason() -> None:
    state = registered()
    run(state, RaiseDeviceAlarm("SM-R001", "GW-JB01", "smoke", T0))
    alarm = next(iter(state.alarms.values()))
    out = run(state, ReceiveCall("119", T0 + timedelta(minutes=3), "fire", text="smoke from next door",
                                 lon=119.9607, lat=30.0509), T0 + timedelta(minutes=3))
    merged = next(e for e in out if isinstance(e, ev.CallMerged))
    assert merged.incident_id == alarm.incident_id and merged.reason
    assert len(state.incidents) == 1


def test_maintenance_tasks_are_one_per_device_and_reason_and_never_incidents() -> None:
    state = registered()
    run(state, OpenMaintenanceTask("SM-R001", "low_battery", "battery at 12%"))
    assert run(state, OpenMaintenanceTask("SM-R001", "low_battery", "battery at 11%")) == []
    run(state, OpenMaintenanceTask("SM-R001", "silent", "not heard for 15 min"))
    assert len(state.maintenance_open) == 2 and not state.incidents
    run(state, CloseMaintenanceTask("SM-R001", "silent", "heard again", "watch"))
    assert list(state.maintenance_open) == [("SM-R001", "low_battery")]


def welfare_check(state: DispatchState) -> tuple[str, str]:
    """A motion sensor quiet for 13 hours: the alarm and the grid worker's task."""
    run(state, RaiseDeviceAlarm("MS-R001", None, "no_motion", T0, value=13, via="watch"))
    alarm = next(iter(state.alarms.values()))
    return alarm.alarm_id, alarm.responder_task_ids[0]


def test_a_responder_finding_the_resident_needs_120_calls_120_from_the_welfare_check() -> None:
    state = registered()
    alarm_id, task_id = welfare_check(state)
    run(state, ReportResponderTask(task_id, "CR-JB", "accepted"), T0 + timedelta(minutes=2))
    run(state, ReportResponderTask(task_id, "CR-JB", "arrived"), T0 + timedelta(minutes=9))
    out = run(state, ReportResponderTask(task_id, "CR-JB", "outcome", "needs_120", "on the floor, confused"),
              T0 + timedelta(minutes=10))
    assert types(out)[:2] == ["responder_reported", "alarm_step_answered"]
    alarm = state.alarms[alarm_id]
    assert alarm.status == "escalated" and alarm.steps[0].outcome == "needs_help"
    inc = state.incidents[alarm.incident_id]
    assert inc.kind == "medical_emergency" and set(inc.tasks) == {"120"}  # not the rule's 110 step
    assert "on the floor, confused" in state.calls[alarm.call_id].text
    task = state.responder_tasks[task_id]
    assert (task.accepted_at, task.arrived_at, task.outcome) == (
        T0 + timedelta(minutes=2), T0 + timedelta(minutes=9), "needs_120")


def test_no_answer_at_the_door_goes_on_to_110_at_once_and_resident_fine_resolves() -> None:
    state = registered()
    alarm_id, task_id = welfare_check(state)
    run(state, ReportResponderTask(task_id, "CR-JB", "arrived"))
    run(state, ReportResponderTask(task_id, "CR-JB", "outcome", "no_answer"))
    [inc] = state.incidents.values()
    assert inc.kind == "welfare_concern" and state.alarms[alarm_id].incident_id == inc.incident_id
    # the report reaches the incident's timeline once the alarm is in one: a later note shows
    fine = registered()
    alarm_id, task_id = welfare_check(fine)
    run(fine, ReportResponderTask(task_id, "CR-JB", "outcome", "all_well", "was asleep"))
    assert fine.alarms[alarm_id].status == "resolved" and not fine.incidents


def test_needs_120_after_the_alarm_went_to_110_adds_a_120_task_to_its_incident() -> None:
    state = registered()
    alarm_id, task_id = welfare_check(state)
    run(state, CheckAlarmDeadlines(), T0 + timedelta(seconds=1801))  # nobody reported: 110
    inc = state.incidents[state.alarms[alarm_id].incident_id]
    assert set(inc.tasks) == {"110"}
    out = run(state, ReportResponderTask(task_id, "CR-JB", "outcome", "needs_120", "breathing badly"),
              T0 + timedelta(seconds=1900))
    assert types(out) == ["responder_reported", "task_created"]
    assert set(inc.tasks) == {"110", "120"} and len(state.incidents) == 1
    assert [t.type for t in inc.timeline][-2:] == ["responder_reported", "task_created"]
    assert inc.timeline[-2].facts["responder_name"].startswith("江滨")


def test_a_smoke_alarms_incident_hears_every_report_and_needs_120_adds_nothing_twice() -> None:
    state = registered()
    run(state, RaiseDeviceAlarm("SM-R001", "GW-JB01", "smoke", T0))
    alarm = next(iter(state.alarms.values()))
    task_id = alarm.responder_task_ids[0]
    for report in ("accepted", "arrived"):
        run(state, ReportResponderTask(task_id, "CR-JB", report))
    assert run(state, ReportResponderTask(task_id, "CR-JB", "accepted")) == []  # a phone's retry
    out = run(state, ReportResponderTask(task_id, "CR-JB", "outcome", "needs_120", "smoke in the stairs"))
    assert types(out) == ["responder_reported"]  # 120 has its task already
    inc = state.incidents[alarm.incident_id]
    assert [t.type for t in inc.timeline].count("responder_reported") == 3


def test_a_responders_bad_or_late_report_is_refused_naming_the_field() -> None:
    state = registered()
    _alarm_id, task_id = welfare_check(state)
    for cmd, code, field_name in (
        (ReportResponderTask(task_id, "CR-JB", "outcome", "other"), 422, "note"),
        (ReportResponderTask(task_id, "CR-JB", "outcome", "bored"), 422, "outcome"),
        (ReportResponderTask(task_id, "CR-JB", "arrived", "all_well"), 422, "outcome"),
        (ReportResponderTask(task_id, "CR-XQ", "accepted"), 403, "task_id"),
        (ReportResponderTask("RT-nope", "CR-JB", "accepted"), 404, "task_id"),
    ):
        with pytest.raises(Rejected) as refused:
            run(state, cmd)
        assert (refused.value.code, refused.value.field) == (code, field_name)
    out = run(state, ReportResponderTask(task_id, "CR-JB", "outcome", "other", "neighbour says she is away"))
    assert types(out) == ["responder_reported"]  # words only: the check still waits
    assert state.alarms[_alarm_id].current_step is not None
    with pytest.raises(Rejected) as again:
        run(state, ReportResponderTask(task_id, "CR-JB", "outcome", "all_well"))
    assert (again.value.code, again.value.field) == (409, "task_id")
