// Live regions: an element with data-live="<kind>" (and optionally data-live-id) re-fetches its
// content (htmx trigger "live-refresh", innerHTML swap, hx-sync "queue last") when the organization
// channel reports a change of that kind, and after a reconnect. A burst of events within 120 ms
// becomes one fetch; an event during a fetch queues exactly one more.
(function () {
  "use strict";
  var timers = new WeakMap();

  function refresh(el) {
    if (timers.get(el)) return;
    timers.set(el, setTimeout(function () {
      timers.delete(el);
      if (window.htmx) htmx.trigger(el, "live-refresh");
    }, 120));
  }

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

  // Countdowns to SLA deadlines.
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
