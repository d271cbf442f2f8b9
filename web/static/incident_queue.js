// The incident queue: one row per open incident the filters let through, most severe first, with
// its kind, the time since its first call, each agency's task with its status and the time in it,
// the number of calls, and the whistle's state. Timers are marked for the Ticker, not redrawn.
"use strict";

// The whistle of an incident as one state: none, possible (the kind qualifies), waiting (some
// convener has not answered yet), acked (all answered), unanswered (someone never did).
function whistleState(inc, whistles) {
  const w = [...whistles.values()].find((x) => x.incident_id === inc.incident_id && x.active);
  if (!w) return { state: inc.whistle_qualifies ? "possible" : "none", whistle: null };
  const summons = Object.values(w.summons);
  const acked = summons.filter((s) => s.acknowledged_at).length;
  const state = summons.some((s) => s.unanswered) ? "unanswered" : acked === summons.length ? "acked" : "waiting";
  return { state, whistle: w, acked, total: summons.length };
}

function whistleBadge(ws) {
  if (ws.state === "none") return "";
  if (ws.state === "possible") return `<span class="whistle-badge possible" title="${t("canWhistle")}">${t("canWhistle")}</span>`;
  const word = ws.state === "unanswered" ? t("whistleUnanswered") : ws.state === "acked" ? t("whistleAcked") : t("whistleBlown");
  return `<span class="whistle-badge ${ws.state}">${t("whistleBlown")} ${ws.acked}/${ws.total}${ws.state === "waiting" ? "" : ` · ${word}`}</span>`;
}

function taskChips(inc) {
  return Object.entries(inc.tasks).sort(([a], [b]) => a.localeCompare(b)).map(([a, tk]) => {
    const since = tk.changed_at ? ` <time class="timer" data-since="${tk.changed_at}"></time>` : "";
    return `<span class="task ${tk.status}" data-agency="${a}"><span class="tag a${a}">${a}</span>${escapeHtml(statusText(tk.status))}${since}</span>`;
  }).join("");
}

const IncidentQueue = {
  rows(incidents, filters) {
    return [...incidents.values()].filter((inc) => filters.incidentShown(inc)).sort(
      (a, b) => b.severity - a.severity || a.reported_at.localeCompare(b.reported_at));
  },

  render(ol, incidents, whistles, filters, labelOf, onSelect) {
    const items = this.rows(incidents, filters);
    ol.innerHTML = "";
    if (!items.length) {
      ol.innerHTML = `<li class="empty">${t("noIncidents")}</li>`;
      return items.length;
    }
    for (const inc of items) {
      const li = document.createElement("li");
      const ws = whistleState(inc, whistles);
      li.className = `sev${inc.severity} whistle-${ws.state}`;
      li.dataset.id = inc.incident_id;
      li.tabIndex = 0;
      li.innerHTML = `<div class="row1"><span class="sev-chip sev${inc.severity}" title="${t("severity")} ${inc.severity}: ${t(`sev${inc.severity}`)}">${inc.severity}</span>
        <b>${inc.incident_id}</b> <span class="kind">${escapeHtml(labelOf(inc))}</span>
        <span class="elapsed" title="${t("sinceFirstCall")} (${CentreClock.time(inc.reported_at)})"><time class="timer" data-since="${inc.reported_at}"></time></span></div>
        <div class="row2">${taskChips(inc)}</div>
        <div class="row3"><span class="calls">${inc.call_count} ${t("calls")}</span> · <span class="istatus">${escapeHtml(statusText(inc.status))}</span> ${whistleBadge(ws)}</div>`;
      li.onclick = () => onSelect(inc.incident_id);
      li.onkeydown = (e) => { if (e.key === "Enter") onSelect(inc.incident_id); };
      ol.appendChild(li);
    }
    Ticker.tick(ol);
    return items.length;
  },

  legend() {
    return [5, 4, 3, 2, 1].map((n) => `<span class="sev-chip sev${n}">${n}</span> ${t(`sev${n}`)}`).join(" ");
  },
};
