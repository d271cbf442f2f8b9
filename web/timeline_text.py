"""The words of an incident's timeline: each entry the log keeps, told as a dispatcher reads it.

The fold keeps the event and the facts of its moment (dispatch.incidents.TimelineEntry); the
prose is the screen's, here, so a wording or a second language never touches the log."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from dispatch import events as ev
from dispatch.state import TimelineEntry


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def _clock(moment: datetime, zone: tzinfo) -> str:
    """A moment as the centre's wall clock shows it (15:16, never the UTC 07:16)."""
    return moment.astimezone(zone).strftime("%H:%M")


def _arriving(f: dict[str, Any], seconds: float | None) -> str:
    # the line's own moment plus the ETA: the time the dispatcher compares with the wall clock
    if seconds is None:
        return ""
    return f", arriving {_clock(f['_at'] + timedelta(seconds=seconds), f['_zone'])}"


def _but(reason: str) -> str:
    return f": {reason}" if reason else ""


def _assigned(e: ev.UnitAssigned, f: dict[str, Any]) -> str:
    eta = f", ETA {_minutes(e.eta_s)} min{_arriving(f, e.eta_s)}" if e.eta_s is not None else ""
    advice = "as recommended" if e.recommended else f"dispatcher's choice: {e.reason}"
    return f"{f['call_sign']} ({e.agency} {f['unit_kind']}) assigned{eta}, {advice}"


def _routed(e: ev.UnitRouted, f: dict[str, Any]) -> str:
    where = f"to {e.hospital_id}" if e.hospital_id else "to the scene"
    return (f"{f['call_sign']} {'re-routed' if f['again'] else 'routed'} {where}, "
            f"{e.length_m / 1000:.1f} km, ETA {_minutes(e.eta_s)} min{_arriving(f, e.eta_s)}: {e.reason}")


def _merged(e: ev.IncidentsMerged, f: dict[str, Any]) -> str:
    if f["side"] == "target":
        return f"{e.source_id} merged in by {e.by}: {e.reason}"
    return f"merged into {e.target_id} by {e.by}: {e.reason}"


RESPONDER_SAID = {"accepted": "accepted the task", "arrived": "arrived at the home",
                  "all_well": "resident fine", "needs_120": "resident needs 120 (ambulance)",
                  "no_answer": "no answer at the door", "needs_help": "resident needs help",
                  "other": "reports"}


def _responder_reported(e: ev.ResponderReported, f: dict[str, Any]) -> str:
    said = RESPONDER_SAID.get(e.outcome if e.report == "outcome" else e.report, e.report)
    note = f": {e.note}" if e.note else ""
    return f"community responder {f.get('responder_name', e.responder_id)} ({e.task_id}): {said}{note}"


# One line per event type, in English; each takes the event and the facts the fold kept.
ENGLISH: dict[type[ev.Event], Callable[[Any, dict[str, Any]], str]] = {
    ev.IncidentOpened: lambda e, f: f"opened from call {e.call_id} ({f['hotline']} {e.kind})",
    ev.CallMerged: lambda e, f: f"call {e.call_id} ({f['hotline']}) joined: {e.reason}",
    ev.TaskCreated: lambda e, f: f"task for {e.agency}: {e.reason}",
    ev.IncidentReclassified: lambda e, f: f"now {e.kind}, severity {e.severity}: {e.reason}",
    ev.CallSplit: lambda e, f: f"call {e.call_id} split out by {e.by}: {e.reason}",
    ev.IncidentsMerged: _merged,
    ev.IncidentStatusChanged: lambda e, f: f"status {e.status} by {e.by}{_but(e.reason)}",
    ev.TaskStatusChanged: lambda e, f: f"{e.agency} task {e.status} by {e.by}",
    ev.IncidentNoteAdded: lambda e, f: f"note by {e.by} ({e.agency}): {e.text}",
    ev.CheckInRecorded: lambda e, f: f"{e.agency} checked in on scene by {e.by}",
    ev.UnitAssigned: _assigned,
    # a unit stood down says why (the dispatcher's reason), as the incident's own status does
    ev.UnitStatusChanged: lambda e, f: f"{f['call_sign']} {e.status}{_but(e.reason)}",
    ev.UnitRerouted: lambda e, f: (
        f"{f['call_sign']} re-routed, ETA {_minutes(e.eta_s)} min{_arriving(f, e.eta_s)}: {e.reason}"),
    ev.UnitRouted: _routed,
    ev.GreenWaveRequested: lambda e, f: (
        f"green wave requested for {f['call_sign']}: {len(e.signals)} signals, "
        f"ETA {_minutes(e.eta_green_s)} min{_arriving(f, e.eta_green_s)} instead of {_minutes(e.eta_s)}"),
    ev.GreenWaveAnswered: lambda e, f: "122 signals: " + ", ".join(
        f"{n} {status}" for status, n in f["changed"].items()),
    ev.GreenWaveRetimed: lambda e, f: (
        f"green wave of {f['call_sign']} retimed: {len(e.signals)} windows moved with its ETA"),
    ev.GreenWaveReleased: lambda e, f: f"green wave of {f['call_sign']} released: {e.reason}",
    ev.WhistleBlown: lambda e, f: (
        f"whistle {e.whistle_id} blown by {e.by} ({e.by_agency})"
        + (f" (override: {e.override_reason})" if e.override_reason else "")),
    ev.ConvenerSummoned: lambda e, f: (
        f"{e.agency} {'escalated to' if f['escalated'] else 'summoned'} {e.level} {e.name}"),
    ev.SummonsAcknowledged: lambda e, f: (
        f"{e.agency} acknowledged by {e.name} at {_clock(f['_at'], f['_zone'])}"
        + (" (late)" if e.late else "")),
    ev.SummonsUnanswered: lambda e, f: f"{e.agency}: nobody answered the whistle",
    ev.WhistleEnded: lambda e, f: f"whistle {e.whistle_id} ended: {e.reason}",
    ev.MutualAidRequested: lambda e, f: (
        f"{e.from_agency} asks {e.to_agency} for mutual aid ({e.by}): {e.reason}"),
    ev.MutualAidAnswered: lambda e, f: (
        f"mutual aid {e.request_id} {'accepted' if e.accepted else 'declined'} by {e.by}"),
    ev.AlarmEscalated: lambda e, f: (
        f"home alarm {e.alarm_id} ({str(f.get('alarm_kind', 'alarm')).replace('_', ' ')}) "
        f"made call {e.call_id}: {e.reason}"),
    ev.ResponderReported: _responder_reported,
}


