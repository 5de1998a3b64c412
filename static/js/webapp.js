/* The installable web app: registers the service worker on every page, and on the notification
 * settings page turns pages in this browser on and off (a Web Push subscription with the
 * deployment's VAPID key, posted to the server as a contact method). */
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) return;
  const ready = navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(() => navigator.serviceWorker.ready);
  ready.catch(() => {});

  const box = document.getElementById("push-settings");
  if (!box) return;
  const enable = box.querySelector("[data-push-enable]");
  const disable = box.querySelector("[data-push-disable]");
  const status = box.querySelector("[data-push-status]");
  const csrf = () => JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body),
    });
  }

  function show(subscribed, text) {
    enable.hidden = subscribed;
    disable.hidden = !subscribed;
    status.textContent = text;
  }

  if (!("PushManager" in window) || !("Notification" in window)) {
    status.textContent = "This browser cannot receive pages.";
    return;
  }
  ready.then((registration) => registration.pushManager.getSubscription()).then((sub) => {
    show(Boolean(sub), sub ? "Pages reach this browser." : "Pages do not reach this browser yet.");
  }).catch(() => { status.textContent = "This browser cannot receive pages."; });

  enable.addEventListener("click", () => {
    Notification.requestPermission().then((permission) => {
      if (permission !== "granted") { show(false, "Notifications are blocked for this site in the browser's settings."); return null; }
      return ready.then((registration) => registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(box.dataset.pushKey),
      })).then((sub) => post(box.dataset.pushSubscribe, { ...sub.toJSON(), label: navigator.platform || "This browser" }))
        .then((response) => show(response.ok, response.ok ? "Pages reach this browser." : "The server refused this browser's subscription."));
    }).catch((error) => show(false, `Could not subscribe: ${error.message || error}`));
  });

  disable.addEventListener("click", () => {
    ready.then((registration) => registration.pushManager.getSubscription()).then((sub) => {
      if (!sub) return show(false, "Pages do not reach this browser.");
      return post(box.dataset.pushUnsubscribe, { endpoint: sub.endpoint }).then(() => sub.unsubscribe())
        .then(() => show(false, "Pages no longer reach this browser."));
    });
  });
})();
