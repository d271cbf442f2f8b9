// The API key at the door: from the URL fragment (`#key=...`, as `jointdispatch serve` prints it; a
// fragment never reaches a server or its logs), then kept for this tab. Checked once with
// /v1/whoami before anything loads; a missing, unknown or revoked key (or one revoked while the
// page is open: the live socket closes with 4401) shows a form saying so and asking for another,
// instead of a blank map.
"use strict";

const KeyGate = {
  key() {
    const m = location.hash.match(/key=([^&]+)/);
    if (m) {
      sessionStorage.setItem("jd-key", decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem("jd-key") || "";
  },

  // who the key is (whoami's answer), or null with the form shown
  async check(key) {
    if (!key) { this.ask(t("keyMissing")); return null; }
    let r;
    try {
      r = await fetch("/v1/whoami", { headers: { Authorization: `Bearer ${key}` } });
    } catch (e) {
      this.ask(t("serverAway"), false);
      return null;
    }
    const body = await r.json().catch(() => ({}));
    if (r.status === 401) { this.refused(body.error); return null; }
    if (!r.ok) { this.ask(`${t("refusedPrefix")} /v1/whoami: ${body.error || r.status}`, false); return null; }
    return body;
  },

  refused(reason) {
    sessionStorage.removeItem("jd-key");
    this.ask(`${t("keyRefused")}: ${reason || ""}`);
  },

  ask(message, wantKey = true) {
    const gate = document.getElementById("key-gate");
    gate.hidden = false;
    for (const el of gate.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    gate.querySelector(".why").textContent = message;
    gate.querySelector(".what-to-do").textContent = wantKey ? t("keyWhatToDo") : t("doNetwork");
    gate.querySelector("form").hidden = !wantKey;
    const form = gate.querySelector("form");
    form.onsubmit = (e) => {
      e.preventDefault();
      const k = form.elements.key.value.trim();
      if (!k) return;
      sessionStorage.setItem("jd-key", k);
      location.reload();
    };
  },
};
