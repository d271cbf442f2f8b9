// The unit status board: per agency, every unit the filters let through with its status, the
// time in it, its incident, an ETA countdown and a stale flag; the statuses it may take next as
// one-click buttons, and keyboard shortcuts on a focused row (arrows move, digits set a status).
// Stale: no fix for longer than the centre's limit, except a unit parked on scene.
"use strict";

const STATUS_KEYS = { "1": "en_route", "2": "on_scene", "3": "transporting", "4": "at_hospital",
                      "5": "returning", "6": "available", "0": "out_of_service" };

const UnitBoard = {
  transitions: {}, // status -> statuses it may go to next (GET /v1/centre)
  lastFix: new Map(), // unit id -> ms of its newest fix
  onChange: null, // (unit, status) => Promise

  noteFix(uid, atMs) { this.lastFix.set(uid, Math.max(this.lastFix.get(uid) || 0, atMs)); },

  isStale(u) {
    if (u.status === "on_scene") return false;
    const at = this.lastFix.get(u.unit_id);
    return !at || (CentreClock.now() - at) / 1000 > CentreClock.staleAfterS;
  },

  // when the unit gets where it is going, from its incident's view of it (route.arrive_by)
  arriveBy(u, incidents) {
    const inc = u.incident_id && incidents.get(u.incident_id);
    const mine = inc && (inc.units || []).find((x) => x.unit_id === u.unit_id);
    return mine && mine.route && ["dispatched", "en_route", "transporting"].includes(u.status) ? mine.route.arrive_by : null;
  },

  row(u, incidents) {
    const nexts = (this.transitions[u.status] || []).filter((s) => s !== "dispatched");
    const buttons = nexts.map((s) => {
      const key = Object.keys(STATUS_KEYS).find((k) => STATUS_KEYS[k] === s);
      return `<button type="button" data-status="${s}" title="${escapeHtml(statusText(s))}${key ? ` [${key}]` : ""}">${escapeHtml(statusText(s))}</button>`;
    }).join("");
    const since = u.status_at ? `<time class="timer" data-since="${u.status_at}"></time>` : "";
    const eta = this.arriveBy(u, incidents);
    const stale = this.isStale(u) ? `<span class="stale" title="${t("staleHint")}">${t("stale")}</span>` : "";
    return `<tr data-unit="${u.unit_id}" tabindex="0" class="us-${u.status}">
      <td>${escapeHtml(u.call_sign)}</td><td class="ustatus">${escapeHtml(statusText(u.status))}</td><td>${since}</td>
      <td>${u.incident_id ? escapeHtml(u.incident_id) : ""}</td>
      <td>${eta ? `<time class="eta" data-until="${eta}"></time>` : ""}</td><td>${stale}</td>
      <td class="actions">${buttons}</td></tr>`;
  },

  // Only these units' rows, redrawn in place: a status change on a 2,000-unit board must not
  // rebuild (and lay out again) every row. False when a row must come or go (a filter, a new
  // unit): then the caller draws the whole board.
  patch(box, ids, units, incidents, filters) {
    const rows = [];
    for (const id of ids) {
      const u = units.get(id);
      const tr = box.querySelector(`tr[data-unit="${CSS.escape(id)}"]`);
      const shown = Boolean(u) && filters.unitShown(u);
      if (!shown || !tr) {
        if (tr || shown) return false;
        continue;
      }
      rows.push([tr, u]);
    }
    for (const [tr, u] of rows) {
      const focused = document.activeElement === tr;
      tr.outerHTML = this.row(u, incidents);
      const fresh = box.querySelector(`tr[data-unit="${CSS.escape(u.unit_id)}"]`);
      if (fresh) { Ticker.tick(fresh); if (focused) fresh.focus(); }
    }
    return true;
  },

  render(box, units, incidents, filters) {
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("tr[data-unit]");
    const keep = focused && box.contains(focused) ? focused.dataset.unit : null;
    const byAgency = new Map();
    for (const u of units.values()) {
      if (!filters.unitShown(u)) continue;
      if (!byAgency.has(u.agency)) byAgency.set(u.agency, []);
      byAgency.get(u.agency).push(u);
    }
    const head = `<tr><th>${t("unit")}</th><th>${t("status")}</th><th>${t("inStatus")}</th><th>${t("incident")}</th><th>${t("eta")}</th><th>${t("positionCol")}</th><th>${t("setStatusCol")}</th></tr>`;
    box.innerHTML = [...byAgency.keys()].sort().map((a) => {
      const rows = byAgency.get(a).sort((x, y) => x.unit_id.localeCompare(y.unit_id)).map((u) => this.row(u, incidents)).join("");
      return `<h3><span class="tag a${a}">${a}</span> ${byAgency.get(a).length} ${t("units")}</h3>
        <table class="board" data-agency="${a}">${head}${rows}</table>`;
    }).join("") || `<p class="hint">${t("noUnits")}</p>`;
    Ticker.tick(box);
    if (keep) { const again = box.querySelector(`tr[data-unit="${CSS.escape(keep)}"]`); if (again) again.focus(); }
  },

  // one listener for the whole board: clicks on status buttons, keys on focused rows
  wire(box, units) {
    box.addEventListener("click", (e) => {
      const b = e.target.closest("button[data-status]");
      if (!b) return;
      const u = units.get(b.closest("tr").dataset.unit);
      if (u && this.onChange) this.onChange(u, b.dataset.status);
    });
    box.addEventListener("keydown", (e) => {
      const tr = e.target.closest && e.target.closest("tr[data-unit]");
      if (!tr) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        const all = [...box.querySelectorAll("tr[data-unit]")];
        const next = all[all.indexOf(tr) + (e.key === "ArrowDown" ? 1 : -1)];
        if (next) { next.focus(); e.preventDefault(); }
        return;
      }
      const status = STATUS_KEYS[e.key];
      const u = units.get(tr.dataset.unit);
      if (status && u && this.onChange) { e.preventDefault(); this.onChange(u, status); }
    });
  },

  legend() {
    return Object.entries(STATUS_KEYS).map(([k, s]) => `<kbd>${k}</kbd> ${escapeHtml(statusText(s))}`).join(" ");
  },
};
