// Staging posts on the shared map (issue 19): the posts open now, each with the H3 cells it
// serves, and the plan waiting for a supervisor drawn dashed beside them, with its figures and
// the Accept / Reject buttons (shown to supervisors; the server decides either way). Reloaded
// from /v1/posts whenever the log says a plan or a post changed.
"use strict";

Object.assign(I18N.en, {
  posts: "Staging posts", noPosts: "No post open.", pendingPlan: "Plan waiting", proposePlan: "Propose plan",
  accept: "Accept", reject: "Reject", opens: "opens", keeps: "keeps", closes: "closes", coverage: "coverage",
  stationsOnly: "stations only", unitsPosted: "posted", noPlan: "No plan waiting.", period: "Period",
  moveUp: "Move-up", confirm: "Confirm",
});
Object.assign(I18N.zh, {
  posts: "前置勤务点", noPosts: "暂无开设的勤务点。", pendingPlan: "待审批方案", proposePlan: "生成方案",
  accept: "批准", reject: "驳回", opens: "开设", keeps: "保留", closes: "撤除", coverage: "覆盖率",
  stationsOnly: "仅站点", unitsPosted: "已驻点", noPlan: "暂无待审批方案。", period: "时段",
  moveUp: "前移补位", confirm: "确认",
});

const POST_PERIODS = ["all", "summer", "summer_weekends", "summer_autumn_evenings", "year_end", "weekday_daytime", "nights"];
const POST_EVENTS = ["post_plan_proposed", "post_plan_accepted", "post_plan_rejected", "post_opened", "post_closed",
                     "unit_posted", "unit_left_post"];

class PostsLayer {
  constructor(map, api, colors, panel) {
    this.map = map;
    this.api = api; // (path, opts, what) -> {ok, status, body}; a refused change is told by the page
    this.colors = colors;
    this.panel = panel;
    this.layer = L.layerGroup().addTo(map);
    this.planLayer = L.layerGroup().addTo(map);
    this.open = null; // the last GeoJSON of open posts
    this.plan = null; // the pending plan, or null
    this.supervisor = false;
    this.dispatcher = false; // may see and confirm move-ups
    this.moves = []; // the best move-up per agency below its coverage goal
    this.api("/v1/whoami").then((r) => {
      const roles = r.ok ? r.body.roles || [] : [];
      this.supervisor = roles.includes("supervisor");
      this.dispatcher = this.supervisor || roles.includes("dispatcher");
      this.load();
    });
  }

  changedBy(eventType) { return POST_EVENTS.includes(eventType); }

  async load() {
    const [now, pending] = await Promise.all([this.api("/v1/posts"), this.api("/v1/posts/plans?status=pending")]);
    if (!now.ok) return;
    const plan = pending.ok && pending.body.plans.length ? pending.body.plans[0] : null;
    const preview = plan ? await this.api(`/v1/posts?plan_id=${encodeURIComponent(plan.plan_id)}`) : null;
    const moveUp = this.dispatcher ? await this.api("/v1/posts/move-up") : null;
    const best = new Map();
    for (const m of moveUp && moveUp.ok ? moveUp.body.moves : []) if (!best.has(m.agency)) best.set(m.agency, m);
    this.moves = [...best.values()];
    // everything fetched first, then drawn at once: the page never shows a plan without its posts
    this.layer.clearLayers();
    this.draw(now.body, this.layer, false);
    this.planLayer.clearLayers();
    if (preview && preview.ok) this.draw(preview.body, this.planLayer, true);
    this.open = now.body;
    this.plan = plan;
    this.render();
  }

  draw(collection, layer, planned) {
    const color = (f) => this.colors[f.properties.agency] || "#555";
    L.geoJSON(collection.features.filter((f) => f.properties.kind === "cell"), {
      interactive: false,
      style: (f) => ({ color: color(f), weight: planned ? 1.5 : 0.5, dashArray: planned ? "4 4" : null,
                       fillOpacity: planned ? 0.04 : 0.12, fill: true }),
    }).addTo(layer);
    for (const f of collection.features.filter((f) => f.properties.kind === "post")) {
      const p = f.properties;
      const [lon, lat] = f.geometry.coordinates;
      const m = L.circleMarker([lat, lon], { radius: 9, color: color(f), weight: 3, fillColor: "#fff",
                                             fillOpacity: planned ? 0.3 : 0.9, dashArray: planned ? "3 3" : null });
      const posted = (p.units || []).length ? ` · ${t("unitsPosted")}: ${(p.units || []).map(escapeHtml).join(", ")}` : "";
      m.bindPopup(`<b>${escapeHtml(p.name)}</b> <span class="tag a${escapeHtml(p.agency)}">${escapeHtml(p.agency)}</span>` +
                  `${planned ? ` (${escapeHtml(p.change)}, ${escapeHtml(p.plan_id)})` : ""}<br>` +
                  `${p.units_planned} × · ${t("coverage")} ${(p.coverage * 100).toFixed(0)}% · ${p.cells} cells${posted}<br>` +
                  `<small>${escapeHtml(p.reason)}</small>`);
      m.addTo(layer);
    }
  }

