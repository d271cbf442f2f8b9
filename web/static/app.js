// The shared map: roads from the server's own network; incidents, units, routes and whistles
// live over one websocket (snapshot + ordered events, positions alongside).
"use strict";

const AGENCY_COLOR = { "110": "#1d4ed8", "119": "#dc2626", "120": "#15803d", "122": "#a16207" }; // as style.css
const SEV_COLOR = { 5: "#9d0208", 4: "#dc2f02", 3: "#f48c06", 2: "#ffba08", 1: "#8ecae6" };
const ROAD_STYLE = {
  motorway: [4, "#e76f51"], trunk: [3.5, "#e76f51"], primary: [3, "#f4a261"],
  secondary: [2.2, "#e9c46a"], tertiary: [1.6, "#bbb"], residential: [0.8, "#ccc"],
};

const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25 });
const fleet = new FleetCanvas(map, { colors: AGENCY_COLOR, onClick: (uid) => showUnit(uid) });
const roadsLayer = L.layerGroup().addTo(map);
const routesLayer = L.layerGroup().addTo(map);
const incidentsLayer = L.layerGroup().addTo(map);
const corridorLayer = L.layerGroup().addTo(map);
const closuresLayer = L.layerGroup().addTo(map);
const SIGNAL_COLOR = { requested: "#595959", granted: "#15803d", queued: "#a16207", refused: "#dc2626", released: "#1d4ed8", degraded: "#7c3aed" }; // as style.css
const state = {
  seq: null, incidents: new Map(), incidentMarkers: new Map(), units: new Map(), fleet, corridors: new Map(),
  positions: new Map(), stations: new Map(), whistles: new Map(), routes: new Map(), plans: {}, roads: new Map(),
  pick: null, selected: null, connected: false,
};
state.filters = new ConsoleFilters(state.incidents);
// Where a unit is drawn now, for browser tests: [lat, lng] or null.
state.unitAt = (uid) => fleet.at(uid);
fleet.visible = (u) => state.filters.unitShown(u);
window.jd = state; // for browser tests and curious dispatchers
state.board = UnitBoard;
state.alerts = Alerts;
IncidentWorkspace.fleet = state.units;
IncidentWorkspace.incidents = state.incidents;
IncidentWorkspace.whereIs = (u) => unitLatLng(u);
state.homes = HomesLayer;
// an incident named in a map popup (the homes layer's alarms) opens its detail
document.addEventListener("click", (e) => {
  const link = e.target.closest("a[data-incident]");
  if (link) { e.preventDefault(); showDetail(link.dataset.incident); }
});

const KEY = KeyGate.key();
const authed = (headers = {}) => ({ ...headers, Authorization: `Bearer ${KEY}` });

// Every request of the page. `what` names the action for the dispatcher: a refusal of it (or of
// any change) is shown with the server's reason and what to do (notices.js); reads fail quietly
// because the live socket brings the state back.
const api = async (path, opts = {}, what = null) => {
  const change = opts.method && opts.method !== "GET";
  let r;
  try {
    r = await fetch(path, { headers: authed({ "Content-Type": "application/json" }), ...opts });
  } catch (e) { // the server is away (restarting): the websocket's reconnect brings the state back
    if (change || what) Notices.refused(what || path, 0, {});
    return { ok: false, status: 0, body: {} };
  }
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) KeyGate.refused(body.error);
  else if (!r.ok && (change || what)) Notices.refused(what || path, r.status, body);
  return { ok: r.ok, status: r.status, body };
};

const posts = new PostsLayer(map, api, AGENCY_COLOR, document.getElementById("posts"));
state.posts = posts;

