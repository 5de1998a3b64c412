// Live regions: an element with data-live="<kind>" (and optionally data-live-id) re-fetches its
// content (htmx trigger "live-refresh"; the element's hx-swap says how) when the organization
// channel reports a change of that kind, and after a reconnect. A burst of events within 120 ms
// becomes one fetch; an event during a fetch queues exactly one more. Every delivery event of an
// incident (sent, failed, cancelled) comes with kind "incident", so its page's notifications card
// follows the outbox too.
(function () {
  "use strict";
  var timers = new WeakMap();

  function refresh(el) {
    // A dialog open inside the region holds what someone is typing: refresh once it closes.
    var open = el.querySelector("dialog[open]");
    if (open) {
      if (!open.dataset.refreshPending) {
        open.dataset.refreshPending = "1";
        open.addEventListener("close", function () { delete open.dataset.refreshPending; refresh(el); }, { once: true });
      }
      return;
    }
    if (timers.get(el)) return;
    timers.set(el, setTimeout(function () {
      timers.delete(el);
      if (window.htmx && el.isConnected) htmx.trigger(el, "live-refresh");
    }, 120));
  }

  // A refresh already in flight must not swap away an open dialog, nor overwrite the answer of an
  // action taken in the region since it was sent (that answer is newer): it is dropped and redone.
  // (The region's hx-sync is not inherited — hx-disinherit — so an action is never queued behind,
  // or replaced by, a refresh.)
  function actionDone(xhr) {
    var region = xhr && xhr.actionRegion;
    if (!region || xhr.actionDone) return;
    xhr.actionDone = true;
    region.dataset.acting = String(Math.max(Number(region.dataset.acting || 0) - 1, 0));
    region.dataset.actedAt = String(Date.now());
  }
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    var region = elt.closest && elt.closest("[data-live]");
    if (!region) return;
    if (elt === region) { evt.detail.xhr.liveSentAt = Date.now(); return; }
    evt.detail.xhr.actionRegion = region;
    region.dataset.acting = String(Number(region.dataset.acting || 0) + 1);
  });
  // The action's form is usually swapped away by its own answer, so its later events no longer
  // reach the document: its answer arriving (beforeSwap, on the region) ends it; afterRequest
  // covers answers that are not swapped (a network error).
  document.addEventListener("htmx:afterRequest", function (evt) { actionDone(evt.detail.xhr); });
  document.addEventListener("htmx:beforeSwap", function (evt) {
    actionDone(evt.detail.xhr);
    var region = evt.detail.target;
    var sentAt = evt.detail.xhr && evt.detail.xhr.liveSentAt;
    if (!region || !region.matches || !region.matches("[data-live]") || !sentAt) return;
    var stale = sentAt < Number(region.dataset.actedAt || 0) || Number(region.dataset.acting || 0) > 0;
    if (stale || region.querySelector("dialog[open]")) {
      evt.detail.shouldSwap = false;
      refresh(region);
    }
  });

  function matching(kind, id) {
    return Array.prototype.filter.call(document.querySelectorAll("[data-live]"), function (el) {
      if (el.dataset.live !== kind) return false;
      return !el.dataset.liveId || id === undefined || String(id) === el.dataset.liveId;
    });
  }

  document.addEventListener("ops:event", function (evt) {
    var data = evt.detail || {};
    if (data.kind) matching(data.kind, data.id).forEach(refresh);
  });
  document.addEventListener("ops:reconnected", function () {
    document.querySelectorAll("[data-live]").forEach(refresh);
  });

  // Filter forms marked data-clean-query leave empty fields out of the URL they push ("?q=&sla=")
  // — except the names in the attribute, whose empty value means something (status= is "all").
  document.addEventListener("htmx:configRequest", function (evt) {
    var form = evt.detail.elt;
    var data = evt.detail.formData;
    if (!form || !form.matches || !form.matches("form[data-clean-query]") || !data) return;
    var keep = (form.dataset.cleanQuery || "").split(/\s+/);
    Array.from(new Set(Array.from(data.keys()))).forEach(function (name) {
      if (keep.indexOf(name) !== -1) return;
      var values = data.getAll(name).filter(function (v) { return v !== ""; });
      data.delete(name);
      values.forEach(function (v) { data.append(name, v); });
    });
  });

  // "r" on an incident opens the resolve dialog; keys.js then puts the cursor in its note.
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "r" || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    var t = evt.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var dialog = document.getElementById("resolve-dialog");
    if (dialog && !dialog.open && dialog.showModal) dialog.showModal();
  });

  // Countdowns of pages not yet on the design system's {% countdown %} tag.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.deadline) - now) / 1000);
      var sign = left < 0 ? "-" : "";
      left = Math.abs(left);
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = sign + (h ? h + "h " : "") + (h || m ? String(m).padStart(2, "0") + "m " : "") +
        String(s).padStart(2, "0") + "s";
      el.classList.toggle("overdue", sign === "-");
    });
  }
  tick();
  setInterval(tick, 1000);
})();