# The same lines in Chinese. Words the log keeps as codes (statuses, unit kinds, levels) are
# told in Chinese; free text people wrote (reasons, notes, names) stays as they wrote it.
ZH_WORDS = {
    "available": "可用", "dispatched": "已派", "en_route": "出动途中", "on_scene": "到场",
    "transporting": "转运中", "at_hospital": "在医院", "returning": "返回", "out_of_service": "停用",
    "open": "待处置", "closed": "已结束", "merged": "已合并", "pending": "待派", "done": "完成",
    "cancelled": "已取消", "convener": "召集人", "backup": "备岗", "chief": "负责人",
    "granted": "已放行", "queued": "排队", "refused": "被拒", "released": "已释放", "requested": "已请求",
    "patrol_car": "巡逻车", "traffic_police_car": "交警车", "fire_engine": "消防车", "ladder": "云梯车",
    "rescue_truck": "抢险救援车", "ambulance": "救护车",
}


def _zh(word: object) -> str:
    return ZH_WORDS.get(str(word), str(word))


def _zh_but(reason: str) -> str:
    return f"：{reason}" if reason else ""


def _zh_arriving(f: dict[str, Any], seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"，约 {_clock(f['_at'] + timedelta(seconds=seconds), f['_zone'])} 到达"


def _zh_assigned(e: ev.UnitAssigned, f: dict[str, Any]) -> str:
    eta = f"，预计 {_minutes(e.eta_s)} 分钟{_zh_arriving(f, e.eta_s)}" if e.eta_s is not None else ""
    advice = "按推荐" if e.recommended else f"调度员选择：{e.reason}"
    return f"{f['call_sign']}（{e.agency} {_zh(f['unit_kind'])}）已派{eta}，{advice}"


def _zh_routed(e: ev.UnitRouted, f: dict[str, Any]) -> str:
    where = f"前往 {e.hospital_id}" if e.hospital_id else "前往现场"
    return (f"{f['call_sign']} {'重新规划路线' if f['again'] else '已规划路线'}，{where}，"
            f"{e.length_m / 1000:.1f} 公里，预计 {_minutes(e.eta_s)} 分钟"
            f"{_zh_arriving(f, e.eta_s)}：{e.reason}")


def _zh_merged(e: ev.IncidentsMerged, f: dict[str, Any]) -> str:
    if f["side"] == "target":
        return f"{e.source_id} 由 {e.by} 并入：{e.reason}"
    return f"由 {e.by} 并入 {e.target_id}：{e.reason}"


ZH_RESPONDER_SAID = {"accepted": "已接受任务", "arrived": "已到达老人家中", "all_well": "老人平安",
                     "needs_120": "需要120（救护车）", "no_answer": "无人应门", "needs_help": "需要帮助",
                     "other": "报告"}
ZH_ALARM_KINDS = {"smoke": "烟感报警", "fall": "跌倒报警", "sos": "一键呼救", "no_motion": "长时间无活动",
                  "door_open": "夜间门磁打开", "heart_rate": "心率异常"}


def _zh_responder_reported(e: ev.ResponderReported, f: dict[str, Any]) -> str:
    said = ZH_RESPONDER_SAID.get(e.outcome if e.report == "outcome" else e.report, e.report)
    return f"社区响应人员 {f.get('responder_name', e.responder_id)}（{e.task_id}）：{said}{_zh_but(e.note)}"


CHINESE: dict[type[ev.Event], Callable[[Any, dict[str, Any]], str]] = {
    ev.IncidentOpened: lambda e, f: f"由来电 {e.call_id} 立案（{f['hotline']} {e.kind}）",
    ev.CallMerged: lambda e, f: f"来电 {e.call_id}（{f['hotline']}）并入：{e.reason}",
    ev.TaskCreated: lambda e, f: f"{e.agency} 任务：{e.reason}",
    ev.IncidentReclassified: lambda e, f: f"改为 {e.kind}，严重程度 {e.severity}：{e.reason}",
    ev.CallSplit: lambda e, f: f"来电 {e.call_id} 由 {e.by} 拆出：{e.reason}",
    ev.IncidentsMerged: _zh_merged,
    ev.IncidentStatusChanged: lambda e, f: f"状态 {_zh(e.status)}（{e.by}）{_zh_but(e.reason)}",
    ev.TaskStatusChanged: lambda e, f: f"{e.agency} 任务 {_zh(e.status)}（{e.by}）",
    ev.IncidentNoteAdded: lambda e, f: f"{e.by}（{e.agency}）备注：{e.text}",
    ev.CheckInRecorded: lambda e, f: f"{e.agency} 现场报到（{e.by}）",
    ev.UnitAssigned: _zh_assigned,
    ev.UnitStatusChanged: lambda e, f: f"{f['call_sign']} {_zh(e.status)}{_zh_but(e.reason)}",
    ev.UnitRerouted: lambda e, f: (
        f"{f['call_sign']} 重新规划路线，预计 {_minutes(e.eta_s)} 分钟"
        f"{_zh_arriving(f, e.eta_s)}：{e.reason}"),
    ev.UnitRouted: _zh_routed,
    ev.GreenWaveRequested: lambda e, f: (
        f"为 {f['call_sign']} 申请绿波：{len(e.signals)} 个信号灯，预计 {_minutes(e.eta_green_s)} 分钟"
        f"{_zh_arriving(f, e.eta_green_s)}（原 {_minutes(e.eta_s)} 分钟）"),
    ev.GreenWaveAnswered: lambda e, f: "122 信号：" + "，".join(
        f"{n} 个{_zh(status)}" for status, n in f["changed"].items()),
    ev.GreenWaveRetimed: lambda e, f: f"{f['call_sign']} 的绿波随预计到达调整：{len(e.signals)} 个时段",
    ev.GreenWaveReleased: lambda e, f: f"{f['call_sign']} 的绿波已释放：{e.reason}",
    ev.WhistleBlown: lambda e, f: (
        f"{e.by}（{e.by_agency}）吹哨 {e.whistle_id}"
        + (f"（特批：{e.override_reason}）" if e.override_reason else "")),
    ev.ConvenerSummoned: lambda e, f: (
        f"{e.agency} {'升级至' if f['escalated'] else '召集'}{_zh(e.level)} {e.name}"),
    ev.SummonsAcknowledged: lambda e, f: (
        f"{e.agency} 已由 {e.name} 于 {_clock(f['_at'], f['_zone'])} 确认" + ("（迟到）" if e.late else "")),
    ev.SummonsUnanswered: lambda e, f: f"{e.agency}：无人响应吹哨",
    ev.WhistleEnded: lambda e, f: f"吹哨 {e.whistle_id} 结束：{e.reason}",
    ev.MutualAidRequested: lambda e, f: f"{e.from_agency} 请求 {e.to_agency} 支援（{e.by}）：{e.reason}",
    ev.MutualAidAnswered: lambda e, f: (
        f"支援请求 {e.request_id} 已由 {e.by}{'接受' if e.accepted else '拒绝'}"),
    ev.AlarmEscalated: lambda e, f: (
        f"居家报警 {e.alarm_id}（{ZH_ALARM_KINDS.get(str(f.get('alarm_kind')), f.get('alarm_kind'))}）"
        f"发起来电 {e.call_id}：{e.reason}"),
    ev.ResponderReported: _zh_responder_reported,
}
LANGUAGES = {"en": ENGLISH, "zh": CHINESE}


def describe(entry: TimelineEntry, zone: tzinfo = UTC, lang: str = "en") -> str:
    """The line in `lang` (en, zh), any clock time in it told in `zone` (the centre's time zone)."""
    tell = LANGUAGES[lang].get(type(entry.event)) or ENGLISH.get(type(entry.event))
    if tell is None:
        return entry.type.replace("_", " ")
    return tell(entry.event, {**entry.facts, "_at": entry.at, "_zone": zone})
