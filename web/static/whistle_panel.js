// The whistle in an incident's detail: before it is blown, a form that knows the key's agency
// (a dispatcher blows for their own centre; a supervisor picks one) and asks a reason when the kind
// does not qualify; once blown, each agency's summons: the person summoned, the escalation as it
// happened, who acknowledged and when, with the Ack button only for the viewer's own agency.
"use strict";

const WhistlePanel = {
  me: null, // whoami's answer

  person() { return localStorage.getItem("jd-name") || (this.me && this.me.client_id) || "dispatcher"; },

  form(inc) {
    const me = this.me || { agency: "120", roles: [] };
    const supervisor = me.roles.includes("supervisor");
    const agencies = supervisor ? ["120", "119", "110", "122"] : [me.agency];
    const options = agencies.map((a) => `<option value="${a}"${a === me.agency ? " selected" : ""}>${a}</option>`).join("");
    const reason = inc.whistle_qualifies ? ""
      : `<label><span>${t("overrideReason")}</span><textarea name="override_reason" required maxlength="500"></textarea></label>
         <p class="hint">${t("override")}</p>`;
    return `<form id="whistle-form" class="whistle-form">
      <h2>${t("whistle")}</h2>
      <label><span>${t("yourName")}</span><input name="by" required maxlength="64" value="${escapeHtml(this.person())}"></label>
      <label><span>${t("yourCentre")}</span><select name="agency"${supervisor ? "" : " disabled"}>${options}</select></label>
      ${reason}
      <button type="submit" class="whistle">${t("whistle")}</button></form>`;
  },

  table(w) {
    const me = this.me || { agency: "", roles: [] };
    const mayAck = (a) => a === me.agency && (me.roles.includes("convener") || me.roles.includes("supervisor"));
    const rows = Object.entries(w.summons).map(([a, s]) => {
      const steps = s.steps.map((st) => `${escapeHtml(t(st.level))} ${escapeHtml(st.name)} ${CentreClock.time(st.at)}`).join(" → ");
      const answer = s.acknowledged_at
        ? `<span class="ack">✔ ${escapeHtml(s.acknowledged_by || "")} ${CentreClock.time(s.acknowledged_at)}</span>`
        : s.unanswered ? `<span class="dead">${t("unanswered")}</span>`
        : `<span class="wait">${t("waiting")} <time data-until="${s.deadline}"></time></span>${mayAck(a) ? ` <button type="button" data-ack="${a}">${t("ack")}</button>` : ""}`;
      return `<tr data-agency="${a}"><td><span class="tag a${a}">${a}</span></td>
        <td class="summoned">${escapeHtml(t(s.level))} ${escapeHtml(s.name)}${s.steps.length > 1 ? `<br><small>${steps}</small>` : ""}</td><td>${answer}</td></tr>`;
    }).join("");
    return `<h2>${t("summons")} ${w.whistle_id} <small>${t("blownBy")} ${escapeHtml(w.by)} (${w.by_agency}) ${CentreClock.time(w.blown_at)}</small></h2>
      <table class="summons"><tr><th></th><th>${t("summoned")}</th><th>${t("acknowledgedBy")}</th></tr>${rows}</table>`;
  },

  wire(box, inc, whistle, api, done) {
    const form = box.querySelector("#whistle-form");
    if (form) {
      form.onsubmit = async (e) => {
        e.preventDefault();
        const f = new FormData(form);
        const by = String(f.get("by") || "").trim();
        localStorage.setItem("jd-name", by);
        const payload = { by, agency: form.elements.agency.value };
        if (!inc.whistle_qualifies) payload.override_reason = String(f.get("override_reason") || "").trim();
        const r = await api(`/v1/incidents/${encodeURIComponent(inc.incident_id)}/whistle`, { method: "POST", body: JSON.stringify(payload) }, t("whistle"));
        if (r.ok) done(r.body);
      };
    }
    for (const b of box.querySelectorAll("button[data-ack]")) {
      b.onclick = () => api(`/v1/whistles/${whistle.whistle_id}/ack`, { method: "POST", body: JSON.stringify({ agency: b.dataset.ack, by: this.person() }) }, t("ack"));
    }
  },
};
