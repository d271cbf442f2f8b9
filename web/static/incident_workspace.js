// An incident's workspace in its detail: the units on it with status and an ETA countdown, the
// destination hospital, the recommendation as it was (kept after the units are sent), the
// narrative (notes per agency, timestamped) with a box to add one, and closing with a disposition.
// A dispatcher adds a unit (their agency's free ones, nearest first; a supervisor any agency's)
// or stands one down with a reason, splits a call off or merges another incident in with a
// reason, and checks their agency in on scene: each agency on scene has a check-in timer, counted
// from its arrival or last check-in (the server's `check_in_since`), overdue after the centre's
// `check_in_after_s` (then alerts.js rings).
"use strict";

const DISPOSITIONS = ["resolved_on_scene", "transported", "false_alarm", "duplicate", "no_trace", "referred"];

const IncidentWorkspace = {
  hospitals: new Map(), // id -> hospital (GET /v1/fleet)
  recommended: new Map(), // incident id -> the last recommendation shown, kept once acted on
  me: null, // whoami's answer
  fleet: new Map(), // every unit (app.js's state.units)
  incidents: new Map(), // the open incidents (the queue's)
  whereIs: () => null, // unit -> [lat, lng] (its last fix, else its station)

  role(...roles) { const me = this.me || { roles: [] }; return roles.some((r) => me.roles.includes(r)); },
  // a dispatcher acts for their own agency's units and task; a supervisor for any
  mine(agency) { return this.role("supervisor") || (this.me && this.me.agency === agency); },

  hospitalName(id) { const h = this.hospitals.get(id); return h ? h.name : id; },

  units(inc) {
    if (!inc.units.length) return "";
    const rows = inc.units.map((u) => {
      const r = u.route;
      const moving = r && ["dispatched", "en_route", "transporting"].includes(u.status);
      const where = r && r.hospital_id ? `${t("hospital")}: ${escapeHtml(this.hospitalName(r.hospital_id))}` : "";
      return `<tr data-unit="${u.unit_id}"><td><span class="tag a${u.agency}">${u.agency}</span> ${escapeHtml(u.call_sign)}</td>
        <td class="ustatus">${escapeHtml(statusText(u.status))}</td>
        <td>${moving ? `${t("eta")} <time class="eta" data-until="${r.arrive_by}"></time> (${CentreClock.time(r.arrive_by, false)})` : ""}</td><td>${where}</td>
        <td>${this.mayDispatch() && this.mine(u.agency) ? `<button type="button" data-stand-down="${u.unit_id}">${t("standDown")}</button>` : ""}</td></tr>`;
    }).join("");
    return `<h3>${t("assignedUnits")}</h3><table class="assigned">${rows}</table>${this.standDownForm(inc)}`;
  },

  mayDispatch() { return this.role("dispatcher", "supervisor"); },

  standDownForm(inc) {
    const mine = inc.units.filter((u) => this.mine(u.agency));
    if (!this.mayDispatch() || !mine.length) return "";
    const options = mine.map((u) => `<option value="${u.unit_id}">${escapeHtml(u.call_sign)} (${u.agency})</option>`).join("");
    return `<form id="stand-down-form" class="act-form"><h4>${t("standDown")}</h4>
      <label><span>${t("unit")}</span><select name="unit">${options}</select></label>
      <label><span>${t("reason")}</span><input name="reason" required maxlength="500"></label>
      <button type="submit">${t("standDown")}</button></form>`;
  },

  // free units (what the domain may send: available or returning) the viewer may send, nearest first
  addable(inc) {
    const at = inc.location && inc.location.lat != null ? [inc.location.lat, inc.location.lon] : null;
    const km = (u) => {
      const p = this.whereIs(u);
      if (!p || !at) return null;
      const dy = (p[0] - at[0]) * 111.2, dx = (p[1] - at[1]) * 111.2 * Math.cos((at[0] * Math.PI) / 180);
      return Math.hypot(dx, dy);
    };
    return [...this.fleet.values()].filter((u) => ["available", "returning"].includes(u.status) && this.mine(u.agency))
      .map((u) => ({ u, km: km(u) })).sort((a, b) => (a.km ?? 1e9) - (b.km ?? 1e9) || a.u.unit_id.localeCompare(b.u.unit_id));
  },

  addUnitForm(inc) {
    if (!this.mayDispatch() || !["open", "dispatched", "on_scene"].includes(inc.status)) return "";
    const free = this.addable(inc);
    if (!free.length) return `<p class="hint">${t("noFreeUnit")}</p>`;
    const options = free.map(({ u, km }) => `<option value="${u.unit_id}">${u.agency} ${escapeHtml(u.call_sign)} · ${escapeHtml(u.kind)} · ${escapeHtml(statusText(u.status))}${km != null ? ` · ${km.toFixed(1)} km` : ""}</option>`).join("");
    return `<form id="add-unit-form" class="act-form"><h4>${t("addUnit")}</h4>
      <label><span>${t("unit")}</span><select name="unit">${options}</select></label>
      <label><span>${t("reason")}</span><input name="reason" required maxlength="500"></label>
      <button type="submit">${t("sendUnit")}</button></form>`;
  },

  // each agency's check-in timer while on scene, and the button that resets it
  checkIns(inc) {
    const after = Alerts.checkInAfterS;
    const rows = Object.entries(inc.tasks).filter(([, tk]) => tk.check_in_since).sort(([a], [b]) => a.localeCompare(b)).map(([a, tk]) => {
      const last = tk.checked_in_at ? `${CentreClock.time(tk.checked_in_at, false)} ${escapeHtml(tk.checked_in_by || "")}` : `${t("arrivedAt")} ${CentreClock.time(tk.changed_at, false)}`;
      const may = this.mine(a) && this.role("dispatcher", "convener", "supervisor");
      return `<tr data-agency="${a}"><td><span class="tag a${a}">${a}</span></td><td>${last}</td>
        <td><time class="timer" data-since="${tk.check_in_since}" data-overdue-s="${after}"></time> / ${CentreClock.duration(after)}</td>
        <td>${may ? `<button type="button" data-check-in="${a}">${t("checkIn")}</button>` : ""}</td></tr>`;
    }).join("");
    const body = rows ? `<table class="check-ins"><tr><th></th><th>${t("lastCheckIn")}</th><th>${t("sinceCheckIn")}</th><th></th></tr>${rows}</table>`
      : `<p class="hint">${t("noCheckIns")}</p>`;
    return `<h3>${t("checkIns")}</h3>${body}`;
  },

  // split a call off (when there are several) or merge another open incident into this one
  splitMergeForms(inc, labelOf) {
    if (!this.mayDispatch() || !["open", "dispatched", "on_scene"].includes(inc.status)) return "";
    const calls = inc.calls || [];
    const split = calls.length > 1 ? `<form id="split-form" class="act-form"><h4>${t("splitCall")}</h4>
      <label><span>${t("callWord")}</span><select name="call">${calls.map((c) => `<option value="${c.call_id}">${c.call_id} ${CentreClock.time(c.received_at, false)} ${c.hotline} ${escapeHtml(c.kind)}: ${escapeHtml((c.text || "").slice(0, 40))}</option>`).join("")}</select></label>
      <label><span>${t("reason")}</span><input name="reason" required maxlength="500"></label>
      <button type="submit">${t("splitOff")}</button></form>` : "";
    const others = [...this.incidents.values()].filter((o) => o.incident_id !== inc.incident_id)
      .sort((a, b) => b.severity - a.severity || a.incident_id.localeCompare(b.incident_id));
    const merge = others.length ? `<form id="merge-form" class="act-form"><h4>${t("mergeIncident")}</h4>
      <label><span>${t("otherIncident")}</span><select name="source">${others.map((o) => `<option value="${o.incident_id}">${o.incident_id} ${escapeHtml(labelOf(o))} · ${o.call_count} ${t("calls")}</option>`).join("")}</select></label>
      <label><span>${t("reason")}</span><input name="reason" required maxlength="500"></label>
      <button type="submit">${t("mergeInto")}</button></form>` : "";
    return split || merge ? `<div class="split-merge">${split}${merge}</div>` : "";
  },

  destination(inc, rec) {
    const going = inc.units.map((u) => u.route && u.route.hospital_id).find(Boolean);
    const id = going || (rec && rec.hospital && rec.hospital.hospital_id);
    return id ? `<p class="destination"><b>${t("destination")}:</b> ${escapeHtml(this.hospitalName(id))}${going ? "" : ` (${t("recommendedWord")})`}</p>` : "";
  },

  recommendation(id, rec) {
    if (rec && rec.needs.length) this.recommended.set(id, rec);
    const shown = rec && rec.needs.length ? rec : this.recommended.get(id);
    if (!shown) return "";
    const open = rec && rec.needs.length;
    const items = shown.needs.map((n) => {
      const c = n.candidates[0];
      return `<li><span class="tag a${n.agency}">${n.agency}</span> ${escapeHtml(n.kind)}: ${c ? `<b>${escapeHtml(c.call_sign)}</b> ${t("eta")} ${(c.eta_s / 60).toFixed(1)} ${t("min")}${c.divert_from ? ` ⚠ ${escapeHtml(c.reason)}` : ""}` : "—"}</li>`;
    }).join("");
    return `<h3>${t("recommend")}${open ? "" : ` <small>(${t("sentWord")} · ${CentreClock.time(shown.computed_at, false)})</small>`}</h3>
      <ul class="rec">${items}</ul>${open ? `<button class="primary" id="confirm">${t("confirm")}</button>` : ""}`;
  },

  notes(inc) {
    const items = (inc.notes || []).map((n) => `<li><time>${CentreClock.time(n.at)}</time> <span class="tag a${n.agency}">${n.agency}</span> <b>${escapeHtml(n.by)}</b>: ${escapeHtml(n.text)}</li>`).join("");
    return `<h3>${t("notes")}</h3><ol class="notes">${items}</ol>
      <form id="note-form"><textarea name="text" required maxlength="2000" aria-label="${t("notes")}"></textarea>
      <button type="submit">${t("addNote")}</button></form>`;
  },

  closeForm() {
    const options = DISPOSITIONS.map((d) => `<option value="${d}">${t(`disp_${d}`)}</option>`).join("");
    return `<form id="close-form" class="close-form"><h3>${t("closeIncident")}</h3>
      <label><span>${t("disposition")}</span><select name="disposition">${options}</select></label>
      <label><span>${t("details")}</span><input name="details" maxlength="400"></label>
      <button type="submit" class="primary">${t("closeIncident")}</button></form>`;
  },

  wire(box, inc, api, by, refresh) {
    const id = encodeURIComponent(inc.incident_id);
    // each form: a reason when it asks one, the request, and once done the form emptied (the
    // detail keeps what is typed across redraws, not what was already sent)
    const form = (sel, send) => {
      const f = box.querySelector(sel);
      if (!f) return;
      f.onsubmit = async (e) => {
        e.preventDefault();
        const reason = f.elements.reason ? f.elements.reason.value.trim() : "";
        if (f.elements.reason && !reason) return;
        const r = await send(f, reason);
        if (r.ok) { f.reset(); refresh(false, r.body); }
      };
    };
    const post = (path, body, what) => api(path, { method: "POST", body: JSON.stringify(body) }, what);
    form("#add-unit-form", (f, reason) => post(`/v1/incidents/${id}/assign`, { units: [f.elements.unit.value], reason, by: by() }, t("addUnit")));
    // the release API's body asks a status like the status API's; a release is always "returning"
    form("#stand-down-form", (f, reason) => post(`/v1/units/${encodeURIComponent(f.elements.unit.value)}/release`, { status: "returning", reason, by: by() }, t("standDown")));
    form("#split-form", (f, reason) => post(`/v1/calls/${encodeURIComponent(f.elements.call.value)}/split`, { reason, by: by() }, t("splitCall")));
    form("#merge-form", (f, reason) => post(`/v1/incidents/${id}/merge`, { source_id: f.elements.source.value, reason, by: by() }, t("mergeIncident")));
    for (const b of box.querySelectorAll("button[data-stand-down]")) {
      b.onclick = () => {
        const f = box.querySelector("#stand-down-form");
        f.elements.unit.value = b.dataset.standDown;
        f.elements.reason.focus();
      };
    }
    for (const b of box.querySelectorAll("button[data-check-in]")) {
      b.onclick = async () => {
        const r = await post(`/v1/incidents/${id}/check-ins`, { agency: b.dataset.checkIn, by: by() }, t("checkIn"));
        if (r.ok) refresh();
      };
    }
    const notes = box.querySelector("#note-form");
    if (notes) notes.onsubmit = async (e) => {
      e.preventDefault();
      const text = notes.elements.text.value.trim();
      if (!text) return;
      const r = await api(`/v1/incidents/${id}/notes`, { method: "POST", body: JSON.stringify({ text, by: by() }) }, t("addNote"));
      if (r.ok) { notes.reset(); refresh(); }
    };
    const close = box.querySelector("#close-form");
    if (close) close.onsubmit = async (e) => {
      e.preventDefault();
      const d = close.elements.disposition.value;
      const details = close.elements.details.value.trim();
      // the disposition in the log's words (English, as every reason there), the details after it
      const reason = `${I18N.en[`disp_${d}`]}${details ? `: ${details}` : ""}`;
      const r = await api(`/v1/incidents/${id}/status`, { method: "POST", body: JSON.stringify({ status: "closed", reason, by: by() }) }, t("closeIncident"));
      if (r.ok) refresh(true);
    };
  },
};
