// huhujian service worker: keeps the app shell so the app opens and runs with no
// network at all. The API is never cached: data lives in IndexedDB and syncs.
// Shell files are served from the cache at once and refreshed in the background
// (stale-while-revalidate), so a new build reaches the phone on the next open.
const CACHE = "huhujian-shell-v2";
const SHELL = ["/", "/index.html", "/app.js", "/app_bg.wasm", "/style.css", "/manifest.webmanifest", "/icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return; // the network, as usual
  }
  // Every page of this single-page app is index.html: the phone bundle's, or under
  // /console/ the console bundle's. The console's files are not in SHELL (a cadre's
  // phone never downloads them); they are cached here when a supervisor first opens it.
  const index = url.pathname.startsWith("/console/") ? "/console/index.html" : "/index.html";
  const key = event.request.mode === "navigate" ? index : url.pathname;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(key);
      const fresh = fetch(event.request)
        .then((response) => {
          if (response.ok) cache.put(key, response.clone());
          return response;
        })
        .catch(() => cached);
      return cached ?? fresh;
    }),
  );
});
