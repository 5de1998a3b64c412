// Schedule timeline (templates/notifications/_timeline.html): pick a range on the final row — drag
// with a mouse, or tap its start and then its end on a phone — and the "New override" dialog opens
// with From/Until filled in on the team's wall clock. Without this script the dialog's form still
// works with typed times. Also keeps the "now" line where now is.
(function () {
  "use strict";

  var STEP_MS = 15 * 60 * 1000; // every UTC offset in use is a multiple of 15 minutes
  var DRAG_PX = 6;

  function localInput(ms, zone) {
    // "YYYY-MM-DDTHH:MM" on the team's clock, what <input type="datetime-local"> reads.
    var parts = {};
    new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + "T" + parts.hour + ":" + parts.minute;
  }

  function setup(root) {
    var track = root.querySelector(".stl-track[data-select]");
    var start = Date.parse(root.dataset.start), end = Date.parse(root.dataset.end), zone = root.dataset.tz;
    var dialog = document.getElementById("new-override");
    if (!track || !dialog || isNaN(start) || isNaN(end)) return;
    var selection = null, mark = null, downX = null, pendingFrac = null;

    function frac(clientX) {
      var box = track.getBoundingClientRect();
      return Math.min(1, Math.max(0, (clientX - box.left) / box.width));
    }
    function instant(f) { return Math.round((start + f * (end - start)) / STEP_MS) * STEP_MS; }
    function draw(a, b) {
      if (!selection) { selection = document.createElement("div"); selection.className = "stl-selection"; track.appendChild(selection); }
      var lo = Math.min(a, b), hi = Math.max(a, b);
      selection.style.left = (lo * 100) + "%"; selection.style.width = ((hi - lo) * 100) + "%";
    }
    function clear() {
      if (selection) { selection.remove(); selection = null; }
      if (mark) { mark.remove(); mark = null; }
      pendingFrac = null;
    }
    function choose(a, b) {
      var lo = instant(Math.min(a, b)), hi = instant(Math.max(a, b));
      if (hi <= lo) hi = lo + 4 * STEP_MS;
      draw(a, b);
      dialog.querySelector("[name='override-starts_at']").value = localInput(lo, zone);
      dialog.querySelector("[name='override-ends_at']").value = localInput(hi, zone);
      if (dialog.showModal && !dialog.open) dialog.showModal();
      var who = dialog.querySelector("[name='override-user']");
      if (who) who.focus();
    }

    track.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) return;
      downX = e.clientX;
      if (e.pointerType === "mouse") { track.setPointerCapture(e.pointerId); e.preventDefault(); }
    });
    track.addEventListener("pointermove", function (e) {
      if (downX === null || e.pointerType !== "mouse") return;
      if (Math.abs(e.clientX - downX) >= DRAG_PX) draw(frac(downX), frac(e.clientX));
    });
    track.addEventListener("pointerup", function (e) {
      if (downX === null) return;
      var from = frac(downX), to = frac(e.clientX), dragged = Math.abs(e.clientX - downX) >= DRAG_PX;
      downX = null;
      if (dragged && e.pointerType === "mouse") { pendingFrac = null; choose(from, to); return; }
      // A tap: the first marks the start, the second the end.
      if (pendingFrac === null) {
        clear();
        pendingFrac = to;
        mark = document.createElement("div"); mark.className = "stl-mark";
        mark.style.left = (to * 100) + "%"; track.appendChild(mark);
      } else {
        var first = pendingFrac;
        if (mark) { mark.remove(); mark = null; }
        pendingFrac = null;
        choose(first, to);
      }
    });
    track.addEventListener("pointercancel", function () { downX = null; });
    dialog.addEventListener("close", clear);

    var now = root.querySelector(".stl-now");
    if (now) {
      setInterval(function () {
        var f = (Date.now() - start) / (end - start);
        if (f >= 0 && f <= 1) now.style.left = (f * 100).toFixed(3) + "%";
      }, 60000);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-timeline]").forEach(setup);
  });
})();
