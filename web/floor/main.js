// The floor app's shell: sign-in, role-aware navigation, the line picker, the
// connection and outbox indicators, banners, alerts and the offline service worker.
// Each screen is a module under views/ that mounts into <main>.

import { get } from '../data/api.js';
import * as live from '../data/live.js';
import * as outbox from '../data/outbox.js';
import { onSessionChange, signIn, signOut, token } from '../data/session.js';
import { fill, h } from '../components/dom.js';
import { LANGUAGES, language, setLanguage, setTimeZone, t } from '../i18n/index.js';
import * as alerts from '../components/alerts.js';

const SCREENS = {
  operator: () => import('../views/operator/operator.js'),
  supervisor: () => import('../views/supervisor/supervisor.js'),
  manager: () => import('../views/manager/manager.js'),
  engineer: () => import('../views/engineer/engineer.js'),
  admin: () => import('../views/admin/admin.js'),
};

/** Which screens a role sees (managers sign in as supervisors). */
const BY_ROLE = {
  operator: ['operator'],
  supervisor: ['operator', 'supervisor', 'manager'],
  engineer: ['operator', 'supervisor', 'manager', 'engineer'],
  admin: ['operator', 'supervisor', 'manager', 'engineer', 'admin'],
};

const $ = (id) => document.getElementById(id);
const ctx = { me: null, lines: [], line: null, listeners: new Set() };
let unmount = null;

function screens() {
  return (ctx.me && BY_ROLE[ctx.me.role]) || [];
}

