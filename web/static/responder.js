// The community responders' page: a grid worker, property security or a village team sees the
// tasks the system gave them (GET /v1/responder-tasks holds only their own), accepts, says when
// they are at the home and what they found. Every button is one report, an event in the log that
// reaches the alarm's incident; the care plan is read only when asked for (an audited read).
"use strict";

Object.assign(I18N.en, {
  rTitle: "My tasks", rOpen: "To do", rDone: "Done", rNone: "Nothing to do now.",
  rAccept: "Accept", rArrived: "I am at the home", rFine: "Resident fine", rNeeds120: "Needs 120",
  rNoAnswer: "No answer", rOther: "Other…", rSendOther: "Send", rNote: "What you found (optional)",
  rOtherNote: "Say what you found", rCare: "Care plan", rCareHidden: "The care plan is not shown to you.",
  rAsked: "asked", rAccepted: "accepted", rArrivedAt: "at the home", rOutcome: "outcome",
  rIncident: "incident", rCall: "call", rNoKey: "This page needs your key: open the link you were sent.",
  rRefused: "not sent", rSent: "sent", rWaiting: "not yet accepted",
  oc_all_well: "resident fine", oc_needs_120: "needs 120", oc_no_answer: "no answer", oc_other: "other",
  oc_needs_help: "needs help", yes: "yes", no: "no",
});
Object.assign(I18N.zh, {
  rTitle: "我的任务", rOpen: "待处理", rDone: "已完成", rNone: "暂无任务。",
  rAccept: "接受", rArrived: "已到达", rFine: "老人平安", rNeeds120: "需要120",
  rNoAnswer: "无人应门", rOther: "其他…", rSendOther: "提交", rNote: "现场情况（可选）",
  rOtherNote: "请说明现场情况", rCare: "照护方案", rCareHidden: "您无权查看照护方案。",
  rAsked: "派发", rAccepted: "已接受", rArrivedAt: "已到达", rOutcome: "结果",
  rIncident: "事件", rCall: "拨打", rNoKey: "本页需要您的密钥：请打开收到的链接。",
  rRefused: "未提交", rSent: "已提交", rWaiting: "尚未接受",
  oc_all_well: "老人平安", oc_needs_120: "需要120", oc_no_answer: "无人应门", oc_other: "其他",
  oc_needs_help: "需要帮助", yes: "是", no: "否",
});

