// Audible and visual alert for a new or escalated Andon ticket of the shown line, and
// a system notification through the service worker when the user allowed them. All
// local: a tone made by the browser, no network needed.

import * as live from '../data/live.js';
import { t } from '../i18n/index.js';

let stopWatching = null;
let known = null; // id → level, after the first snapshot
let audio = null;

function tone() {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.4);
  } catch (_) {
    /* no audio: the banner still shows */
  }
}

async function notify(text) {
  if (!('Notification' in window) || Notification.permission !== 'granted' || !navigator.serviceWorker) return;
  try {
    const reg = await navigator.serviceWorker.ready;
    reg.showNotification('MS5 Andon', { body: text, tag: 'ms5-andon', renotify: true });
  } catch (_) {
    /* notifications unavailable */
  }
}

function alert(text) {
  const el = document.getElementById('alert-banner');
  el.textContent = text;
  el.hidden = false;
  el.classList.remove('flash');
  void el.offsetWidth; // restart the animation
  el.classList.add('flash');
  document.body.dataset.alerts = String(Number(document.body.dataset.alerts || 0) + 1);
  tone();
  notify(text);
}

/** Asks for notification permission (from a user gesture). */
export function askPermission() {
  if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission();
}

/** Watches the andon channel of `ctx.line`. */
export function watch(ctx) {
  if (stopWatching) stopWatching();
  known = null;
  if (!ctx.line) return;
  stopWatching = live.subscribe(`andon:${ctx.line}`, (tickets) => {
    const now = new Map();
    tickets.forEach((tk) => now.set(String(tk.id), tk.level || 0));
    if (known) {
      tickets.forEach((tk) => {
        if (tk.state !== 'open' && tk.state !== 'acknowledged') return;
        const before = known.get(String(tk.id));
        if (before === undefined) alert(t('alert.new', { machine: tk.machine, category: t(`category.${tk.category}`) }));
        else if ((tk.level || 0) > before) alert(t('alert.escalated', { machine: tk.machine, level: tk.level }));
      });
    }
    known = now;
  });
  const el = document.getElementById('alert-banner');
  el.onclick = () => {
    el.hidden = true;
  };
}
