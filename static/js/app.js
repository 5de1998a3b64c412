// Page-wide behaviour: the organization's live channel. Pages listen for "ops:event" on document.
(function () {
  "use strict";
  var org = document.body.dataset.organization;
  if (!org || !window.WebSocket) return;
  var delay = 500;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws/organization/");
    ws.onopen = function () {
      document.body.dataset.live = "on";
      // After a reconnect, anything may have been missed: let pages refetch what they show.
      if (delay > 500) document.dispatchEvent(new CustomEvent("ops:reconnected"));
      delay = 500;
    };
    ws.onmessage = function (msg) {
      var data;
      try { data = JSON.parse(msg.data); } catch (e) { return; }
      document.dispatchEvent(new CustomEvent("ops:event", { detail: data }));
    };
    ws.onclose = function () {
      document.body.dataset.live = "off";
      delay = Math.min(delay * 2, 15000);
      setTimeout(connect, delay);
    };
  }
  connect();
})();
