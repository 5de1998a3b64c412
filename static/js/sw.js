/* OpsPlatform service worker: offline reading of incidents already opened, and pages by Web Push.
 *
 * Pages are fetched from the network first; an incident page that arrives is kept, so the incident
 * can be read again when the connection drops (it shows the state it had then). Static files are
 * served from the cache once fetched. Nothing else is stored: no API answers, no other pages.
 */
const VERSION = "__CACHE_VERSION__";
const STATIC_URL = "__STATIC_URL__";
const PAGES = `pages-v${VERSION}`;
const ASSETS = `assets-v${VERSION}`;
const OFFLINE = "/offline/";
const INCIDENT_PAGE = /^\/incidents\/\d+\/$/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(PAGES).then((cache) => cache.add(new Request(OFFLINE, { credentials: "same-origin" })))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== PAGES && k !== ASSETS).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith(STATIC_URL)) {
    event.respondWith(
      caches.match(request).then((hit) => hit || fetch(request).then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(ASSETS).then((cache) => cache.put(request, copy));
        }
        return response;
      })),
    );
    return;
  }
  if (request.mode !== "navigate") return;
  event.respondWith(
    fetch(request).then((response) => {
      // Only a page that really is the incident (not a redirect to sign-in) is kept.
      if (response.ok && !response.redirected && INCIDENT_PAGE.test(url.pathname)) {
        const copy = response.clone();
        caches.open(PAGES).then((cache) => cache.put(url.pathname, copy));
      }
      return response;
    }).catch(() => caches.open(PAGES).then((cache) =>
      cache.match(url.pathname).then((hit) => hit || cache.match(OFFLINE)))),
  );
});

self.addEventListener("push", (event) => {
  let page = {};
  try { page = event.data ? event.data.json() : {}; } catch (e) { page = { title: "OpsPlatform", body: event.data.text() }; }
  const actions = page.ack_action_url ? [{ action: "ack", title: "Acknowledge" }, { action: "open", title: "Open" }] : [];
  event.waitUntil(self.registration.showNotification(page.title || "OpsPlatform page", {
    body: page.body || "",
    tag: page.tag,
    renotify: true,
    requireInteraction: true,
    icon: `${STATIC_URL}img/icon-192.png`,
    data: { url: page.url || "/", ack_action_url: page.ack_action_url || null, ack_url: page.ack_url || null },
    actions,
  }));
});

self.addEventListener("notificationclick", (event) => {
  const data = event.notification.data || {};
  event.notification.close();
  if (event.action === "ack" && data.ack_action_url) {
    event.waitUntil(
      fetch(data.ack_action_url, { method: "POST", credentials: "omit" })
        .then((response) => {
          if (response.ok) {
            return self.registration.showNotification("Acknowledged", { body: event.notification.title, tag: event.notification.tag });
          }
          return self.clients.openWindow(data.ack_url || data.url);
        })
        .catch(() => self.clients.openWindow(data.ack_url || data.url)),
    );
    return;
  }
  event.waitUntil(self.clients.openWindow(data.url || "/"));
});
