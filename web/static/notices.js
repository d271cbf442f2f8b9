// Messages to the dispatcher: what went wrong and what to do about it, in the page's language.
// A refused action (403, 409, 422, ...) gets a notice naming the server's reason; a lost
// connection a notice that stays until the socket is back. Nothing fails silently in a console.
"use strict";

const Notices = {
  box() { return document.getElementById("notices"); },

  show(id, kind, text, hint = "", sticky = false) {
    let el = this.box().querySelector(`[data-notice="${id}"]`);
    if (!el) {
      el = document.createElement("div");
      el.dataset.notice = id;
      el.setAttribute("role", "alert");
      this.box().prepend(el);
    }
    el.className = `notice ${kind}`;
    el.innerHTML = `<b>${escapeHtml(text)}</b>${hint ? ` <span class="what-to-do">${escapeHtml(hint)}</span>` : ""}`;
    if (!sticky) {
      const close = document.createElement("button");
      close.type = "button";
      close.className = "close";
      close.textContent = "×";
      close.setAttribute("aria-label", t("dismiss"));
      close.onclick = () => el.remove();
      el.appendChild(close);
    }
    return el;
  },

  clear(id) {
    const el = this.box().querySelector(`[data-notice="${id}"]`);
    if (el) el.remove();
  },

  // an API refusal as the dispatcher reads it: what was refused, the server's reason, what to do
  refused(what, status, body) {
    const hint = { 0: "doNetwork", 403: "do403", 409: "do409", 422: "do422", 429: "do429", 503: "do503" }[status] || "doOther";
    const reason = (body && body.error) || `HTTP ${status}`;
    const field = body && body.field ? ` (${body.field})` : "";
    return this.show(`refused-${what}`, "refused", `${t("refusedPrefix")} ${what}: ${reason}${field}`, t(hint));
  },
};
