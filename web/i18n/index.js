// One string catalogue per language; `t(key, vars)` picks the current one, falling
// back to English. Times are shown in the plant's time zone.

import en from './en.js';
import de from './de.js';

const CATALOGUES = { en, de };
const LANG_KEY = 'ms5.lang';
let lang = pick();
let timeZone = 'UTC';

function pick() {
  let saved = null;
  try {
    saved = localStorage.getItem(LANG_KEY);
  } catch (_) {
    /* no storage */
  }
  if (saved && CATALOGUES[saved]) return saved;
  const nav = (navigator.language || 'en').slice(0, 2);
  return CATALOGUES[nav] ? nav : 'en';
}

/** The languages offered. */
export const LANGUAGES = Object.keys(CATALOGUES);

/** The current language. */
export function language() {
  return lang;
}

/** Switches language (kept in this browser). */
export function setLanguage(l) {
  if (!CATALOGUES[l]) return;
  lang = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem(LANG_KEY, l);
  } catch (_) {
    /* no storage */
  }
}

/** The plant's time zone, from the server. */
export function setTimeZone(tz) {
  if (tz) timeZone = tz;
}

export function plantTimeZone() {
  return timeZone;
}

/** The string for `key`, with `{name}` replaced from `vars`. */
export function t(key, vars) {
  const s = (CATALOGUES[lang] && CATALOGUES[lang][key]) || en[key] || key;
  return vars ? s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] === undefined ? `{${k}}` : String(vars[k]))) : s;
}

/** A time of day in plant-local time (HH:MM). */
export function time(iso) {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(lang, { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

/** A date and time in plant-local time. */
export function dateTime(iso) {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(lang, {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(iso));
}

/** Today's plant-local date, YYYY-MM-DD. */
export function plantDate(ms) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(ms === undefined ? Date.now() : ms),
  );
  return parts;
}

/** A fraction as a percentage with one decimal, or a dash. */
export function pct(v) {
  return typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '—';
}

/** A duration in seconds as H:MM:SS or M:SS. */
export function duration(s) {
  if (typeof s !== 'number' || !Number.isFinite(s)) return '—';
  const neg = s < 0;
  let x = Math.floor(Math.abs(s));
  const h = Math.floor(x / 3600);
  x -= h * 3600;
  const m = Math.floor(x / 60);
  const sec = x - m * 60;
  const body = h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
  return neg ? `-${body}` : body;
}

/** A number with the language's grouping. */
export function num(v, digits) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits === undefined ? 0 : digits }).format(v);
}