async function loadRoads() {
  const data = await (await fetch("/v1/map/roads", { headers: authed() })).json();
  state.signals = new Map(data.signals.map((sg) => [sg.id, sg]));
  const [w, s, e, n] = data.bounds;
  map.fitBounds([[s, w], [n, e]]);
  const renderer = L.canvas({ padding: 0.2 });
  const byClass = new Map();
  for (const r of data.roads) {
    const list = byClass.get(r.class) || [];
    list.push(r.coords.map(([lon, lat]) => [lat, lon]));
    byClass.set(r.class, list);
  }
  const order = ["residential", "service", "tertiary", "secondary", "primary", "trunk", "motorway"];
  for (const cls of [...byClass.keys()].sort((a, b) => order.indexOf(a) - order.indexOf(b))) {
    const [weight, color] = ROAD_STYLE[cls] || [0.8, "#ccc"];
    L.polyline(byClass.get(cls), { renderer, weight, color, interactive: false }).addTo(roadsLayer);
  }
  state.roadsLoaded = true;
}

async function loadFleetPlaces() {
  const { body } = await api("/v1/fleet");
  for (const s of body.stations) state.stations.set(s.station_id, s);
  for (const h of body.hospitals) {
    IncidentWorkspace.hospitals.set(h.hospital_id, h);
    L.circleMarker([h.lat, h.lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#e11d48", fillOpacity: 1 })
      .bindTooltip(`✚ ${h.name}`).addTo(roadsLayer);
  }
}

async function loadPlans() {
  state.plans = (await api("/v1/plans")).body;
  renderKinds();
}

async function loadRoster() {
  const { body } = await api("/v1/roster");
  state.roster = body;
  renderRoster();
}

async function loadRoutes() {
  const { ok, body } = await api("/v1/routes");
  if (!ok) return;
  state.routes.clear();
  routesLayer.clearLayers();
  for (const [uid, r] of Object.entries(body)) drawRoute(uid, r);
}

async function loadPositions() {
  const { body } = await api("/v1/units");
  for (const u of body.units || []) {
    if (!u.position) continue;
    state.positions.set(u.unit_id, u.position);
    UnitBoard.noteFix(u.unit_id, Date.parse(u.position.at));
  }
  for (const uid of state.units.keys()) drawUnit(uid);
}

function drawRoute(uid, r) {
  const unit = state.units.get(uid);
  const color = unit ? AGENCY_COLOR[unit.agency] : "#333";
  const line = L.polyline(r.coords.map(([lon, lat]) => [lat, lon]), { color, weight: 4, opacity: 0.7, dashArray: "6 4" })
    .bindTooltip(`${uid} · ${t("eta")} ${(r.eta_s / 60).toFixed(1)} ${t("min")}`);
  const old = state.routes.get(uid);
  if (old) routesLayer.removeLayer(old.line);
  line.addTo(routesLayer);
  state.routes.set(uid, { ...r, line });
}

function renderRoster() {
  const r = state.roster;
  if (!r) return;
  const names = Object.entries(r.duties).map(([a, d]) => `<span class="tag a${a}">${a}</span>${escapeHtml(d.convener.name)}`).join(" ");
  // a lead handed over because the lead centre went dark says so, with the reason on hover
  const handed = r.lead_reason
    ? ` <span class="handover" title="${escapeHtml(r.lead_reason)}">${t("leadHandedOver")}</span>` : "";
  document.getElementById("roster").innerHTML = `${r.day} · ${t("lead")} <b>${r.lead}</b>${handed} · ${names}`;
}

function renderKinds() {
  const sel = document.getElementById("kind");
  const current = sel.value;
  sel.innerHTML = "";
  for (const [kind, p] of Object.entries(state.plans)) {
    const o = document.createElement("option");
    o.value = kind;
    o.textContent = (lang === "zh" && p.label.zh) || p.label.en;
    sel.appendChild(o);
  }
  sel.value = current || "traffic_crash_injury";
}

const label = (inc) => (lang === "zh" && inc.label && inc.label.zh) || (inc.label && inc.label.en) || inc.kind;

function upsertIncident(inc) {
  const active = ["open", "dispatched", "on_scene"].includes(inc.status);
  const old = state.incidentMarkers.get(inc.incident_id);
  if (old) { incidentsLayer.removeLayer(old); state.incidentMarkers.delete(inc.incident_id); }
  if (!active) { state.incidents.delete(inc.incident_id); return; }
  state.incidents.set(inc.incident_id, inc);
  if (inc.location.lat != null) {
    const m = L.circleMarker([inc.location.lat, inc.location.lon], {
      radius: 7 + inc.severity * 1.5 + Math.min(inc.call_count, 6), color: "#111", weight: 2,
      fillColor: SEV_COLOR[inc.severity] || "#999", fillOpacity: 0.9,
    }).bindTooltip(`${inc.incident_id} ${label(inc)} · ${inc.call_count} ${t("calls")}`);
    m.on("click", () => showDetail(inc.incident_id));
    if (state.filters.incidentShown(inc)) m.addTo(incidentsLayer);
    state.incidentMarkers.set(inc.incident_id, m);
  }
}

function unitLatLng(u) {
  const p = state.positions.get(u.unit_id);
  if (p) return [p.lat, p.lon];
  const s = state.stations.get(u.station_id);
  return s ? [s.lat, s.lon] : null;
}

function upsertUnit(u) {
  state.units.set(u.unit_id, { ...(state.units.get(u.unit_id) || {}), ...u });
  drawUnit(u.unit_id);
}

function drawUnit(uid) {
  const u = state.units.get(uid);
  const p = state.positions.get(uid);
  if (p) { fleet.move(uid, p.lat, p.lon, p.heading, u); return; }
  const where = u && unitLatLng(u);
  if (where && !fleet.units.has(uid)) fleet.move(uid, where[0], where[1], null, u);
  else fleet.update(uid, u);
}

// The filters' choices in the page's language: incident kinds from the response plans, and the
// status phases that apply to incidents and units alike (console_filters.js).
function renderFilterChoices() {
  const kinds = document.getElementById("kind-filter");
  kinds.length = 1;
  for (const [kind, p] of Object.entries(state.plans)) kinds.add(new Option((lang === "zh" && p.label.zh) || p.label.en, kind));
  kinds.value = state.filters.kind;
  const phases = document.getElementById("status-filter");
  phases.length = 1;
  for (const [phase, p] of Object.entries(PHASES)) phases.add(new Option(t(p.label), phase));
  phases.value = state.filters.phase;
  document.getElementById("sev-legend").innerHTML = `${t("severity")}: ${IncidentQueue.legend()}`;
}

function renderList(changedUnits = null) {
  const shown = IncidentQueue.render(document.getElementById("incidents"), state.incidents, state.whistles,
                                     state.filters, label, showDetail);
  document.getElementById("count").textContent = `(${shown}/${state.incidents.size})`;
  document.getElementById("unit-count").textContent = `${fleet.count()} ${t("units")}`;
  for (const [id, m] of state.incidentMarkers) {
    const want = state.filters.incidentShown(state.incidents.get(id));
    if (want !== incidentsLayer.hasLayer(m)) { if (want) m.addTo(incidentsLayer); else incidentsLayer.removeLayer(m); }
  }
  fleet.dirty = true;
  scheduleBoard(changedUnits);
}

// The board is redrawn at most once a frame however many events arrive, and every 5 s for the
// stale flags (its timers run on the Ticker).
// An event redraws only the rows of the units it names (`changedUnits`); anything else (a
// snapshot, a filter, the 5 s stale look) the whole board.
let boardPending = false, boardFull = false;
const boardUnits = new Set();
function scheduleBoard(changedUnits = null) {
  if (changedUnits === null) boardFull = true; else for (const id of changedUnits) boardUnits.add(id);
  if (boardPending) return;
  boardPending = true;
  requestAnimationFrame(() => {
    boardPending = false;
    const box = document.getElementById("board");
    const ids = [...boardUnits];
    boardUnits.clear();
    const full = boardFull;
    boardFull = false;
    if (full || !UnitBoard.patch(box, ids, state.units, state.incidents, state.filters)) {
      UnitBoard.render(box, state.units, state.incidents, state.filters);
    }
  });
}
setInterval(() => scheduleBoard(), 5000);
UnitBoard.wire(document.getElementById("board"), state.units);
UnitBoard.onChange = async (u, status) => {
  const out = document.getElementById("board-msg");
  const r = await api(`/v1/units/${encodeURIComponent(u.unit_id)}/status`, {
    method: "POST", body: JSON.stringify({ status, by: WhistlePanel.person() }) }, `${u.call_sign} → ${statusText(status)}`);
  out.textContent = r.ok ? `${u.call_sign}: ${statusText(status)}` : `${u.call_sign}: ${r.body.error || r.status}`;
  out.className = r.ok ? "hint" : "hint refused";
  if (r.ok) upsertUnit(r.body);
};

// The detail is drawn again on every event about its incident: what the dispatcher was typing
// (a reason half written, a unit picked) and where the cursor was survive it.
function keptInput(box) {
  const kept = { values: [], focus: null };
  for (const f of box.querySelectorAll("form[id]")) {
    for (const el of f.elements) {
      if (!el.name || el.disabled) continue;
      kept.values.push([f.id, el.name, el.value]);
      if (el === document.activeElement) kept.focus = [f.id, el.name];
    }
  }
  return kept;
}

function restoreInput(box, kept) {
  for (const [form, name, value] of kept.values) {
    const el = box.querySelector(`form#${form}`)?.elements[name];
    if (el && value !== "" && (el.tagName !== "SELECT" || [...el.options].some((o) => o.value === value))) el.value = value;
  }
  if (kept.focus) box.querySelector(`form#${kept.focus[0]}`)?.elements[kept.focus[1]]?.focus();
}

async function showDetail(id) {
  state.selected = id;
  const { body: inc } = await api(`/v1/incidents/${encodeURIComponent(id)}`);
  const box = document.getElementById("detail");
  box.hidden = false;
  const calls = inc.calls.map((c) => `<li>${c.call_id} <time>${CentreClock.time(c.received_at)}</time> <span class="tag a${c.hotline}">${c.hotline}</span> ${escapeHtml(c.kind)}: ${escapeHtml(c.text)}<br><small>${escapeHtml(c.reason)}</small></li>`).join("");
  const tasks = Object.entries(inc.tasks).map(([a, tk]) => `<span class="tag a${a}">${a}</span> ${escapeHtml(statusText(tk.status))}`).join(" ");
  const line = (e) => (lang === "zh" && e.summary_zh) || e.summary; // the server says both
  const tl = inc.timeline.map((e) => `<li><time>${CentreClock.time(e.at)}</time> ${escapeHtml(line(e))}</li>`).join("");
  const whistle = [...state.whistles.values()].find((w) => w.incident_id === id && w.active);
  const whistleHtml = whistle ? WhistlePanel.table(whistle) : WhistlePanel.form(inc);
  const typed = keptInput(box);
  box.innerHTML = `<h2>${inc.incident_id} ${escapeHtml(label(inc))}</h2><p>${tasks}</p>
    <div id="assigned">${IncidentWorkspace.units(inc)}${IncidentWorkspace.addUnitForm(inc)}</div>
    <div id="destination">${IncidentWorkspace.destination(inc, null)}</div>
    <div id="check-ins">${IncidentWorkspace.checkIns(inc)}</div>
    <div id="rec">${IncidentWorkspace.recommendation(id, null)}</div>${whistleHtml}
    <div id="notes-box">${IncidentWorkspace.notes(inc)}</div>
    <h3>${t("calls")}</h3><ol>${calls}</ol>${IncidentWorkspace.splitMergeForms(inc, label)}
    <h2>${t("timeline")}</h2><ol>${tl}</ol>${IncidentWorkspace.closeForm()}`;
  restoreInput(box, typed);
  IncidentWorkspace.wire(box, inc, api, () => WhistlePanel.person(), (closed, sent) => {
    if (sent) for (const [uid, route] of Object.entries(sent.routes || {})) drawRoute(uid, route);
    if (closed) { box.hidden = true; state.selected = null; } else showDetail(id);
  });
  WhistlePanel.wire(box, inc, whistle, api, (answer) => {
    for (const [uid, route] of Object.entries(answer.routes || {})) drawRoute(uid, route);
    showDetail(id);
  });
  Ticker.tick(box);
  if (inc.corridors && inc.corridors.length) {
    const rows = inc.corridors.map((c) => {
      const unit = state.units.get(c.unit_id);
      const marks = c.signals.map((sg) => `<span title="${sg.signal_id}: ${sg.status} ${escapeHtml(sg.reason || "")}" style="color:${SIGNAL_COLOR[sg.degraded ? "degraded" : sg.status] || "#999"}">■</span>`).join("");
      return `<li>${escapeHtml(unit ? unit.call_sign : c.unit_id)}: ${marks} ${t("eta")} ${(c.eta_green_s / 60).toFixed(1)} ${t("min")} (−${(c.saved_s / 60).toFixed(1)})</li>`;
    }).join("");
    box.querySelector("#rec").insertAdjacentHTML("beforebegin", `<h2>Green wave</h2><ul class="corridors">${rows}</ul>`);
  }
  showRecommendation(id);
}

// Every active green wave on the map, signal by signal, coloured by its state; the side panel lists
// them with countdowns, revised windows and time saved, and a banner names uncovered signals.
function signalState(sg) { return sg.status !== "released" && sg.degraded ? "degraded" : sg.status; }

function drawCorridors() {
  corridorLayer.clearLayers();
  for (const c of state.corridors.values()) {
    const unit = state.units.get(c.unit_id);
    for (const sg of c.signals) {
      const at = state.signals && state.signals.get(sg.signal_id);
      if (!at) continue;
      const st = signalState(sg);
      L.rectangle([[at.lat - 0.0004, at.lon - 0.00046], [at.lat + 0.0004, at.lon + 0.00046]],
                  { color: "#111", weight: 1, fillColor: SIGNAL_COLOR[st] || "#999", fillOpacity: 0.95 })
        .bindTooltip(() => `${sg.signal_id} · ${unit ? unit.call_sign : c.unit_id} · ${st}${countdown(sg)}`)
        .addTo(corridorLayer);
    }
  }
  renderCorridors();
}

function countdown(sg) {
  if (sg.status === "released" || sg.status === "refused") return "";
  const start = sg.served_start ?? sg.window_start;
  const secs = Math.round(start - Date.now() / 1000);
  return secs > 0 ? ` · ${t("greenIn")} ${secs} ${t("s")}` : "";
}

function renderCorridors() {
  const list = [...state.corridors.values()].filter((c) => c.active);
  const box = document.getElementById("corridors");
  document.getElementById("corridor-section").hidden = list.length === 0;
  box.innerHTML = list.map((c) => {
    const unit = state.units.get(c.unit_id);
    const chips = c.signals.map((sg) => {
      const st = signalState(sg);
      const revised = sg.served_start != null && sg.window_start != null && Math.abs(sg.served_start - sg.window_start) > 1
        ? ` ${t("revised")} ${sg.served_start > sg.window_start ? "+" : ""}${Math.round(sg.served_start - sg.window_start)} ${t("s")}` : "";
      return `<li class="sig ${st}" data-signal="${sg.signal_id}"><b>${escapeHtml(sg.signal_id)}</b> ${st}${revised}${countdown(sg)}</li>`;
    }).join("");
    return `<li data-unit="${c.unit_id}"><span class="tag a${unit ? unit.agency : ""}">${escapeHtml(unit ? unit.call_sign : c.unit_id)}</span>
      → ${c.incident_id} · ${t("eta")} ${(c.eta_green_s / 60).toFixed(1)} ${t("min")} ${t("withWave")},
      ${(c.eta_s / 60).toFixed(1)} ${t("without")} (<b class="saved">${t("saved")} ${(c.saved_s / 60).toFixed(1)} ${t("min")}</b>)
      <ol class="signals">${chips}</ol></li>`;
  }).join("");
  const uncovered = list.flatMap((c) => c.signals.filter((sg) => sg.status !== "released" && sg.degraded).map((sg) => sg.signal_id));
  const banner = document.getElementById("degraded");
  if (banner.hidden !== (uncovered.length === 0)) setTimeout(() => map.invalidateSize(), 0);
  banner.hidden = uncovered.length === 0;
  banner.textContent = `⚠ ${t("degraded")} ${[...new Set(uncovered)].join(", ")}`;
}
setInterval(() => { if (state.corridors.size) renderCorridors(); }, 1000);

async function showRecommendation(id) {
  const { ok, body } = await api(`/v1/incidents/${encodeURIComponent(id)}/recommendation`);
  const box = document.getElementById("rec");
  if (!box || !ok || state.selected !== id) return;
  box.innerHTML = IncidentWorkspace.recommendation(id, body);
  const inc = state.incidents.get(id);
  if (inc) document.getElementById("destination").innerHTML = IncidentWorkspace.destination(inc, body);
  const confirm = document.getElementById("confirm");
  if (confirm) confirm.onclick = async () => {
    const r = await api(`/v1/incidents/${encodeURIComponent(id)}/assign`, { method: "POST", body: "{}" }, t("confirm"));
    if (r.ok) for (const [uid, route] of Object.entries(r.body.routes)) drawRoute(uid, route);
    showDetail(id);
  };
}

async function showUnit(uid) {
  const { body: u } = await api(`/v1/units/${encodeURIComponent(uid)}`);
  const box = document.getElementById("detail");
  box.hidden = false;
  const route = u.route ? `<p>${t("route")}: ${(u.route.length_m / 1000).toFixed(1)} km · ${t("eta")} ${(u.route.eta_s / 60).toFixed(1)} ${t("min")}</p>` : "";
  box.innerHTML = `<h2><span class="tag a${u.agency}">${u.agency}</span> ${escapeHtml(u.call_sign)}</h2>
    <p>${escapeHtml(u.kind)} · ${u.status}${u.incident_id ? ` → ${u.incident_id}` : ""}${u.stale ? " · stale" : ""}</p>${route}`;
}

// Closed and slowed roads: drawn over the network; right-click a road to close or slow it, click a
// drawn closure to reopen it. Every screen sees them through the log, as routing does.
function drawRestrictions() {
  closuresLayer.clearLayers();
  for (const r of state.roads.values()) {
    const closed = r.state === "closed";
    const line = L.polyline(r.road.map(([lon, lat]) => [lat, lon]),
                            { color: closed ? "#b91c1c" : "#ea580c", weight: 7, opacity: 0.9, dashArray: closed ? null : "6 5" });
    const what = closed ? t("closed") : `${t("slowed")} ${r.speed_kmh} km/h`;
    const box = document.createElement("div");
    box.innerHTML = `<b>${escapeHtml(r.restriction_id)}</b> ${escapeHtml(what)}<br>${escapeHtml(r.reason)} · ${escapeHtml(r.by)} (${escapeHtml(r.by_agency)})<br>`;
    const reopen = document.createElement("button");
    reopen.textContent = t("reopen");
    reopen.onclick = () => { api(`/v1/roads/restrictions/${r.restriction_id}/reopen`, { method: "POST", body: "{}" }); map.closePopup(); };
    box.appendChild(reopen);
    line.bindPopup(box).addTo(closuresLayer);
  }
}

map.on("contextmenu", (e) => {
  const box = document.createElement("div");
  const place = { lon: e.latlng.lng, lat: e.latlng.lat };
  for (const [label, extra] of [["closeRoad", {}], ["slowRoad", { speed_kmh: 20 }]]) {
    const b = document.createElement("button");
    b.textContent = t(label);
    b.onclick = () => {
      api("/v1/roads/restrictions", { method: "POST", body: JSON.stringify({ location: place, by: "map", ...extra }) });
      map.closePopup();
    };
    box.appendChild(b);
  }
  L.popup().setLatLng(e.latlng).setContent(box).openOn(map);
});


function applyMessage(msg) {
  if (msg.type === "snapshot") {
    state.incidents.clear(); incidentsLayer.clearLayers(); state.incidentMarkers.clear();
    state.whistles.clear();
    for (const inc of msg.incidents) upsertIncident(inc);
    for (const w of msg.whistles || []) state.whistles.set(w.whistle_id, w);
    for (const u of msg.units || []) upsertUnit(u);
    state.corridors.clear();
    for (const c of msg.corridors || []) state.corridors.set(c.unit_id, c);
    drawCorridors();
    state.roads.clear();
    for (const r of msg.roads || []) state.roads.set(r.restriction_id, r);
    drawRestrictions();
    state.seq = msg.seq;
    posts.load();
    loadRoutes();
    loadPositions();
  } else if (msg.type === "event") {
    if (state.seq !== null && msg.seq <= state.seq) return; // already seen (after a resync)
    for (const inc of msg.incidents) upsertIncident(inc);
    for (const w of msg.whistles || []) state.whistles.set(w.whistle_id, w);
    for (const u of msg.units || []) upsertUnit(u);
    for (const c of msg.corridors || []) state.corridors.set(c.unit_id, c);
    if (msg.corridors) drawCorridors();
    for (const r of msg.roads || []) {
      if (r.reopened_at) state.roads.delete(r.restriction_id); else state.roads.set(r.restriction_id, r);
    }
    if (msg.roads) drawRestrictions();
    state.seq = msg.seq;
    // Routes are worked out just after the assignment is logged: look again a moment later.
    if (["unit_assigned", "unit_status_changed", "unit_rerouted", "green_wave_requested"].includes(msg.event.type)) loadRoutes();
    if (msg.event.type === "unit_assigned") setTimeout(loadRoutes, 1000);
    if (["lead_handed_over", "roster_day_planned"].includes(msg.event.type)) loadRoster();
    if (msg.event.type === "lead_handed_over") {
      const e = msg.event;
      Notices.show("lead", "warn", `${t("leadNow")} ${e.to_agency} (${t("told")} ${e.told})`, e.reason);
    }
    if (posts.changedBy(msg.event.type)) posts.load();
    HomesLayer.heard(msg.event.type);
    if (state.selected && (msg.incidents.some((i) => i.incident_id === state.selected))) showDetail(state.selected);
  } else if (msg.type === "positions") {
    for (const [uid, lon, lat, heading, speed] of msg.positions) { // compact: see web/live.py
      state.positions.set(uid, { unit_id: uid, lon, lat, heading, speed_kmh: speed });
      UnitBoard.noteFix(uid, msg.at * 1000); // the batch's oldest fix: never younger than it was
      const u = state.units.get(uid);
      if (u) fleet.move(uid, lat, lon, heading, u);
    }
    return;
  } else {
    return; // heartbeat
  }
  document.getElementById("seq").textContent = `#${state.seq}`;
  // an event redraws the board rows of the units it names and of those on its incidents
  renderList(msg.type === "event" ? [...(msg.units || []).map((u) => u.unit_id),
    ...msg.incidents.flatMap((i) => (i.units || []).map((u) => u.unit_id))] : null);
  lookForAlarms();
}

// The alarm banner (alerts.js): looked at on every message and every second, since a deadline
// passes without any event. Acting on an alarm is the same request as the panel's button.
const lookForAlarms = () => Alerts.check(state.incidents, state.whistles, label);
Alerts.onOpen = (id) => showDetail(id);
Alerts.onAct = async (alarm) => {
  const by = WhistlePanel.person();
  const r = alarm.kind === "whistle"
    ? await api(`/v1/whistles/${encodeURIComponent(alarm.whistle_id)}/ack`, { method: "POST", body: JSON.stringify({ agency: alarm.agency, by }) }, t("ack"))
    : await api(`/v1/incidents/${encodeURIComponent(alarm.incident_id)}/check-ins`, { method: "POST", body: JSON.stringify({ agency: alarm.agency, by }) }, t("checkIn"));
  return r.ok;
};

let retry = 500;
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const since = state.seq === null ? "" : `&since=${state.seq}`;
  // a browser cannot set headers on a websocket: the key goes in the query
  const ws = new WebSocket(`${proto}://${location.host}/v1/live?key=${encodeURIComponent(KEY)}${since}`);
  ws.onopen = () => { retry = 500; state.connected = true; renderConnection(); Notices.clear("lost"); };
  ws.onmessage = (e) => applyMessage(JSON.parse(e.data));
  ws.onclose = (e) => {
    state.connected = false;
    renderConnection();
    if (e.code === 4401) { KeyGate.refused(e.reason || t("keyRevoked")); return; } // no use retrying
    // a blip is not worth a message; a second without the socket is
    setTimeout(() => { if (!state.connected) Notices.show("lost", "lost", t("connLost"), t("connWhatToDo"), true); }, 1500);
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 5000);
  };
}

