// Keyboard shortcuts for responders: "/" search, j/k move through the incident list, Enter opens,
// "a" acknowledge and "r" resolve on an incident. Ignored while typing in a field.
(function () {
  "use strict";
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("table.incidents tbody tr a"));
  }
  function move(step) {
    var links = rowLinks();
    if (!links.length) return;
    var i = links.indexOf(document.activeElement);
    var next = links[Math.min(Math.max(i + step, 0), links.length - 1)];
    next.focus();
    next.closest("tr").scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (evt) {
    if (evt.ctrlKey || evt.metaKey || evt.altKey || typing(evt.target)) return;
    var search = document.getElementById("id_q");
    var ack = document.getElementById("ack-button");
    var note = document.getElementById("resolve-note");
    switch (evt.key) {
      case "/": if (search) { evt.preventDefault(); search.focus(); } break;
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a": if (ack) { evt.preventDefault(); ack.click(); } break;
      case "r": if (note) { evt.preventDefault(); note.focus(); } break;
    }
  });
})();
