// MS5 service worker (installed only while the offline_support flag is on).
// It keeps the board's and the floor app's own files, so a wall display or a tablet that
// reloads while the server is unreachable still shows its screen (the board marked
// stale, the app with its offline outbox) and reconnects by itself. It also shows the
// floor app's Andon notifications. API calls and the WebSocket always go to the network.
'use strict';

const CACHE = 'ms5-shell-v4';
const SHELL = [
  './',
  'app',
  'app.js',
  'components/alerts.js',
  'components/charts.js',
  'components/countdown.js',
  'components/dom.js',
  'components/pickers.js',
  'components/qr.js',
  'data/api.js',
  'data/live.js',
  'data/outbox.js',
  'data/session.js',
  'floor.css',
  'floor/main.js',
  'i18n/de.js',
  'i18n/en.js',
  'i18n/index.js',
  'icons/icon.svg',
  'manifest.webmanifest',
  'style.css',
  'views/admin/admin.js',
  'views/engineer/engineer.js',
  'views/manager/manager.js',
  'views/operator/operator.js',
  'views/supervisor/supervisor.js',
];

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
      // Module scripts are CORS requests; the kept copy is matched by its path alone.
      .catch(() => caches.match(url.origin + url.pathname, { ignoreSearch: true, ignoreVary: true })),
  );
});

// A tap on an Andon notification brings the floor app forward.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: 'window' }).then((list) => {
      const app = list.find((c) => new URL(c.url).pathname === '/app');
      return app ? app.focus() : self.clients.openWindow('/app');
    }),
  );
});
