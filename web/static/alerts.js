// Alarms that must not be missed: a whistle summons still unacknowledged past its deadline (or
// escalated, or given up as unanswered) and an overdue check-in timer each raise a banner at the
// top of the page, with what happened and what to do, and a beep every few seconds until handled
// (acknowledged, checked in) or silenced, which silences that one alarm in this browser only.
// Only the agencies concerned are alarmed (a 110 desk is not rung for 120's summons); a
// supervisor is rung for all. Everything is read off the live state, so every screen agrees.
"use strict";

const RING_EVERY_MS = 4000;

const Alerts = {
  me: null, // whoami's answer
  checkInAfterS: 1200, // GET /v1/centre: an on-scene agency not checked in for this long is overdue
  beeps: 0, // beeps started (browser tests read it instead of listening)
  current: [], // the alarms in force now, silenced or not
  silenced: new Set(JSON.parse(localStorage.getItem("jd-silenced") || "[]")),
  onAct: null, // (alarm) => Promise<boolean>: acknowledge the summons / check in
  onOpen: null, // (incident id) => void
  _shown: "",
  _ctx: null,
  _known: new Set(),
  _started: false,

  concerns(agency) {
    const me = this.me || { agency: "", roles: [] };
    return me.roles.includes("supervisor") || me.agency === agency;
  },

  // may this key act on the alarm from the banner (the API's access table says the same)
  mayAct(alarm) {
    const me = this.me || { agency: "", roles: [] };
    if (me.roles.includes("supervisor")) return true;
    if (me.agency !== alarm.agency) return false;
    return alarm.kind === "whistle" ? me.roles.includes("convener")
      : ["dispatcher", "convener"].some((r) => me.roles.includes(r));
  },

  whistleAlarms(whistles, incidents, labelOf) {
    const out = [];
    for (const w of whistles.values()) {
      if (!w.active) continue;
      const inc = incidents.get(w.incident_id);
      for (const [agency, s] of Object.entries(w.summons)) {
        if (s.acknowledged_at || !this.concerns(agency)) continue;
        const late = s.unanswered || s.steps.length > 1 || CentreClock.secondsSince(s.deadline) > 0;
        if (!late) continue;
        const p = { whistle: w.whistle_id, incident: w.incident_id, kind: inc ? labelOf(inc) : "", agency,
                    level: t(s.level), name: s.name, channel: s.channel, first: s.steps.length ? s.steps[0].name : s.name };
        const text = s.unanswered ? tf("alarmUnanswered", p)
          : tf("alarmWhistle", p) + (s.steps.length > 1 ? tf("alarmEscalated", p) : "");
        // a new step of the escalation (someone else summoned) is a new alarm, even if the last was silenced
        out.push({ id: `whistle:${w.whistle_id}:${agency}:${s.steps.length}:${s.unanswered ? "x" : ""}`, kind: "whistle",
                   agency, incident_id: w.incident_id, whistle_id: w.whistle_id, text, since: s.summoned_at,
                   hint: s.unanswered ? tf("doUnanswered", p) : this.mayAct({ kind: "whistle", agency }) ? tf("doAck", p) : tf("doPhone", p) });
      }
    }
    return out;
  },

  // every on-scene agency's check-in timer (server's check_in_since), overdue after checkInAfterS
  checkInAlarms(incidents, labelOf) {
    const out = [];
    for (const inc of incidents.values()) {
      for (const [agency, tk] of Object.entries(inc.tasks)) {
        if (!tk.check_in_since || !this.concerns(agency)) continue;
        if (CentreClock.secondsSince(tk.check_in_since) <= this.checkInAfterS) continue;
        const p = { incident: inc.incident_id, kind: labelOf(inc), agency, last: CentreClock.time(tk.check_in_since, false),
                    by: tk.checked_in_by || "" };
        // a reset starts a new period: its own alarm, whatever was silenced before
        out.push({ id: `checkin:${inc.incident_id}:${agency}:${tk.check_in_since}`, kind: "checkin", agency,
                   incident_id: inc.incident_id, text: tf(tk.checked_in_by ? "alarmCheckInBy" : "alarmCheckIn", p),
                   since: tk.check_in_since, hint: t("doCheckIn") });
      }
    }
    return out;
  },

  // looked at every second (a deadline passes without an event) and on every message
  check(incidents, whistles, labelOf) {
    this.current = [...this.whistleAlarms(whistles, incidents, labelOf), ...this.checkInAlarms(incidents, labelOf)];
    // a new alarm rings at once, not at the next beat
    const fresh = this.current.some((a) => !this.silenced.has(a.id) && !this._known.has(a.id));
    this._known = new Set(this.current.map((a) => a.id));
    if (fresh && this._started) this.beep();
    this.render();
  },

  ringing() { return this.current.some((a) => !this.silenced.has(a.id)); },

  silence(id) {
    this.silenced.add(id);
    localStorage.setItem("jd-silenced", JSON.stringify([...this.silenced].slice(-200)));
    this.render();
  },

  render(force = false) {
    const box = document.getElementById("alarms");
    const key = `${lang}|${this.audioBlocked()}|${this.current.map((a) => `${a.id}=${this.silenced.has(a.id)}`).join(",")}`;
    if (!force && key === this._shown) return;
    this._shown = key;
    // a silenced alarm leaves the banner for one quiet line: it is still not handled
    const loud = this.current.filter((a) => !this.silenced.has(a.id));
    const quiet = this.current.filter((a) => this.silenced.has(a.id));
    const was = box.hidden;
    box.hidden = this.current.length === 0;
    if (was !== box.hidden) window.dispatchEvent(new Event("resize")); // the map gives up the room
    box.innerHTML = loud.map((a) => {
      const act = !this.mayAct(a) ? "" : a.kind === "whistle" ? t("ack") : t("checkIn");
      return `<div class="alarm ${a.kind}" data-alarm="${escapeHtml(a.id)}" data-agency="${a.agency}">
        <span class="tag a${a.agency}">${a.agency}</span> <b>${escapeHtml(a.text)}</b> <time class="timer" data-since="${a.since}"></time>
        <span class="what-to-do">${escapeHtml(a.hint)}</span>
        <span class="alarm-actions">${act ? `<button type="button" class="act">${act}</button>` : ""}
        <button type="button" class="open">${t("openIncident")}</button>
        <button type="button" class="silence">${t("silence")}</button></span></div>`;
    }).join("")
      + (quiet.length ? `<p class="silenced" title="${escapeHtml(quiet.map((a) => a.text).join("\n"))}">${tf("silencedCount", { n: quiet.length })}</p>` : "")
      + (loud.length && this.audioBlocked() ? `<p class="sound-blocked">${t("soundBlocked")}</p>` : "");
    for (const el of box.querySelectorAll("[data-alarm]")) {
      const alarm = this.current.find((a) => a.id === el.dataset.alarm);
      const on = (sel, fn) => { const b = el.querySelector(sel); if (b) b.onclick = fn; };
      on("button.act", async () => { if (this.onAct && await this.onAct(alarm)) this.render(true); });
      on("button.open", () => this.onOpen && this.onOpen(alarm.incident_id));
      on("button.silence", () => this.silence(alarm.id));
    }
    Ticker.tick(box);
  },

  // the sound: two short beeps every RING_EVERY_MS while an alarm is not silenced. A browser may
  // hold audio back until the page is clicked; the banner says so, and the first click frees it.
  audio() {
    if (!this._ctx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      this._ctx = new Ctx();
    }
    return this._ctx;
  },

  audioBlocked() { return !!this._ctx && this._ctx.state === "suspended"; },

  beep() {
    const ctx = this.audio();
    if (!ctx) return;
    for (const offset of [0, 0.25]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = 880;
      gain.gain.value = 0.08;
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + offset);
      osc.stop(ctx.currentTime + offset + 0.15);
    }
    this.beeps += 1;
  },

  start(look) {
    setInterval(look, 1000);
    setInterval(() => { if (this.ringing()) this.beep(); }, RING_EVERY_MS);
    const free = () => { if (this._ctx && this._ctx.state === "suspended") this._ctx.resume().then(() => this.render(true)); };
    document.addEventListener("pointerdown", free);
    document.addEventListener("keydown", free);
    this._started = true;
    look();
  },
};
