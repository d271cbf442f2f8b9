// An incident's workspace in its detail: the units on it with status and an ETA countdown, the
// destination hospital, the recommendation as it was (kept after the units are sent), the
// narrative (notes per agency, timestamped) with a box to add one, and closing with a disposition.
"use strict";

const DISPOSITIONS = ["resolved_on_scene", "transported", "false_alarm", "duplicate", "no_trace", "referred"];

const IncidentWorkspace = {
  hospitals: new Map(), // id -> hospital (GET /v1/fleet)
  recommended: new Map(), // incident id -> the last recommendation shown, kept once acted on

  hospitalName(id) { const h = this.hospitals.get(id); return h ? h.name : id; },

  units(inc) {
    if (!inc.units.length) return "";
    const rows = inc.units.map((u) => {
      const r = u.route;
      const moving = r && ["dispatched", "en_route", "transporting"].includes(u.status);
      const where = r && r.hospital_id ? `${t("hospital")}: ${escapeHtml(this.hospitalName(r.hospital_id))}` : "";
      return `<tr data-unit="${u.unit_id}"><td><span class="tag a${u.agency}">${u.agency}</span> ${escapeHtml(u.call_sign)}</td>
        <td class="ustatus">${escapeHtml(statusText(u.status))}</td>
        <td>${moving ? `${t("eta")} <time class="eta" data-until="${r.arrive_by}"></time> (${CentreClock.time(r.arrive_by, false)})` : ""}</td><td>${where}</td></tr>`;
    }).join("");
    return `<h3>${t("assignedUnits")}</h3><table class="assigned">${rows}</table>`;
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
    const notes = box.querySelector("#note-form");
    if (notes) notes.onsubmit = async (e) => {
      e.preventDefault();
      const text = notes.elements.text.value.trim();
      if (!text) return;
      const r = await api(`/v1/incidents/${id}/notes`, { method: "POST", body: JSON.stringify({ text, by: by() }) }, t("addNote"));
      if (r.ok) refresh();
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
