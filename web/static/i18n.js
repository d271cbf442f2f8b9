// The words of the console in English and Chinese: one dictionary per language, looked up by key;
// a key missing from a language falls back to the key itself, so a gap shows rather than breaks.
"use strict";

const I18N = {
  en: { title: "Joint dispatch", offline: "offline", online: "live", newCall: "New call",
        hotline: "Hotline", kind: "Kind", caller: "Caller", text: "Text", send: "Send call",
        clickMap: "Click the map to place the call.", openIncidents: "Open incidents",
        calls: "calls", tasks: "Tasks", timeline: "Timeline", lang: "中文", units: "units",
        recommend: "Recommended units", confirm: "Confirm and send", whistle: "Blow the whistle",
        override: "This kind does not qualify. Reason to blow anyway:", summons: "Whistle",
        ack: "Acknowledge", lead: "Lead", leadHandedOver: "handed over", leadNow: "The lead is now",
        told: "told:", hospital: "Hospital", route: "Route", eta: "ETA",
        acked: "acknowledged", waiting: "waiting", unanswered: "unanswered", min: "min",
        greenWaves: "Green waves", withWave: "with green wave", without: "without", saved: "saved",
        degraded: "Green wave degraded: signal controller not answering. Not covered:",
        refusedSig: "refused", revised: "revised", greenIn: "green in", s: "s", allKinds: "all kinds",
        allStatus: "any status", available: "available", busy: "busy", signals: "signals",
        closeRoad: "Close road here", slowRoad: "Slow to 20 km/h here", reopen: "Reopen", closed: "closed",
        slowed: "slowed to" },
  zh: { title: "联合调度", offline: "离线", online: "在线", newCall: "新警情",
        hotline: "热线", kind: "类型", caller: "来电号码", text: "描述", send: "提交",
        clickMap: "在地图上点击以定位。", openIncidents: "处置中的事件",
        calls: "次来电", tasks: "任务", timeline: "时间线", lang: "English", units: "车辆",
        recommend: "推荐车辆", confirm: "确认派车", whistle: "吹哨",
        override: "该类型不属于吹哨范围，请填写吹哨理由：", summons: "吹哨",
        ack: "确认", lead: "牵头单位", leadHandedOver: "已移交", leadNow: "现由牵头：",
        told: "已通知", hospital: "医院", route: "路线", eta: "预计到达",
        acked: "已确认", waiting: "等待中", unanswered: "无人应答", min: "分钟",
        greenWaves: "绿波", withWave: "绿波下", without: "无绿波", saved: "节省",
        degraded: "绿波降级：信号机无响应。未覆盖路口：", refusedSig: "被拒", revised: "已调整",
        greenIn: "绿灯倒计时", s: "秒", allKinds: "全部类型", allStatus: "全部状态",
        available: "空闲", busy: "出勤", signals: "个路口", closeRoad: "封闭此路段",
        slowRoad: "此路段限速 20 公里/小时", reopen: "恢复通行", closed: "封闭", slowed: "限速" },
};
let lang = localStorage.getItem("lang") || "en";
const t = (k) => (I18N[lang] && I18N[lang][k]) || k;
// The incident queue and its filters (issue 18).
Object.assign(I18N.en, {
  severity: "Severity", sev5: "critical", sev4: "serious", sev3: "urgent", sev2: "moderate", sev1: "minor",
  sinceFirstCall: "since first call", allAgencies: "Agencies", anyPhase: "any status",
  phaseWaiting: "waiting (incident open / unit free)", phaseResponding: "responding (sent, en route)",
  phaseOnScene: "on scene", phaseAfter: "after scene (transport, hospital, returning)",
  phaseOut: "out of service", noWhistle: "no whistle", canWhistle: "whistle possible",
  whistleBlown: "whistle", whistleAcked: "acknowledged", whistleUnanswered: "unanswered",
  localTime: "Local time", noIncidents: "No open incident matches the filters.",
  st_pending: "pending", st_dispatched: "dispatched", st_en_route: "en route", st_on_scene: "on scene",
  st_done: "done", st_cancelled: "cancelled", st_open: "open", st_closed: "closed", st_merged: "merged",
  st_available: "available", st_transporting: "transporting", st_at_hospital: "at hospital",
  st_returning: "returning", st_out_of_service: "out of service",
});
Object.assign(I18N.zh, {
  severity: "等级", sev5: "特别严重", sev4: "严重", sev3: "紧急", sev2: "一般", sev1: "轻微",
  sinceFirstCall: "距首次来电", allAgencies: "单位", anyPhase: "全部状态",
  phaseWaiting: "待处置（事件待派 / 车辆空闲）", phaseResponding: "出动中（已派、途中）",
  phaseOnScene: "到达现场", phaseAfter: "现场后（转运、在医院、返回）",
  phaseOut: "停用", noWhistle: "未吹哨", canWhistle: "可吹哨",
  whistleBlown: "吹哨", whistleAcked: "已确认", whistleUnanswered: "无人应答",
  localTime: "本地时间", noIncidents: "没有符合筛选条件的事件。",
  st_pending: "待派", st_dispatched: "已派", st_en_route: "途中", st_on_scene: "到场",
  st_done: "完成", st_cancelled: "取消", st_open: "待处置", st_closed: "已结案", st_merged: "已合并",
  st_available: "空闲", st_transporting: "转运中", st_at_hospital: "在医院",
  st_returning: "返回中", st_out_of_service: "停用",
});
// The unit status board.
Object.assign(I18N.en, {
  unitBoard: "Unit status board", shortcuts: "Keys on a row:", unit: "Unit", status: "Status",
  inStatus: "in status", incident: "Incident", stale: "stale", noUnits: "No unit matches the filters.",
  staleHint: "no position report for longer than the centre's limit",
  positionCol: "Position", setStatusCol: "Set status",
});
Object.assign(I18N.zh, {
  unitBoard: "车辆状态板", shortcuts: "行内快捷键：", unit: "车辆", status: "状态",
  inStatus: "持续", incident: "事件", stale: "失联", noUnits: "没有符合筛选条件的车辆。",
  staleHint: "超过时限未上报位置",
  positionCol: "位置", setStatusCol: "改状态",
});
// Errors, the key gate and the whistle panel.
Object.assign(I18N.en, {
  dismiss: "dismiss", refusedPrefix: "Refused:", keyTitle: "API key needed", keyLabel: "API key",
  keyUse: "Use this key", keyMissing: "This page needs an API key to show the dispatch picture.",
  keyRefused: "The server refused this page's API key", keyRevoked: "the key was revoked",
  keyWhatToDo: "Ask your supervisor for a valid key (`jointdispatch keys create`), paste it here, or open the address `jointdispatch serve` printed.",
  serverAway: "The server cannot be reached.",
  doNetwork: "Nothing was sent. Check the network or whether the server is running, then try again.",
  do403: "Your key may not do this (another agency's or role's action). Ask that agency's dispatcher, or a supervisor.",
  do409: "The situation changed before this arrived; the screen shows it now. Check it and try again.",
  do422: "A field is not right: correct it and send again.",
  do429: "Too many requests from this key: wait a moment and try again.",
  do503: "The event log is unreachable; nothing was recorded. Try again in a few seconds.",
  doOther: "Try again; if it keeps failing, tell the duty supervisor.",
  connLost: "Connection to the server lost: reconnecting…",
  connWhatToDo: "The screen is not live until it is back and nothing you do is confirmed. If this lasts more than a minute, check the network or phone the duty supervisor.",
  overrideReason: "Reason", yourName: "Your name", yourCentre: "Your centre", summoned: "Summoned",
  acknowledgedBy: "Acknowledged by", blownBy: "blown by", convener: "convener", backup: "backup", chief: "chief",
});
Object.assign(I18N.zh, {
  dismiss: "关闭", refusedPrefix: "被拒绝：", keyTitle: "需要 API 密钥", keyLabel: "API 密钥",
  keyUse: "使用此密钥", keyMissing: "本页面需要 API 密钥才能显示调度态势。",
  keyRefused: "服务器拒绝了本页面的 API 密钥", keyRevoked: "密钥已被吊销",
  keyWhatToDo: "请向值班主管索取有效密钥（jointdispatch keys create），粘贴到此处，或打开 jointdispatch serve 打印的地址。",
  serverAway: "无法连接服务器。",
  doNetwork: "未发送任何内容。请检查网络或服务器是否运行，然后重试。",
  do403: "您的密钥无权执行此操作（属于其他单位或角色）。请联系该单位调度员或值班主管。",
  do409: "情况在此操作到达前已变化，屏幕已更新。请核对后重试。",
  do422: "有字段不正确：请更正后重新提交。",
  do429: "此密钥请求过多：请稍候再试。",
  do503: "事件日志不可达，未记录任何内容。请几秒后重试。",
  doOther: "请重试；如持续失败，请告知值班主管。",
  connLost: "与服务器的连接已断开：正在重连…",
  connWhatToDo: "恢复前屏幕不是实时的，您的操作也不会被确认。如超过一分钟，请检查网络或致电值班主管。",
  overrideReason: "理由", yourName: "您的姓名", yourCentre: "您的单位", summoned: "被召集人",
  acknowledgedBy: "确认人", blownBy: "吹哨人", convener: "召集人", backup: "备岗", chief: "值班领导",
});
// The incident workspace.
Object.assign(I18N.en, {
  assignedUnits: "Units on it", destination: "Destination hospital", recommendedWord: "recommended",
  sentWord: "sent", notes: "Notes", addNote: "Add note", closeIncident: "Close incident",
  disposition: "Disposition", details: "Details",
  disp_resolved_on_scene: "resolved on scene", disp_transported: "patient transported",
  disp_false_alarm: "false alarm", disp_duplicate: "duplicate", disp_no_trace: "nothing found",
  disp_referred: "referred to another service",
});
Object.assign(I18N.zh, {
  assignedUnits: "出动车辆", destination: "目的医院", recommendedWord: "推荐", sentWord: "已派",
  notes: "处置记录", addNote: "添加记录", closeIncident: "结案", disposition: "处置结果", details: "说明",
  disp_resolved_on_scene: "现场处置完毕", disp_transported: "已送医", disp_false_alarm: "误报",
  disp_duplicate: "重复警情", disp_no_trace: "未发现情况", disp_referred: "转交其他部门",
});
// The workspace's actions: add / stand down units, check-in timers, split and merge.
Object.assign(I18N.en, {
  standDown: "Stand down", addUnit: "Add a unit", sendUnit: "Send", reason: "Reason",
  noFreeUnit: "No free unit of your agency to add.", checkIns: "Check-in timers",
  lastCheckIn: "Last check-in", sinceCheckIn: "Since", arrivedAt: "arrived",
  noCheckIns: "A timer starts for each agency when it arrives on scene.",
  splitCall: "Split a call off", callWord: "Call", splitOff: "Split off into a new incident",
  mergeIncident: "Merge another incident into this one", otherIncident: "Incident", mergeInto: "Merge in",
});
Object.assign(I18N.zh, {
  standDown: "撤回", addUnit: "增派车辆", sendUnit: "派出", reason: "理由",
  noFreeUnit: "本单位暂无可增派的空闲车辆。", checkIns: "现场报到计时",
  lastCheckIn: "上次报到", sinceCheckIn: "已过", arrivedAt: "到场",
  noCheckIns: "各单位到达现场后开始计时。",
  splitCall: "拆分来电", callWord: "来电", splitOff: "拆分为新事件",
  mergeIncident: "将其他事件并入本事件", otherIncident: "事件", mergeInto: "并入",
});
// The alarm banner (alerts.js). {name}-style slots are filled by tf().
Object.assign(I18N.en, {
  alarmWhistle: "Whistle {whistle} on {incident} ({kind}): {agency} {level} {name} has not acknowledged",
  alarmEscalated: ", escalated from {first}",
  alarmUnanswered: "Whistle {whistle} on {incident} ({kind}): nobody at {agency} acknowledged, even {level} {name}",
  doAck: "Acknowledge here if you are {agency}'s convener, or phone {name} ({channel}).",
  doPhone: "Phone {name} ({channel}) and ask them to acknowledge.",
  doUnanswered: "Phone {agency}'s duty chief directly: the summons is recorded as unanswered.",
  alarmCheckIn: "Check-in overdue: {agency} on scene at {incident} ({kind}) since {last}, no check-in",
  alarmCheckInBy: "Check-in overdue: {agency} at {incident} ({kind}), last check-in {last} by {by}",
  doCheckIn: "Call the crew on scene; once they answer, press Check in.",
  checkIn: "Check in", silence: "Silence", silencedCount: "{n} alarm(s) silenced in this browser, not yet handled", openIncident: "Open",
  soundBlocked: "The browser holds the alarm sound back: click anywhere on the page to let it ring.",
});
Object.assign(I18N.zh, {
  alarmWhistle: "事件 {incident}（{kind}）吹哨 {whistle}：{agency} {level} {name} 尚未确认",
  alarmEscalated: "，已从 {first} 逐级升级",
  alarmUnanswered: "事件 {incident}（{kind}）吹哨 {whistle}：{agency} 升级至 {level} {name} 仍无人确认",
  doAck: "如您是 {agency} 召集人，请在此确认；或致电 {name}（{channel}）。",
  doPhone: "请致电 {name}（{channel}）要求其确认。",
  doUnanswered: "请直接致电 {agency} 值班领导：该召集已记录为无人应答。",
  alarmCheckIn: "现场报到超时：{agency} 自 {last} 起在事件 {incident}（{kind}）现场，尚未报到",
  alarmCheckInBy: "现场报到超时：{agency} 在事件 {incident}（{kind}），上次报到 {last}（{by}）",
  doCheckIn: "请联系现场人员；对方应答后按“报到”。",
  checkIn: "报到", silence: "静音", silencedCount: "本机已静音 {n} 条报警（尚未处理）", openIncident: "查看",
  soundBlocked: "浏览器阻止了报警声：请点击页面任意处以允许响铃。",
});
// A text with slots, in the page's language: tf("doPhone", { name, channel }).
const tf = (k, params) => t(k).replace(/\{(\w+)\}/g, (m, name) => (params[name] ?? m));
// A status word (task, incident or unit status, as the server sends it) in the page's language.
const statusText = (s) => t(`st_${s}`) === `st_${s}` ? String(s).replace(/_/g, " ") : t(`st_${s}`);
