// The page's running clocks: once a second every element marked `data-since` (an ISO moment)
// shows the time elapsed since it and every `data-until` the time left to it, from the centre's
// clock; an element past `data-overdue-s` seconds gets the class `overdue`. Renderers only mark
// elements, so a queue of hundreds of incidents is never rebuilt just to move its timers.
"use strict";

const Ticker = {
  tick(root = document) {
    for (const el of root.querySelectorAll("[data-since]")) {
      const secs = CentreClock.secondsSince(el.dataset.since);
      el.textContent = CentreClock.duration(secs);
      if (el.dataset.overdueS) el.classList.toggle("overdue", secs > Number(el.dataset.overdueS));
    }
    for (const el of root.querySelectorAll("[data-until]")) {
      const left = -CentreClock.secondsSince(el.dataset.until);
      el.textContent = left > 0 ? CentreClock.duration(left) : "0:00";
      el.classList.toggle("due", left <= 0);
    }
  },
  start() { this.tick(); setInterval(() => this.tick(), 1000); },
};