  render() {
    if (!this.panel) return;
    const posts = this.open ? this.open.features.filter((f) => f.properties.kind === "post") : [];
    const list = posts.length
      ? `<ul>${posts.map((f) => `<li><span class="tag a${escapeHtml(f.properties.agency)}">${escapeHtml(f.properties.agency)}</span> ` +
          `${escapeHtml(f.properties.name)} · ${f.properties.units_planned} · ${(f.properties.coverage * 100).toFixed(0)}%</li>`).join("")}</ul>`
      : `<p class="hint">${t("noPosts")}</p>`;
    let plan = `<p class="hint">${t("noPlan")}</p>`;
    if (this.plan) {
      const pl = this.plan;
      const figs = Object.entries(pl.figures).map(([a, f]) => f.expected_coverage === undefined ? "" :
        `<li><span class="tag a${escapeHtml(a)}">${escapeHtml(a)}</span> ${t("coverage")} ${(f.expected_coverage * 100).toFixed(0)}%` +
        ` (${t("stationsOnly")} ${f.stations_only_coverage < 0 ? "—" : (f.stations_only_coverage * 100).toFixed(0) + "%"})</li>`).join("");
      const line = (word, items, name) => items.length ? `<li>${t(word)}: ${items.map((x) => `${escapeHtml(name(x))}<br><small>${escapeHtml(x.reason)}</small>`).join("; ")}</li>` : "";
      plan = `<h3>${t("pendingPlan")} ${escapeHtml(pl.plan_id)} · ${escapeHtml(pl.period)}</h3>` +
        `<ul>${figs}${line("opens", pl.opens, (x) => x.name)}${line("keeps", pl.keeps, (x) => x.name)}` +
        `${line("closes", pl.closes, (x) => x.post_id)}</ul><p><small>${escapeHtml(pl.reason)}</small></p>`;
    }
    const moves = this.moves.length ? `<h3>${t("moveUp")}</h3><ul class="move-up">${this.moves.map((m, i) =>
      `<li data-unit="${escapeHtml(m.unit_id)}">${escapeHtml(m.reason)} <button data-action="confirm-move" data-i="${i}">${t("confirm")}</button></li>`).join("")}</ul>` : "";
    this.panel.innerHTML = `${list}${moves}${plan}`;
    for (const b of this.panel.querySelectorAll("button[data-action='confirm-move']")) {
      const m = this.moves[Number(b.dataset.i)];
      b.onclick = async () => {
        // a refusal is shown by the page's notices (app.js's api), with the server's reason
        await this.api("/v1/posts/move-up/confirm", { method: "POST", body: JSON.stringify({ unit_id: m.unit_id, post_id: m.post_id, by: "console" }) }, t("moveUp"));
        this.load();
      };
    }
    if (!this.supervisor) return;
    const controls = document.createElement("p");
    if (this.plan) {
      for (const [word, action] of [["accept", "accept"], ["reject", "reject"]]) {
        const b = document.createElement("button");
        b.textContent = t(word);
        b.dataset.action = action;
        b.onclick = async () => {
          await this.api(`/v1/posts/plans/${encodeURIComponent(this.plan.plan_id)}/${action}`, { method: "POST", body: JSON.stringify({ by: "console" }) }, t(word));
          this.load();
        };
        controls.appendChild(b);
      }
    }
    const period = document.createElement("select");
    period.setAttribute("aria-label", t("period"));
    for (const p of POST_PERIODS) period.add(new Option(p, p));
    const propose = document.createElement("button");
    propose.textContent = t("proposePlan");
    propose.dataset.action = "propose";
    propose.onclick = async () => {
      propose.disabled = true;
      await this.api("/v1/posts/plans", { method: "POST", body: JSON.stringify({ period: period.value, by: "console" }) }, t("proposePlan"));
      propose.disabled = false;
      this.load();
    };
    controls.append(period, propose);
    this.panel.appendChild(controls);
  }
}
