// The fleet on one canvas: every unit drawn in a single pass per animation frame, gliding from
// where it was drawn to its newest fix over about one update interval, pointing where it heads.
// A city's fleet (thousands of units at 1 Hz) is far too many for one DOM element or one Leaflet
// layer each; one canvas costs the same whatever the count.
"use strict";

class FleetCanvas {
  constructor(map, { colors, onClick }) {
    this.map = map;
    this.colors = colors;
    this.units = new Map(); // id -> {from:[lat,lng], to:[lat,lng], start, dur, heading, info}
    this.visible = () => true;
    this.frames = 0; // drawn frames, for the frame-rate figure
    this.canvas = document.createElement("canvas");
    this.canvas.className = "fleet-canvas";
    map.getContainer().appendChild(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.dirty = true;
    map.on("move zoom resize viewreset", () => { this.dirty = true; });
    map.on("resize", () => this.resize());
    this.resize();
    map.on("click", (e) => {
      const hit = this.hit(e.containerPoint);
      if (hit) { e.originalEvent.fleetHit = hit; onClick(hit); }
    });
    const loop = (now) => { this.draw(now); requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  }

  resize() {
    const size = this.map.getSize();
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = size.x * ratio;
    this.canvas.height = size.y * ratio;
    this.canvas.style.width = `${size.x}px`;
    this.canvas.style.height = `${size.y}px`;
    this.ratio = ratio;
    this.dirty = true;
  }

  // Where a unit is drawn at this moment (between its last two fixes).
  at(id, now = performance.now()) {
    const u = this.units.get(id);
    if (!u) return null;
    const k = u.dur > 0 ? Math.min(1, (now - u.start) / u.dur) : 1;
    return [u.from[0] + (u.to[0] - u.from[0]) * k, u.from[1] + (u.to[1] - u.from[1]) * k];
  }

  // A new fix (or a first place): glide there over the time the last fix took to come.
  move(id, lat, lng, heading, info) {
    const now = performance.now();
    const u = this.units.get(id);
    if (!u) {
      this.units.set(id, { from: [lat, lng], to: [lat, lng], start: now, dur: 0, last: now,
                           heading: heading ?? null, info });
    } else {
      const here = this.at(id, now);
      const dLat = lat - here[0], dLng = lng - here[1];
      let h = heading;
      if (h == null && (Math.abs(dLat) > 1e-7 || Math.abs(dLng) > 1e-7)) {
        h = (Math.atan2(dLng * Math.cos(lat * Math.PI / 180), dLat) * 180 / Math.PI + 360) % 360;
      }
      u.from = here; u.to = [lat, lng]; u.start = now;
      u.dur = Math.min(1500, Math.max(200, now - u.last)); u.last = now;
      u.heading = h ?? u.heading;
      if (info) u.info = info;
    }
    this.dirty = true;
  }

  update(id, info) {
    const u = this.units.get(id);
    if (u) { u.info = info; this.dirty = true; }
  }

  remove(id) { this.units.delete(id); this.dirty = true; }

  count() {
    let n = 0;
    for (const u of this.units.values()) if (this.visible(u.info)) n++;
    return n;
  }

  hit(point) {
    let best = null, bestD = 10 * 10;
    const now = performance.now();
    for (const [id, u] of this.units) {
      if (!this.visible(u.info)) continue;
      const p = this.map.latLngToContainerPoint(this.at(id, now));
      const d = (p.x - point.x) ** 2 + (p.y - point.y) ** 2;
      if (d < bestD) { best = id; bestD = d; }
    }
    return best;
  }

  draw(now) {
    let moving = false;
    for (const u of this.units.values()) if (u.dur > 0 && now - u.start < u.dur) { moving = true; break; }
    if (!moving && !this.dirty) return;
    this.dirty = false;
    this.frames++;
    const { ctx, ratio, map } = this;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const size = map.getSize();
    const zoom = map.getZoom();
    const r = zoom >= 15 ? 7 : zoom >= 13 ? 5 : 3.5;
    const labels = zoom >= 16;
    ctx.font = "11px system-ui, sans-serif";
    for (const [id, u] of this.units) {
      const info = u.info || {};
      if (!this.visible(info)) continue;
      const k = u.dur > 0 ? Math.min(1, (now - u.start) / u.dur) : 1;
      const p = map.latLngToContainerPoint([u.from[0] + (u.to[0] - u.from[0]) * k,
                                            u.from[1] + (u.to[1] - u.from[1]) * k]);
      if (p.x < -20 || p.y < -20 || p.x > size.x + 20 || p.y > size.y + 20) continue;
      const busy = info.status && info.status !== "available";
      ctx.fillStyle = this.colors[info.agency] || "#555";
      ctx.strokeStyle = busy ? "#111" : "#fff";
      ctx.lineWidth = busy ? 2 : 1;
      ctx.globalAlpha = info.stale ? 0.45 : 1;
      ctx.beginPath();
      if (u.heading != null) { // an arrow pointing where the unit heads
        const a = u.heading * Math.PI / 180;
        const s = Math.sin(a), c = Math.cos(a);
        const big = info.kind === "fire_engine" || info.kind === "ladder" || info.kind === "rescue_truck" ? 1.3 : 1;
        const R = r * 1.5 * big;
        ctx.moveTo(p.x + s * R, p.y - c * R);
        ctx.lineTo(p.x - s * R * 0.6 + c * R * 0.7, p.y + c * R * 0.6 + s * R * 0.7);
        ctx.lineTo(p.x - s * R * 0.3, p.y + c * R * 0.3);
        ctx.lineTo(p.x - s * R * 0.6 - c * R * 0.7, p.y + c * R * 0.6 - s * R * 0.7);
        ctx.closePath();
      } else {
        ctx.arc(p.x, p.y, r, 0, 2 * Math.PI);
      }
      ctx.fill();
      ctx.stroke();
      if (labels && info.call_sign) {
        ctx.fillStyle = "#111";
        ctx.fillText(`${info.call_sign} · ${info.status || ""}`, p.x + r + 4, p.y + 4);
      }
    }
    ctx.globalAlpha = 1;
  }
}

window.FleetCanvas = FleetCanvas;