// The key: from the link's fragment (`/responder#key=...`; a fragment never reaches a server or
// its logs). Kept in this phone's storage rather than the tab's, unlike the console: a responder
// opens the link once and comes back to the page from the home screen.
const KEY = (() => {
  const m = location.hash.match(/key=([^&]+)/);
  if (m) {
    localStorage.setItem("jd-responder-key", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return localStorage.getItem("jd-responder-key");
})();

const page = { tasks: [], loaded: false, connected: false, care: new Map(), drafts: new Map(),
               said: new Map(), shown: "" };
window.jdr = page; // for browser tests

async function api(path, opts = {}) {
  let r;
  try {
    r = await fetch(path, { ...opts, headers: { "Content-Type": "application/json",
                                                  Authorization: `Bearer ${KEY}` } });
  } catch (e) {
    return { ok: false, status: 0, body: {} };
  }
  if (r.status === 401) localStorage.removeItem("jd-responder-key");
  const body = await r.json().catch(() => ({}));
  return { ok: r.ok, status: r.status, body };
}

const when = (iso) => (iso ? CentreClock.time(iso, false) : "");

function careHtml(task) {
  const record = page.care.get(task.task_id);
  if (record === undefined) return "";
  const care = record && record.details && record.details.care;
  if (!care) return `<p class="care-plan">${escapeHtml(t("rCareHidden"))}</p>`;
  const rows = Object.entries(care).map(([k, v]) =>
    `<dt>${escapeHtml(k.replace(/_/g, " "))}</dt><dd>${escapeHtml(Array.isArray(v) ? v.join(", ") : v === true ? t("yes") : v === false ? t("no") : v)}</dd>`);
  const contacts = (record.contacts || []).map((c) =>
    `<dd>${escapeHtml(c.name)} (${escapeHtml(c.relation || "")}) <a href="tel:${escapeHtml(c.phone)}">${escapeHtml(c.phone)}</a></dd>`);
  return `<dl class="care-plan">${rows.join("")}${contacts.length ? `<dt>contacts</dt>${contacts.join("")}` : ""}</dl>`;
}

function taskHtml(task) {
  const done = task.outcome != null;
  const home = task.home;
  const phone = home.phone ? ` · <a href="tel:${escapeHtml(home.phone)}">${escapeHtml(home.phone)}</a>` : "";
  const steps = [
    `${t("rAsked")} <b>${when(task.asked_at)}</b>`,
    task.accepted_at ? `${t("rAccepted")} <b>${when(task.accepted_at)}</b>` : t("rWaiting"),
    task.arrived_at ? `${t("rArrivedAt")} <b>${when(task.arrived_at)}</b>` : "",
    done ? `${t("rOutcome")} <b>${escapeHtml(t(`oc_${task.outcome}`))}</b> ${when(task.outcome_at)}` : "",
  ].filter(Boolean).join(" · ");
  const notes = task.notes.length
    ? `<ul class="notes">${task.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : "";
  const said = page.said.get(task.task_id);
  const answer = said ? `<p class="${said.ok ? "sent" : "refused"}">${escapeHtml(said.text)}</p>` : "";
  let actions = "";
  if (!done) {
    const draft = escapeHtml(page.drafts.get(task.task_id) || "");
    const go = !task.accepted_at
      ? `<button class="go" data-report="accepted">${t("rAccept")}</button>`
      : !task.arrived_at ? `<button class="go" data-report="arrived">${t("rArrived")}</button>` : "";
    const outcomes = task.accepted_at ? `
      <button class="fine" data-outcome="all_well">${t("rFine")}</button>
      <button class="n120" data-outcome="needs_120">${t("rNeeds120")}</button>
      <button class="noans" data-outcome="no_answer">${t("rNoAnswer")}</button>
      <button class="other" data-outcome="other">${t("rOther")}</button>
      <textarea name="note" maxlength="500" placeholder="${escapeHtml(t("rNote"))}">${draft}</textarea>` : "";
    actions = `<div class="actions">${go}${outcomes}
      <button class="care" data-care="1">${t("rCare")}</button></div>`;
  }
  return `<li class="task ${escapeHtml(task.alarm_kind)}${done ? " finished" : ""}" data-id="${escapeHtml(task.task_id)}">
    <p class="ask">${escapeHtml(task.ask)}</p>
    <p class="where">${escapeHtml(home.name)} · ${escapeHtml(home.address)}${phone}</p>
    <p class="facts">${escapeHtml(task.task_id)} · ${escapeHtml(task.reason)}${
      task.incident_id ? ` · ${t("rIncident")} ${escapeHtml(task.incident_id)}` : ""}</p>
    <p class="state">${steps}</p>${notes}${careHtml(task)}${answer}${actions}</li>`;
}

function render() {
  const open = page.tasks.filter((x) => x.outcome == null);
  const done = page.tasks.filter((x) => x.outcome != null);
  const empty = `<li class="empty">${escapeHtml(t("rNone"))}</li>`;
  document.getElementById("open-tasks").innerHTML = open.length ? open.map(taskHtml).join("") : empty;
  document.getElementById("done-tasks").innerHTML = done.map(taskHtml).join("");
  const conn = document.getElementById("conn");
  conn.className = `conn ${page.connected ? "up" : "down"}`;
  conn.textContent = t(page.connected ? "online" : "offline");
}

// Re-drawn only when what the server says changed, so a note being typed is not swept away.
async function refresh() {
  const { ok, status, body } = await api("/v1/responder-tasks");
  page.connected = ok;
  if (ok) {
    page.tasks = body.tasks;
    page.loaded = true;
  } else if (status === 401 || status === 403) {
    showProblem(body.error || t("rNoKey"));
  }
  const shown = JSON.stringify([page.tasks, page.connected, lang, [...page.care.keys()], [...page.said]]);
  if (shown !== page.shown) {
    page.shown = shown;
    render();
  }
}

function showProblem(text) {
  const el = document.getElementById("problem");
  el.textContent = text;
  el.hidden = !text;
}

async function report(task, body) {
  const { ok, body: answer } = await api(`/v1/responder-tasks/${encodeURIComponent(task.task_id)}/report`, {
    method: "POST", body: JSON.stringify(body) });
  page.said.set(task.task_id, ok ? { ok, text: t("rSent") }
                                 : { ok, text: `${t("rRefused")}: ${answer.error || "offline"}` });
  if (ok) page.drafts.delete(task.task_id);
  await refresh();
}

async function showCare(task) {
  const { ok, body } = await api(`/v1/register/residents/${encodeURIComponent(task.resident_id)}`);
  page.care.set(task.task_id, ok ? body : null);
  page.shown = "";
  await refresh();
}

document.addEventListener("input", (ev) => {
  const li = ev.target.closest("li.task");
  if (li && ev.target.name === "note") page.drafts.set(li.dataset.id, ev.target.value);
});

document.addEventListener("click", (ev) => {
  const button = ev.target.closest("button");
  const li = button && button.closest("li.task");
  if (!li) return;
  const task = page.tasks.find((x) => x.task_id === li.dataset.id);
  if (!task) return;
  const note = (li.querySelector("textarea[name=note]") || { value: "" }).value.trim();
  if (button.dataset.report) {
    report(task, { report: button.dataset.report });
  } else if (button.dataset.outcome) {
    if (button.dataset.outcome === "other" && !note) {
      page.said.set(task.task_id, { ok: false, text: t("rOtherNote") });
      page.shown = "";
      render();
      li.ownerDocument.querySelector(`li.task[data-id="${CSS.escape(task.task_id)}"] textarea`)?.focus();
      return;
    }
    report(task, { report: "outcome", outcome: button.dataset.outcome, note });
  } else if (button.dataset.care) {
    showCare(task);
  }
});

function applyLanguage() {
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  document.getElementById("lang").textContent = t("lang");
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  page.shown = "";
  render();
}
document.getElementById("lang").onclick = () => {
  lang = lang === "en" ? "zh" : "en";
  localStorage.setItem("lang", lang);
  applyLanguage();
};

(async () => {
  applyLanguage();
  if (!KEY) {
    showProblem(t("rNoKey"));
    return;
  }
  const asked = Date.now();
  const centre = await api("/v1/centre");
  if (centre.ok) CentreClock.apply(centre.body, asked, Date.now());
  const me = await api("/v1/whoami");
  if (me.ok) document.getElementById("who").textContent = me.body.responder_id || me.body.client_id;
  await refresh();
  setInterval(refresh, 5000);
})();