function current() {
  const want = location.hash.replace(/^#/, '').split('?')[0];
  const mine = screens();
  return mine.includes(want) ? want : mine[0];
}

function paintStatic() {
  document.title = t('app.title');
  $('signin-title').textContent = t('signin.title');
  $('signin-user').textContent = t('signin.username');
  $('signin-pass').textContent = t('signin.password');
  $('signin-submit').textContent = t('signin.submit');
  $('signout').textContent = t('nav.signout');
  $('line-pick-caption').textContent = t('nav.line');
  document.querySelector('.skip').textContent = t('nav.skip');
  fill(
    $('lang'),
    LANGUAGES.map((l) => h('option', { value: l, selected: l === language() }, t(`lang.${l}`))),
  );
}

function paintNav() {
  const here = current();
  fill(
    $('nav'),
    screens().map((s) =>
      h('a.nav-link', { href: `#${s}`, 'aria-current': s === here ? 'page' : false, dataset: { screen: s } }, t(`nav.${s}`)),
    ),
    h('a.nav-link', { href: ctx.line ? `/?line=${encodeURIComponent(ctx.line)}` : '/', dataset: { screen: 'board' } }, t('nav.board')),
  );
}

function paintLines() {
  const label = $('line-pick-label');
  label.hidden = ctx.lines.length === 0;
  fill(
    $('line-pick'),
    ctx.lines.map((l) => h('option', { value: l.id, selected: l.id === ctx.line }, l.name || l.id)),
  );
}

async function show() {
  if (!ctx.me) return;
  paintNav();
  const name = current();
  if (unmount) unmount();
  unmount = null;
  const root = $('view');
  root.replaceChildren();
  root.dataset.screen = name || '';
  if (!name) return;
  const mod = await SCREENS[name]();
  if (current() !== name) return;
  unmount = mod.mount(root, ctx) || null;
}

function setConn(state) {
  document.body.dataset.conn = state;
  const el = $('conn');
  el.dataset.state = state;
  el.textContent = t(`conn.${state}`);
}

function paintOutbox({ waiting, conflicts }) {
  const box = $('outbox');
  box.hidden = waiting.length === 0;
  box.dataset.waiting = String(waiting.length);
  box.textContent = t('outbox.waiting', { n: waiting.length });
  const c = $('conflicts');
  c.hidden = conflicts.length === 0;
  fill(
    c,
    conflicts.map((x) =>
      h(
        'div.conflict',
        { role: 'alert', dataset: { status: x.status } },
        h('strong', {}, t('outbox.conflict')),
        ' ',
        h('span.conflict-what', {}, x.label || x.path),
        ': ',
        h('span.conflict-why', {}, x.message),
        ' ',
        h('button.small', { type: 'button', onclick: () => outbox.dismiss(x.seq) }, t('outbox.dismiss')),
      ),
    ),
  );
}

// Who signed in last and the plant's lines (not secrets: names, role, scope, time zone),
// for starting offline.
const ME_KEY = 'ms5.me';
const LINES_KEY = 'ms5.lines';
function remembered(key) {
  try {
    return JSON.parse(localStorage.getItem(key || ME_KEY) || 'null');
  } catch (_) {
    return null;
  }
}
function remember(value, key) {
  try {
    if (value) localStorage.setItem(key || ME_KEY, JSON.stringify(value));
    else localStorage.removeItem(key || ME_KEY);
  } catch (_) {
    /* no storage */
  }
}

async function signedIn() {
  let me;
  try {
    me = await get('/api/v1/auth/me');
  } catch (e) {
    if (e.status === 401) {
      await signOut();
      return;
    }
    // Offline with a token: show the shell from what this browser last knew.
    me = ctx.me || remembered() || { role: 'operator', kind: 'user', name: '' };
  }
  remember(me);
  if (me.kind === 'display') {
    location.replace('/');
    return;
  }
  ctx.me = me;
  setTimeZone(me.timezone);
  try {
    const body = await get('/api/v1/production/lines');
    ctx.lines = (body.lines || []).map((l) => ({
      id: l.id,
      name: l.name,
      machines: (l.machines || []).map((m) => ({ id: m.id, name: m.name })),
    }));
    remember(ctx.lines, LINES_KEY);
  } catch (_) {
    ctx.lines = ctx.lines.length ? ctx.lines : remembered(LINES_KEY) || [];
  }
  const params = new URLSearchParams(location.search);
  const wanted = params.get('line');
  ctx.line = ctx.lines.some((l) => l.id === wanted) ? wanted : (ctx.lines[0] && ctx.lines[0].id) || null;
  $('signin').hidden = true;
  $('signout').hidden = false;
  document.body.dataset.role = me.role || '';
  live.start();
  paintLines();
  alerts.watch(ctx);
  outbox.flush();
  show();
}

function signedOut() {
  ctx.me = null;
  remember(null);
  remember(null, LINES_KEY);
  live.stop();
  if (unmount) unmount();
  unmount = null;
  $('view').replaceChildren();
  $('nav').replaceChildren();
  $('signout').hidden = true;
  $('line-pick-label').hidden = true;
  $('signin').hidden = false;
}

function boot() {
  paintStatic();
  $('lang').addEventListener('change', (e) => {
    setLanguage(e.target.value);
    paintStatic();
    if (ctx.me) show();
  });
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    $('signin-error').textContent = '';
    const err = await signIn(f.username.value, f.password.value);
    if (err) $('signin-error').textContent = err === 'offline' ? t('signin.offline') : err;
    else f.reset();
  });
  $('signout').addEventListener('click', () => signOut());
  $('line-pick').addEventListener('change', (e) => {
    ctx.line = e.target.value;
    const url = new URL(location.href);
    url.searchParams.set('line', ctx.line);
    history.replaceState(null, '', url);
    alerts.watch(ctx);
    show();
  });
  window.addEventListener('hashchange', show);
  live.onStatus(setConn);
  live.onStatus((s) => {
    if (s === 'connected') outbox.flush();
  });
  live.onDegraded((on) => {
    const el = $('degraded-banner');
    el.hidden = !on;
    el.textContent = on ? t('banner.degraded') : '';
  });
  live.onBanner((b) => {
    const el = $('maintenance-banner');
    el.hidden = !b.maintenance_mode;
    el.textContent = b.maintenance_mode ? b.message || t('banner.maintenance') : '';
  });
  outbox.onChange(paintOutbox);
  outbox.startReplay();
  onSessionChange((on) => (on ? signedIn() : signedOut()));
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {});
  if (token()) signedIn();
  else signedOut();
  document.body.dataset.ready = 'true';
}

boot();
