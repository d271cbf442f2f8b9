// The centre's clock: times told in the centre's time zone (GET /v1/centre), never the browser's,
// and "now" as the server's clock, so an elapsed timer on a screen whose clock is off still
// counts from what the log says.
"use strict";

const CentreClock = {
  zone: "Asia/Shanghai",
  skewMs: 0, // server clock minus browser clock
  staleAfterS: 60,
  ackDeadlineS: 30,
  _hm: null,
  _hms: null,

  apply(centre, askedAtMs, answeredAtMs) {
    this.zone = centre.time_zone;
    this.staleAfterS = centre.stale_after_s;
    this.ackDeadlineS = centre.ack_deadline_s;
    // the server read its clock somewhere during the request: take the middle of it
    this.skewMs = Date.parse(centre.now) - (askedAtMs + answeredAtMs) / 2;
    this._hm = new Intl.DateTimeFormat("en-GB", { timeZone: this.zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    this._hms = new Intl.DateTimeFormat("en-GB", { timeZone: this.zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  },

  now() { return Date.now() + this.skewMs; },

  // "15:16:04" for an ISO moment (or epoch ms), in the centre's zone
  time(moment, seconds = true) {
    if (moment == null || moment === "") return "";
    const ms = typeof moment === "number" ? moment : Date.parse(moment);
    if (Number.isNaN(ms)) return "";
    const fmt = seconds ? this._hms : this._hm;
    return fmt ? fmt.format(ms) : new Date(ms).toISOString().slice(11, seconds ? 19 : 16);
  },

  // seconds from an ISO moment to now (negative: still to come)
  secondsSince(moment) { return (this.now() - Date.parse(moment)) / 1000; },

  // "4:07" or "1:02:07": a stopwatch, as a dispatcher reads elapsed time
  duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
  },
};
