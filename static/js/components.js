// Behaviour of the design system's components (docs/design-system.md). Everything works without
// it — dialogs fall back to their "New …" page links, dropdowns are plain <details> — this adds
// the comfort: open/close dialogs, live summaries, filter boxes, ticking times, copy buttons.
(function () {
  "use strict";

  // ---- Dialogs: <button data-dialog="id"> opens <dialog id="id">; [data-close] closes it.
  document.addEventListener("click", function (e) {
    var opener = e.target.closest("[data-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.dialog);
      if (dialog && dialog.showModal) { e.preventDefault(); dialog.showModal(); }
      return;
    }
    var closer = e.target.closest("[data-close]");
    if (closer && closer.closest("dialog")) { e.preventDefault(); closer.closest("dialog").close(); return; }
    // A click outside an open dropdown or row menu closes it.
    document.querySelectorAll("details.dropdown[open], details.menu[open]").forEach(function (d) {
      if (!d.contains(e.target)) d.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    document.querySelectorAll("details.dropdown[open], details.menu[open]").forEach(function (d) { d.removeAttribute("open"); });
  });
  function openMarkedDialogs(root) {
    // A dialog whose form came back with errors is rendered with data-open: show it again.
    root.querySelectorAll("dialog[data-open]").forEach(function (d) { if (!d.open && d.showModal) d.showModal(); });
  }

  // ---- Checkbox dropdowns: the toggle summarises what is ticked; a filter box for long lists.
  function summarise(details) {
    var summary = details.querySelector("[data-summary]");
    if (!summary) return;
    var ticked = Array.prototype.map.call(details.querySelectorAll("input[type=checkbox]:checked"), function (i) {
      return i.dataset.label || i.value;
    });
    summary.textContent = ticked.length === 0 ? summary.dataset.empty
      : ticked.length <= 2 ? ticked.join(", ") : ticked[0] + " +" + (ticked.length - 1);
  }
  document.addEventListener("change", function (e) {
    var details = e.target.closest("details.dropdown");
    if (details) summarise(details);
  });
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t.matches("[data-menu-search]")) {
      var q = t.value.trim().toLowerCase();
      t.closest(".dropdown-menu").querySelectorAll("label.check").forEach(function (label) {
        label.hidden = q !== "" && label.textContent.toLowerCase().indexOf(q) === -1;
      });
    } else if (t.matches("[data-select-search]")) {
      filterSelect(t);
    }
  });

  // ---- Searchable selects: a filter box above <select data-searchable>.
  function filterSelect(box) {
    var select = box.nextElementSibling, q = box.value.trim().toLowerCase(), first = null, matches = 0;
    Array.prototype.forEach.call(select.options, function (o) {
      var hit = q === "" || o.text.toLowerCase().indexOf(q) !== -1 || o.value.toLowerCase().indexOf(q) !== -1;
      o.hidden = !hit;
      if (hit) { matches += 1; first = first || o; }
    });
    if (q !== "" && first && select.selectedOptions.length && select.selectedOptions[0].hidden) first.selected = true;
    select.size = q === "" ? 0 : Math.min(Math.max(matches, 2), 8);
  }
  function enhanceSelects(root) {
    root.querySelectorAll("select[data-searchable]:not([data-enhanced])").forEach(function (select) {
      select.dataset.enhanced = "1";
      var box = document.createElement("input");
      box.type = "search"; box.placeholder = "Type to filter…"; box.dataset.selectSearch = "";
      box.setAttribute("aria-label", "Filter " + (select.labels && select.labels[0] ? select.labels[0].textContent : "choices"));
      var wrap = document.createElement("div"); wrap.className = "searchable";
      select.parentNode.insertBefore(wrap, select); wrap.appendChild(box); wrap.appendChild(select);
      select.addEventListener("change", function () { select.size = 0; });
    });
  }

  // ---- Times: the same wording as opsplatform/core/timefmt.py.
  function shortDuration(s) {
    s = Math.abs(Math.floor(s));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60), sec = s % 60;
    if (m < 60) return (m >= 10 || !sec) ? m + " min" : m + " min " + String(sec).padStart(2, "0") + " s";
    var h = Math.floor(m / 60); m = m % 60;
    if (h < 48) return m ? h + " h " + String(m).padStart(2, "0") + " min" : h + " h";
    var d = Math.floor(h / 24); h = h % 24;
    return h ? d + " d " + h + " h" : d + " d";
  }
  function coarse(s) {
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 48 * 3600) return Math.floor(s / 3600) + " h";
    return Math.floor(s / 86400) + " d";
  }
  function relative(when, now) {
    var delta = Math.floor((now - when) / 1000);
    if (Math.abs(delta) < 60) return delta >= 0 ? "just now" : "in under a minute";
    if (Math.abs(delta) >= 30 * 86400) return null; // keep the server's date
    return delta > 0 ? coarse(delta) + " ago" : "in " + coarse(-delta);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-relative]").forEach(function (t) {
      var text = relative(Date.parse(t.getAttribute("datetime")), now);
      if (text && t.textContent !== text) t.textContent = text;
    });
    document.querySelectorAll("time[data-countdown]").forEach(function (t) {
      var left = Math.floor((Date.parse(t.getAttribute("datetime")) - now) / 1000);
      t.textContent = left <= 0 ? "overdue by " + shortDuration(-left) : shortDuration(left) + " left";
      t.classList.toggle("overdue", left <= 0);
    });
  }

  // ---- Copy buttons: <button data-copy="#id"> copies that element's text.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-copy]");
    if (!b || !navigator.clipboard) return;
    var source = document.querySelector(b.dataset.copy);
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var was = b.textContent; b.textContent = "Copied"; setTimeout(function () { b.textContent = was; }, 1500);
    });
  });

  // ---- Formset rows: <button data-add-row="prefix"> appends a copy of <template id="prefix-empty-row">
  // (Django's empty_form, "__prefix__" for its index) to the <tbody id="prefix-rows"> and counts it
  // in prefix-TOTAL_FORMS. Without scripts the page offers a few blank rows and more after saving.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-add-row]");
    if (!b) return;
    var prefix = b.dataset.addRow;
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(prefix + "-empty-row");
    var body = document.getElementById(prefix + "-rows");
    if (!total || !template || !body) return;
    e.preventDefault();
    var index = parseInt(total.value, 10) || 0;
    var max = parseInt((document.getElementById("id_" + prefix + "-MAX_NUM_FORMS") || {}).value, 10);
    if (max && index >= max) return;
    var holder = document.createElement("tbody");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    while (holder.firstElementChild) body.appendChild(holder.firstElementChild);
    total.value = String(index + 1);
    var first = body.lastElementChild && body.lastElementChild.querySelector("input:not([type=hidden]), select");
    if (first) first.focus();
  });

  function init(root) { enhanceSelects(root); openMarkedDialogs(root); }
  document.addEventListener("DOMContentLoaded", function () { init(document); tick(); setInterval(tick, 1000); });
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); tick(); });
})();
