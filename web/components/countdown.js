// Countdowns to a ticket's next escalation, all ticking from one timer.

import { duration, t } from '../i18n/index.js';

const live = new Set();

function paint(el) {
  const due = Date.parse(el.dataset.due);
  if (!Number.isFinite(due)) {
    el.textContent = '—';
    return;
  }
  const left = (due - Date.now()) / 1000;
  el.textContent = left > 0 ? duration(left) : t('countdown.due');
  el.dataset.overdue = left <= 0 ? 'true' : 'false';
}

setInterval(() => {
  live.forEach((el) => {
    if (!el.isConnected) live.delete(el);
    else paint(el);
  });
}, 1000);

/** A span counting down to `iso` (a dash without one). */
export function countdown(iso) {
  const el = document.createElement('span');
  el.className = 'countdown';
  el.dataset.due = iso || '';
  paint(el);
  if (iso) live.add(el);
  return el;
}

/** A span counting up from `iso` (time in state). */
export function since(iso) {
  const el = document.createElement('span');
  el.className = 'since';
  const from = Date.parse(iso);
  const paintSince = () => {
    el.textContent = Number.isFinite(from) ? duration((Date.now() - from) / 1000) : '—';
  };
  paintSince();
  if (Number.isFinite(from)) {
    const timer = setInterval(() => {
      if (!el.isConnected) clearInterval(timer);
      else paintSince();
    }, 1000);
  }
  return el;
}