map.on("click", (e) => {
  if (e.originalEvent.fleetHit) return; // a unit was clicked, not a place
  state.pick = e.latlng;
  document.getElementById("where").textContent = `${e.latlng.lng.toFixed(5)}, ${e.latlng.lat.toFixed(5)}`;
});

document.getElementById("call-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = document.getElementById("call-result");
  if (!state.pick) { out.textContent = t("clickMap"); return; }
  const f = new FormData(e.target);
  const body = {
    hotline: f.get("hotline"), kind: f.get("kind"), text: f.get("text") || "",
    // no received_at: the server stamps the call with its own clock, not this browser's
    location: { lon: state.pick.lng, lat: state.pick.lat },
  };
  if (f.get("caller_number")) body.caller_number = f.get("caller_number");
  const r = await api("/v1/calls", { method: "POST", headers: authed({ "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() }), body: JSON.stringify(body) }, t("send"));
  const j = r.body;
  out.textContent = r.ok ? `${j.call_id} → ${j.incident_id}: ${j.reason}` : j.error || "";
  if (r.ok) showDetail(j.incident_id);
});

for (const box of document.querySelectorAll("#filters input")) {
  box.onchange = () => {
    if (box.checked) state.filters.agencies.add(box.dataset.agency); else state.filters.agencies.delete(box.dataset.agency);
    fleet.dirty = true;
    renderList();
  };
}
document.getElementById("kind-filter").onchange = (e) => { state.filters.kind = e.target.value; fleet.dirty = true; renderList(); };
document.getElementById("status-filter").onchange = (e) => { state.filters.phase = e.target.value; fleet.dirty = true; renderList(); };

// The badge says what the socket is, in the page's language: drawn from the state, never from a
// translated default, so switching language cannot turn "live" into "offline".
function renderConnection() {
  const conn = document.getElementById("conn");
  conn.className = `conn ${state.connected ? "up" : "down"}`;
  conn.textContent = t(state.connected ? "online" : "offline");
}

function applyLanguage() {
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  document.getElementById("lang").textContent = t("lang");
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  renderKinds(); renderFilterChoices(); renderList(); renderRoster(); renderConnection(); lookForAlarms();
  document.getElementById("board-keys").innerHTML = UnitBoard.legend();
  if (state.selected) showDetail(state.selected); // its timeline in the other language
}
document.getElementById("lang").onclick = () => {
  lang = lang === "en" ? "zh" : "en";
  localStorage.setItem("lang", lang);
  applyLanguage();
};

async function loadCentre() {
  const asked = Date.now();
  const { ok, body } = await api("/v1/centre");
  if (ok) {
    CentreClock.apply(body, asked, Date.now());
    UnitBoard.transitions = body.unit_transitions;
    if (body.check_in_after_s) Alerts.checkInAfterS = body.check_in_after_s;
  }
  state.centre = body;
  renderLocalClock();
}

function renderLocalClock() {
  const el = document.getElementById("clock");
  el.textContent = CentreClock.time(CentreClock.now());
  el.title = `${t("localTime")} (${CentreClock.zone})`;
}
setInterval(renderLocalClock, 1000);

(async () => {
  const me = await KeyGate.check(KEY);
  if (!me) return; // the key gate says why and asks for another
  WhistlePanel.me = me;
  Alerts.me = me;
  IncidentWorkspace.me = me;
  state.me = me;
  await Promise.all([loadCentre(), loadRoads(), loadPlans(), loadFleetPlaces(), loadRoster(),
                    HomesLayer.start(map, authed)]);
  applyLanguage();
  Ticker.start();
  Alerts.start(lookForAlarms);
  connect();
})();
