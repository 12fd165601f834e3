// MS5 board service worker (installed only while the offline_support flag is on).
// It keeps the board's own files so a wall display that reloads while the server is
// unreachable still shows the board (marked stale) and reconnects by itself.
// API calls and the WebSocket always go to the network.
'use strict';

const CACHE = 'ms5-shell-v2';
const SHELL = ['./', 'app.js', 'style.css'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  const own = url.origin === self.location.origin;
  if (event.request.method !== 'GET' || !own || url.pathname.startsWith('/api/') || url.pathname === '/ws') return;
  event.respondWith(
    fetch(event.request)
      .then((res) => {
        if (res.ok) {
          // Keyed by path alone: nothing after `?` (or `#`) is kept.
          const copy = res.clone();
          caches.open(CACHE).then((cache) => cache.put(url.origin + url.pathname, copy));
        }
        return res;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true })),
  );
});
