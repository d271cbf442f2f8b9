// The homes layer of the shared map (issue 20): the residents of the home-alarm programme where
// they live, and the alarms still in hand (checking, or in an active incident), from
// GET /v1/map/homes. Never a care plan: every screen sees the map. Redrawn when the live log
// tells of an alarm, a responder or the register.
"use strict";

Object.assign(I18N.en, {
  homesLayer: "Homes and alarms", alarmOf: "alarm", residentDevices: "devices", step: "check",
  ak_smoke: "smoke alarm", ak_fall: "fall", ak_sos: "SOS", ak_no_motion: "no motion",
  ak_door_open: "door open at night", ak_heart_rate: "heart rate", as_raised: "raised",
  as_verifying: "checking", as_escalated: "in an incident", as_resolved: "resolved",
});
Object.assign(I18N.zh, {
  homesLayer: "居家老人与报警", alarmOf: "报警", residentDevices: "设备", step: "核实",
  ak_smoke: "烟感报警", ak_fall: "跌倒", ak_sos: "一键呼救", ak_no_motion: "长时间无活动",
  ak_door_open: "夜间门磁打开", ak_heart_rate: "心率异常", as_raised: "已报警",
  as_verifying: "核实中", as_escalated: "已转警情", as_resolved: "已解除",
});

const HOME_EVENTS = /^(device_alarm_|alarm_|responder_|resident_registered|device_registered)/;

const HomesLayer = {
  map: null, authed: null, layer: null, homes: new Map(), alarms: new Map(), loaded: false, _timer: null,

  start(map, authed) {
    this.map = map;
    this.authed = authed;
    this.layer = L.layerGroup().addTo(map);
    this.control = L.control.layers(null, { [t("homesLayer")]: this.layer }, { collapsed: false }).addTo(map);
    return this.load();
  },

  async load() {
    let body;
    try {
      const r = await fetch("/v1/map/homes", { headers: this.authed() });
      if (!r.ok) return; // a key without the screens' roles: no layer
      body = await r.json();
    } catch (e) {
      return; // the server is away: the next live event asks again
    }
    this.homes = new Map(body.residents.map((h) => [h.resident_id, h]));
    this.alarms = new Map(body.alarms.map((a) => [a.alarm_id, a]));
    this.draw();
    this.loaded = true;
  },

  // A burst of alarm events (a flapping device) is one look a moment later.
  heard(type) {
    if (!HOME_EVENTS.test(type)) return;
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this.load(), 300);
  },

  draw() {
    this.layer.clearLayers();
    const alarmed = new Set([...this.alarms.values()].map((a) => a.resident_id));
    for (const h of this.homes.values()) {
      if (alarmed.has(h.resident_id)) continue; // the alarm's marker stands for the home
      const [lon, lat] = h.location;
      L.circleMarker([lat, lon], { radius: 4, color: "#6b7280", weight: 1, fillColor: "#e5e7eb", fillOpacity: 1 })
        .bindPopup(this.homeHtml(h)).addTo(this.layer);
    }
    for (const a of this.alarms.values()) {
      const [lon, lat] = a.location;
      const icon = L.divIcon({ className: `home-alarm ${a.status} k-${a.kind}`, iconSize: [18, 18],
                               html: a.count > 1 ? `<b>${a.count}</b>` : "" });
      const home = this.homes.get(a.resident_id);
      L.marker([lat, lon], { icon, title: `${t(`ak_${a.kind}`)} · ${home ? home.address : a.resident_id}` })
        .bindPopup(`${this.alarmHtml(a)}${home ? this.homeHtml(home) : ""}`).addTo(this.layer);
    }
  },

  alarmHtml(a) {
    const step = a.step ? ` · ${t("step")}: ${escapeHtml(a.step.replace(/_/g, " "))}` : "";
    const inc = a.incident_id ? ` · <a href="#" data-incident="${escapeHtml(a.incident_id)}">${escapeHtml(a.incident_id)}</a>` : "";
    return `<p class="alarm-pop"><b>${escapeHtml(t(`ak_${a.kind}`))}</b> ${escapeHtml(a.alarm_id)}` +
      ` · ${escapeHtml(t(`as_${a.status}`))} · ${CentreClock.time(a.raised_at)}${step}${inc}</p>`;
  },

  homeHtml(h) {
    return `<p class="home-pop">${escapeHtml(h.name)}<br>${escapeHtml(h.address)}<br>` +
      `${t("residentDevices")}: ${h.devices.map((d) => escapeHtml(d.replace(/_/g, " "))).join(", ")}</p>`;
  },
};
