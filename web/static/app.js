// The shared map: roads from the server's own network, incidents live over the websocket.
"use strict";

const I18N = {
  en: { title: "Joint dispatch", offline: "offline", online: "live", newCall: "New call",
        hotline: "Hotline", kind: "Kind", caller: "Caller", text: "Text", send: "Send call",
        clickMap: "Click the map to place the call.", openIncidents: "Open incidents",
        calls: "calls", tasks: "Tasks", timeline: "Timeline", lang: "中文" },
  zh: { title: "联合调度", offline: "离线", online: "在线", newCall: "新警情",
        hotline: "热线", kind: "类型", caller: "来电号码", text: "描述", send: "提交",
        clickMap: "在地图上点击以定位。", openIncidents: "处置中的事件",
        calls: "次来电", tasks: "任务", timeline: "时间线", lang: "English" },
};
let lang = localStorage.getItem("lang") || "en";
const t = (k) => (I18N[lang] && I18N[lang][k]) || k;

const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25 });
const roadsLayer = L.layerGroup().addTo(map);
const incidentsLayer = L.layerGroup().addTo(map);
const ROAD_STYLE = {
  motorway: [4, "#e76f51"], trunk: [3.5, "#e76f51"], primary: [3, "#f4a261"],
  secondary: [2.2, "#e9c46a"], tertiary: [1.6, "#bbb"], residential: [0.8, "#ccc"],
};
const state = { seq: null, incidents: new Map(), markers: new Map(), plans: {}, pick: null, selected: null };
window.jd = state; // for browser tests and curious dispatchers

async function loadRoads() {
  const data = await (await fetch("/v1/map/roads")).json();
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

async function loadPlans() {
  state.plans = await (await fetch("/v1/plans")).json();
  renderKinds();
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

function label(inc) {
  return (lang === "zh" && inc.label && inc.label.zh) || (inc.label && inc.label.en) || inc.kind;
}

const SEV_COLOR = { 5: "#9d0208", 4: "#dc2f02", 3: "#f48c06", 2: "#ffba08", 1: "#8ecae6" };

function upsert(inc) {
  const active = ["open", "dispatched", "on_scene"].includes(inc.status);
  const old = state.markers.get(inc.incident_id);
  if (old) { incidentsLayer.removeLayer(old); state.markers.delete(inc.incident_id); }
  if (!active) { state.incidents.delete(inc.incident_id); return; }
  state.incidents.set(inc.incident_id, inc);
  if (inc.location.lat != null) {
    const m = L.circleMarker([inc.location.lat, inc.location.lon], {
      radius: 6 + inc.severity * 1.5 + Math.min(inc.call_count, 6), color: "#111", weight: 1,
      fillColor: SEV_COLOR[inc.severity] || "#999", fillOpacity: 0.85,
    }).bindTooltip(`${inc.incident_id} ${label(inc)} · ${inc.call_count} ${t("calls")}`);
    m.on("click", () => showDetail(inc.incident_id));
    m.addTo(incidentsLayer);
    state.markers.set(inc.incident_id, m);
  }
}

function renderList() {
  const ol = document.getElementById("incidents");
  const items = [...state.incidents.values()].sort(
    (a, b) => b.severity - a.severity || b.reported_at.localeCompare(a.reported_at));
  document.getElementById("count").textContent = `(${items.length})`;
  ol.innerHTML = "";
  for (const inc of items) {
    const li = document.createElement("li");
    li.className = `sev${inc.severity}`;
    li.dataset.id = inc.incident_id;
    const tags = Object.keys(inc.tasks).sort().map((a) => `<span class="tag a${a}">${a}</span>`).join("");
    li.innerHTML = `<b>${inc.incident_id}</b> ${escapeHtml(label(inc))} · ${inc.call_count} ${t("calls")}<br>${tags} <small>${inc.status}</small>`;
    li.onclick = () => showDetail(inc.incident_id);
    ol.appendChild(li);
  }
}

async function showDetail(id) {
  state.selected = id;
  const inc = await (await fetch(`/v1/incidents/${encodeURIComponent(id)}`)).json();
  const box = document.getElementById("detail");
  box.hidden = false;
  const calls = inc.calls.map((c) => `<li>${c.call_id} <span class="tag a${c.hotline}">${c.hotline}</span> ${escapeHtml(c.kind)}: ${escapeHtml(c.text)}<br><small>${escapeHtml(c.reason)}</small></li>`).join("");
  const tasks = Object.entries(inc.tasks).map(([a, tk]) => `<span class="tag a${a}">${a}</span> ${tk.status}`).join(" ");
  const tl = inc.timeline.map((e) => `<li>${e.at.slice(11, 19)} ${escapeHtml(e.summary)}</li>`).join("");
  box.innerHTML = `<h2>${inc.incident_id} ${escapeHtml(label(inc))}</h2><p>${tasks}</p><ol>${calls}</ol><h2>${t("timeline")}</h2><ol>${tl}</ol>`;
}

function escapeHtml(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function applyMessage(msg) {
  if (msg.type === "snapshot") {
    state.incidents.clear();
    incidentsLayer.clearLayers();
    state.markers.clear();
    for (const inc of msg.incidents) upsert(inc);
    state.seq = msg.seq;
  } else if (msg.type === "event") {
    if (state.seq !== null && msg.seq <= state.seq) return; // already seen (after a resync)
    for (const inc of msg.incidents) upsert(inc);
    state.seq = msg.seq;
    if (state.selected && msg.incidents.some((i) => i.incident_id === state.selected)) showDetail(state.selected);
  } else if (msg.type === "heartbeat") {
    return;
  }
  document.getElementById("seq").textContent = `#${state.seq}`;
  renderList();
}

let retry = 500;
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const since = state.seq === null ? "" : `?since=${state.seq}`;
  const ws = new WebSocket(`${proto}://${location.host}/v1/live${since}`);
  const conn = document.getElementById("conn");
  ws.onopen = () => { conn.className = "conn up"; conn.textContent = t("online"); retry = 500; state.connected = true; };
  ws.onmessage = (e) => applyMessage(JSON.parse(e.data));
  ws.onclose = () => {
    state.connected = false;
    conn.className = "conn down"; conn.textContent = t("offline");
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 5000);
  };
}

map.on("click", (e) => {
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
    received_at: new Date().toISOString(),
    location: { lon: state.pick.lng, lat: state.pick.lat },
  };
  if (f.get("caller_number")) body.caller_number = f.get("caller_number");
  const r = await fetch("/v1/calls", { method: "POST", headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() }, body: JSON.stringify(body) });
  const j = await r.json();
  out.textContent = r.ok ? `${j.call_id} → ${j.incident_id}: ${j.reason}` : j.error;
});

function applyLanguage() {
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  document.getElementById("lang").textContent = t("lang");
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  renderKinds();
  renderList();
}
document.getElementById("lang").onclick = () => {
  lang = lang === "en" ? "zh" : "en";
  localStorage.setItem("lang", lang);
  applyLanguage();
};

(async () => {
  await Promise.all([loadRoads(), loadPlans()]);
  applyLanguage();
  connect();
})();
