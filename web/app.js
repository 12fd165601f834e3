// MS5 plant board.
// All data is written with textContent; never innerHTML.
'use strict';

(() => {
  const CHANNEL = 'production_updates';
  const WINDOWS = ['shift', '15m', '1h', '8h', 'today'];
  const WINDOW_LABELS = {
    shift: 'Current shift',
    '15m': 'Last 15 min',
    '1h': 'Last hour',
    '8h': 'Last 8 h',
    today: 'Today',
  };
  const WINDOW_SHORT = { shift: 'Shift', '15m': '15 min', '1h': '1 h', '8h': '8 h', today: 'Today' };
  const STATE_WORDS = {
    running: 'running',
    idle: 'idle',
    down: 'down',
    planned_stop: 'planned stop',
    changeover: 'changeover',
    unknown: 'unknown',
  };
  const NOT_RUNNING_NEEDS_REASON = new Set(['down', 'idle']);

  const ANDON_CHANNEL = 'andon';
  const PRIORITY_RANK = { critical: 0, high: 1, medium: 2, low: 3 };
  const TICKET_LIVE_STATES = new Set(['open', 'acknowledged']);
  const MAX_TICKETS_SHOWN = 8; // per line; the rest are summarised as "+N more"

  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const CONNECT_TIMEOUT_MS = 10000;
  const PROBE_AFTER_MS = 15000; // send a ping when quiet this long
  const DEAD_AFTER_MS = 30000; // no frame at all this long: reconnect
  const SKEW_MIN_MS = 3000; // ignore smaller client/server clock differences

  // ---------------------------------------------------------------- URL state
  const params = new URLSearchParams(location.search);
  const requestedWindow = params.get('window');
  const windowKey = WINDOWS.includes(requestedWindow) ? requestedWindow : 'shift';
  const lineFilter = params.get('line') || null;

  // ---------------------------------------------------------------- credentials
  // A wall display opens the board once with #token=<display token> (a fragment never
  // reaches a server or its logs); the token is kept in this browser and taken out of the
  // address bar. People sign in instead.
  const TOKEN_KEY = 'ms5.token';
  const REFRESH_KEY = 'ms5.refresh';
  const REFRESH_BEFORE_S = 120;
  const refreshOffsetMs = Math.floor(Math.random() * 59) * 1000;

  function stored(key) {
    try {
      return localStorage.getItem(key);
    } catch (_) {
      return null;
    }
  }

  function store(key, value) {
    try {
      if (value == null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (_) {
      /* private mode: the token lives as long as the page */
    }
  }

  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  if (fragment.get('token')) {
    store(TOKEN_KEY, fragment.get('token'));
    store(REFRESH_KEY, null);
    history.replaceState(null, '', location.pathname + location.search);
  }

  let memoryToken = stored(TOKEN_KEY);

  function token() {
    return memoryToken;
  }

  function setTokens(access, refresh) {
    memoryToken = access;
    store(TOKEN_KEY, access);
    store(REFRESH_KEY, refresh);
  }

  // Seconds until a JWT expires; Infinity for display tokens (not JWTs).
  function secondsLeft(t) {
    const parts = String(t || '').split('.');
    if (parts.length !== 3) return Infinity;
    try {
      const claims = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/')));
      return isNum(claims.exp) ? claims.exp - Date.now() / 1000 : 0;
    } catch (_) {
      return 0;
    }
  }

  async function api(path, options) {
    const headers = Object.assign({ 'Content-Type': 'application/json' }, (options && options.headers) || {});
    if (token()) headers.Authorization = 'Bearer ' + token();
    return fetch(path, Object.assign({}, options || {}, { headers }));
  }

  // Refreshes a person's access token shortly before it expires. Returns false when
  // there is no usable credential left. A refresh token works once, so one refresh runs
  // at a time in this tab and, through a Web Lock, across this browser's tabs; a tab that
  // waited picks up the tokens the other one stored.
  let refreshing = null;
  let signInGeneration = 0; // bumped by sign-out: a refresh that ends after it is dropped

  function freshToken() {
    if (!refreshing) {
      refreshing = withRefreshLock(refreshOnce).finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  // Web Locks exist only on secure origins (https, localhost); elsewhere a short lease in
  // local storage keeps two tabs from refreshing the same token at once.
  const LEASE_KEY = 'ms5.refresh.lease';
  const LEASE_MS = 10000;
  const tabId = Math.random().toString(36).slice(2);

  async function withRefreshLock(job) {
    if (navigator.locks) return navigator.locks.request('ms5-refresh', job);
    for (let i = 0; i < 20; i += 1) {
      const lease = (stored(LEASE_KEY) || '').split(' ');
      if (lease.length !== 2 || Number(lease[1]) < Date.now() || lease[0] === tabId) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    store(LEASE_KEY, tabId + ' ' + (Date.now() + LEASE_MS));
    try {
      return await job();
    } finally {
      if ((stored(LEASE_KEY) || '').startsWith(tabId + ' ')) store(LEASE_KEY, null);
    }
  }

  async function refreshOnce() {
    const generation = signInGeneration;
    memoryToken = stored(TOKEN_KEY) || memoryToken;
    const t = token();
    if (!t) return false;
    if (secondsLeft(t) > REFRESH_BEFORE_S) return true;
    const refresh = stored(REFRESH_KEY);
    if (!refresh) return secondsLeft(t) > 0;
    try {
      const res = await fetch('/api/v1/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: refresh }),
      });
      if (res.status === 401) {
        setTokens(null, null);
        return false;
      }
      if (!res.ok) return secondsLeft(t) > 0; // the server is busy: try again later
      const body = await res.json();
      if (generation !== signInGeneration) return false; // signed out meanwhile
      setTokens(body.access_token, body.refresh_token);
      return true;
    } catch (_) {
      return secondsLeft(t) > 0; // offline: keep what we have
    }
  }

  async function signOut() {
    signInGeneration += 1;
    const refresh = stored(REFRESH_KEY);
    try {
      await api('/api/v1/auth/logout', { method: 'POST', body: JSON.stringify({ refresh_token: refresh }) });
    } catch (_) {
      /* signed out here anyway */
    }
    setTokens(null, null);
    if (sock) dropSocket('signed out');
    showSignIn('Signed out.');
  }

  // ---------------------------------------------------------------- state
  /** @type {Map<string, object>} line id -> LineSnapshot, in server order */
  let lines = new Map();
  let haveData = false;
  let lastSeq = null;
  let updatesApplied = 0;
  let lastLiveAt = 0; // client time of the last frame proving the data is current
  let serverOffsetMs = 0;

  let sock = null;
  let gotSnapshot = false;
  let attempt = 0;
  let reconnectTimer = null;
  let nextRetryAt = 0;
  let openedAt = 0;
  let lastFrameAt = 0;
  let pingSentAt = 0;
  let connState = 'connecting';
  let noticeTimer = null;

  /** @type {Map<string, object>} ticket id -> open or acknowledged Andon ticket */
  let tickets = new Map();
  let gotAndonSnapshot = false;
  let lastAndonSeq = null;
  let gapsSeen = 0;
  const lineDocs = docStore(CHANNEL);
  const andonDocs = docStore(ANDON_CHANNEL);

  // ---------------------------------------------------------------- DOM refs
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const board = $('board');
  const connEl = $('conn');
  const connText = $('conn-text');
  const staleBanner = $('stale-banner');
  const staleDetail = $('stale-detail');
  const noticeEl = $('notice');
  const clockEl = $('clock');

  // ---------------------------------------------------------------- helpers
  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function isNum(v) {
    return typeof v === 'number' && Number.isFinite(v);
  }

  function pct(v) {
    if (!isNum(v)) return '—';
    const r = Math.round(v * 1000) / 10;
    return (r === 0 ? 0 : r).toFixed(1) + '%';
  }

  const countFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  function count(v) {
    return isNum(v) ? countFmt.format(v) : '—';
  }

  function parseTime(s) {
    if (typeof s !== 'string') return NaN;
    // Trim sub-millisecond digits, which some engines refuse.
    return Date.parse(s.replace(/(\.\d{3})\d+/, '$1'));
  }

  function pad2(n) {
    return String(n).padStart(2, '0');
  }

  function hhmm(ms) {
    const d = new Date(ms);
    return pad2(d.getHours()) + ':' + pad2(d.getMinutes());
  }

  function hhmmss(ms) {
    const d = new Date(ms);
    return hhmm(ms) + ':' + pad2(d.getSeconds());
  }

  function duration(sec) {
    if (!isNum(sec)) return '—';
    const s = Math.max(0, Math.floor(sec));
    if (s < 60) return s + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' m';
    const h = Math.floor(m / 60);
    if (h < 24) return h + ' h ' + pad2(m % 60) + ' m';
    return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
  }

  function serverNow() {
    return Date.now() + serverOffsetMs;
  }

  // Countdown as m:ss, or h:mm:ss from an hour up.
  function clockDuration(sec) {
    const s = Math.max(0, Math.ceil(sec));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = pad2(s % 60);
    return h > 0 ? h + ':' + pad2(m) + ':' + r : m + ':' + r;
  }

  function stateOf(s) {
    return Object.prototype.hasOwnProperty.call(STATE_WORDS, s) ? s : 'unknown';
  }

  function figuresOf(obj) {
    const w = obj && obj.windows;
    const f = w && typeof w === 'object' ? w[windowKey] : null;
    return f && typeof f === 'object' ? f : {};
  }

  function warningsOf(f) {
    return Array.isArray(f.warnings) ? f.warnings.filter((w) => typeof w === 'string') : [];
  }

  function boardUrl(overrides) {
    const p = new URLSearchParams();
    const win = 'window' in overrides ? overrides.window : windowKey;
    const line = 'line' in overrides ? overrides.line : lineFilter;
    if (win && win !== 'shift') p.set('window', win);
    if (line) p.set('line', line);
    const q = p.toString();
    return q ? '?' + q : './';
  }

  // ---------------------------------------------------------------- rendering
  function apqBlock(f) {
    const warnings = warningsOf(f);
    const isPerfWarning = (w) => w === 'performance_over_100' || w === 'performance_over100';
    const perfOver = warnings.some(isPerfWarning) || (isNum(f.performance) && f.performance > 1);
    const wrap = el('div', 'apq');
    const items = [
      ['a', 'A', f.availability, 'Availability'],
      ['p', 'P', f.performance, 'Performance'],
      ['q', 'Q', f.quality, 'Quality'],
    ];
    for (const [key, letter, value, title] of items) {
      const item = el('span', 'apq-item apq-' + key);
      item.title = title;
      item.appendChild(el('span', 'apq-letter', letter));
      item.appendChild(el('span', 'apq-value', pct(value)));
      if (key === 'p' && perfOver) {
        item.classList.add('over');
        const mark = el('span', 'warn-marker', '!');
        mark.title = 'Performance over 100 % (shown as measured): check the ideal cycle time';
        mark.setAttribute('aria-label', 'warning: performance over 100 percent');
        item.appendChild(mark);
      }
      wrap.appendChild(item);
    }
    const other = warnings.filter((w) => !isPerfWarning(w));
    if (other.length) {
      const w = el('span', 'apq-item other-warnings', '! ' + other.map((s) => s.replace(/_/g, ' ')).join(', '));
      w.title = 'Warnings';
      wrap.appendChild(w);
    }
    return wrap;
  }

  function countsBlock(f) {
    const wrap = el('div', 'counts');
    const good = el('span', 'count good');
    good.appendChild(el('span', 'count-value', count(f.good)));
    good.appendChild(el('span', 'count-label', 'good'));
    const reject = el('span', 'count reject');
    reject.appendChild(el('span', 'count-value', count(f.reject)));
    reject.appendChild(el('span', 'count-label', 'reject'));
    wrap.appendChild(good);
    wrap.appendChild(reject);
    return wrap;
  }

  function oeeBlock(f, label) {
    const wrap = el('div', 'oee');
    wrap.appendChild(el('span', 'oee-label', label));
    const v = el('span', 'oee-value', pct(f.oee));
    if (!isNum(f.oee)) v.classList.add('none');
    wrap.appendChild(v);
    return wrap;
  }

  function machineTile(m) {
    const state = stateOf(m.state);
    const f = figuresOf(m);
    const tile = el('article', 'machine');
    tile.dataset.machineId = String(m.id);
    tile.dataset.state = state;
    if (warningsOf(f).length) tile.dataset.warnings = warningsOf(f).join(' ');

    const head = el('header', 'machine-head');
    const name = el('h3', 'machine-name', m.name ?? m.id);
    name.title = String(m.name ?? m.id);
    head.appendChild(name);
    if (typeof m.product === 'string' && m.product) head.appendChild(el('span', 'product', m.product));
    tile.appendChild(head);

    const block = el('div', 'state-block');
    block.appendChild(el('span', 'state-word', STATE_WORDS[state]));
    const since = parseTime(m.state_since);
    const sinceEl = el('span', 'state-since', isNum(since) ? duration((serverNow() - since) / 1000) : '');
    if (isNum(since)) {
      sinceEl.dataset.since = String(since);
      sinceEl.title = 'in this state since ' + hhmmss(since);
    }
    block.appendChild(sinceEl);
    if (state !== 'running') {
      const hasReason = typeof m.reason === 'string' && m.reason.trim() !== '';
      if (hasReason || NOT_RUNNING_NEEDS_REASON.has(state)) {
        const reason = el('span', 'reason', hasReason ? m.reason : 'no reason entered');
        if (!hasReason) reason.classList.add('missing');
        block.appendChild(reason);
      }
    }
    tile.appendChild(block);

    const figs = el('div', 'figures');
    figs.appendChild(oeeBlock(f, 'OEE · ' + WINDOW_SHORT[windowKey]));
    figs.appendChild(apqBlock(f));
    tile.appendChild(figs);
    tile.appendChild(countsBlock(f));
    return tile;
  }

  function lineBand(line) {
    const f = figuresOf(line);
    const state = stateOf(line.state);
    const machines = Array.isArray(line.machines) ? line.machines.filter((m) => m && m.id != null) : [];

    const band = el('section', 'line');
    band.dataset.lineId = String(line.id);
    band.dataset.state = state;

    const head = el('header', 'line-head');
    const title = el('div', 'line-title');
    const nameText = line.name ?? line.id;
    const name = el('h2', 'line-name');
    if (lineFilter) {
      name.textContent = String(nameText);
    } else {
      const a = el('a', null, nameText);
      a.href = boardUrl({ line: String(line.id) });
      a.title = 'Show this line only';
      name.appendChild(a);
    }
    title.appendChild(name);
    const sub = el('div', 'line-sub');
    const pill = el('span', 'line-state', STATE_WORDS[state]);
    pill.dataset.state = state;
    sub.appendChild(pill);
    const shift = line.shift && typeof line.shift === 'object' ? line.shift : null;
    const shiftEl = el('span', 'shift');
    if (shift) {
      shiftEl.appendChild(el('span', 'shift-label', 'shift '));
      shiftEl.appendChild(el('span', 'shift-name', shift.name ?? '?'));
      const st = parseTime(shift.start);
      const en = parseTime(shift.end);
      if (isNum(st) && isNum(en)) shiftEl.appendChild(el('span', 'shift-time', ' ' + hhmm(st) + '–' + hhmm(en)));
    } else {
      shiftEl.appendChild(el('span', 'shift-name none', 'no shift'));
    }
    sub.appendChild(shiftEl);
    title.appendChild(sub);
    head.appendChild(title);

    head.appendChild(oeeBlock(f, 'Line OEE · ' + WINDOW_SHORT[windowKey]));
    head.appendChild(apqBlock(f));
    head.appendChild(countsBlock(f));
    band.appendChild(head);

    const grid = el('div', 'machines');
    const n = machines.length;
    const cols = n <= 4 ? Math.max(1, n) : n <= 8 ? Math.ceil(n / 2) : Math.ceil(n / 3);
    grid.style.setProperty('--cols', String(cols));
    grid.style.setProperty('--rows', String(Math.max(1, Math.ceil(n / cols))));
    if (n === 0) grid.appendChild(el('p', 'placeholder', 'No machines on this line'));
    for (const m of machines) grid.appendChild(machineTile(m));
    band.appendChild(grid);
    decorateAndon(band, line);
    return band;
  }

  // ---------------------------------------------------------------- Andon
  function priorityOf(t) {
    return Object.prototype.hasOwnProperty.call(PRIORITY_RANK, t.priority) ? t.priority : 'low';
  }

  function ticketOrder(a, b) {
    const pa = PRIORITY_RANK[priorityOf(a)];
    const pb = PRIORITY_RANK[priorityOf(b)];
    if (pa !== pb) return pa - pb;
    const ta = parseTime(a.raised_at);
    const tb = parseTime(b.raised_at);
    const va = isNum(ta) ? ta : Infinity;
    const vb = isNum(tb) ? tb : Infinity;
    if (va !== vb) return va - vb;
    return Number(a.id) - Number(b.id);
  }

  function ticketsForLine(lineId) {
    const out = [];
    for (const t of tickets.values()) if (String(t.line) === lineId) out.push(t);
    return out.sort(ticketOrder);
  }

  function validTicket(t) {
    return t && typeof t === 'object' && t.id != null && t.line != null;
  }

  function wantTicket(t) {
    return !lineFilter || String(t.line) === lineFilter;
  }

  function countdownText(e, sNow) {
    const left = (Number(e.dataset.at) - sNow) / 1000;
    const level = e.dataset.level ? 'L' + e.dataset.level : 'next level';
    if (left <= 0) return level + ' due now';
    const lead = e.dataset.kind === 'resolve_deadline' ? 'resolve in ' : 'next page in ';
    return lead + clockDuration(left);
  }

  function updateCountdown(e, sNow) {
    const t = countdownText(e, sNow);
    if (e.textContent !== t) e.textContent = t;
    const due = Number(e.dataset.at) <= sNow;
    if (e.classList.contains('due') !== due) {
      e.classList.toggle('due', due);
      const card = e.closest('.ticket');
      if (card) card.classList.toggle('overdue', due);
    }
  }

  function ticketCard(t, machineNames) {
    const priority = priorityOf(t);
    const state = t.state === 'acknowledged' ? 'acknowledged' : 'open';
    const card = el('article', 'ticket');
    card.dataset.ticketId = String(t.id);
    card.dataset.priority = priority;
    card.dataset.state = state;
    if (typeof t.category === 'string') card.dataset.category = t.category;

    const head = el('div', 'ticket-head');
    head.appendChild(el('span', 'ticket-priority', priority));
    if (t.machine != null) {
      const id = String(t.machine);
      const m = el('span', 'ticket-machine', machineNames.get(id) ?? id);
      m.dataset.machineId = id;
      m.title = machineNames.get(id) ?? id;
      head.appendChild(m);
    } else {
      const m = el('span', 'ticket-machine line-wide', 'line');
      m.title = 'whole line';
      head.appendChild(m);
    }
    const level = el('span', 'ticket-level', 'L' + (isNum(t.level) ? t.level : '?'));
    level.title = 'escalation level';
    head.appendChild(level);
    const raised = parseTime(t.raised_at);
    const age = el('span', 'ticket-age', isNum(raised) ? duration((serverNow() - raised) / 1000) : '');
    if (isNum(raised)) {
      age.dataset.since = String(raised);
      age.title = 'raised at ' + hhmmss(raised);
    }
    head.appendChild(age);
    card.appendChild(head);

    const desc = el('p', 'ticket-desc', typeof t.description === 'string' ? t.description : '');
    desc.title = desc.textContent;
    card.appendChild(desc);

    const foot = el('div', 'ticket-foot');
    const category = el('span', 'ticket-category', typeof t.category === 'string' ? t.category.replace(/_/g, ' ') : 'other');
    const next = t.next_escalation && typeof t.next_escalation === 'object' ? t.next_escalation : null;
    const at = next ? parseTime(next.at) : NaN;
    if (isNum(at)) {
      const cd = el('span', 'ticket-countdown');
      cd.dataset.at = String(at);
      cd.dataset.kind = next.kind === 'resolve_deadline' ? 'resolve_deadline' : 'response';
      if (isNum(next.level)) cd.dataset.level = String(next.level);
      cd.title = (cd.dataset.kind === 'resolve_deadline' ? 'resolve deadline ' : 'next escalation ') + hhmmss(at);
      updateCountdown(cd, serverNow());
      if (cd.classList.contains('due')) card.classList.add('overdue');
      foot.appendChild(cd);
    }
    const meta = el('span', 'ticket-meta');
    meta.appendChild(category);
    if (state === 'acknowledged') {
      const who = typeof t.acknowledged_by === 'string' && t.acknowledged_by ? 'ack by ' + t.acknowledged_by : 'acknowledged';
      meta.appendChild(el('span', 'ticket-ack', who));
    } else if (t.source === 'auto') {
      meta.appendChild(el('span', 'ticket-by', 'auto'));
    }
    foot.appendChild(meta);
    card.appendChild(foot);

    const by = t.source === 'auto' ? 'automatically' : typeof t.raised_by === 'string' && t.raised_by ? 'by ' + t.raised_by : '';
    card.title = 'Ticket ' + t.id + (isNum(raised) ? ', raised ' + hhmmss(raised) : '') + (by ? ' ' + by : '');
    return card;
  }

  // (Re)builds a line band's Andon strip, tile badges and flashing state from `tickets`.
  function decorateAndon(band, line) {
    for (const old of band.querySelectorAll(':scope > .andon, .andon-badge')) old.remove();
    const list = ticketsForLine(band.dataset.lineId);
    const open = list.filter((t) => t.state === 'open');
    band.classList.toggle('andon-open', open.length > 0);
    if (open.length) band.dataset.andon = priorityOf(open[0]);
    else delete band.dataset.andon;
    if (!list.length) return;

    const machineNames = new Map();
    const machines = line && Array.isArray(line.machines) ? line.machines : [];
    for (const m of machines) if (m && m.id != null) machineNames.set(String(m.id), String(m.name ?? m.id));

    const strip = el('div', 'andon');
    strip.setAttribute('role', 'list');
    strip.setAttribute('aria-label', 'Andon tickets');
    for (const t of list.slice(0, MAX_TICKETS_SHOWN)) {
      const card = ticketCard(t, machineNames);
      card.setAttribute('role', 'listitem');
      strip.appendChild(card);
    }
    if (list.length > MAX_TICKETS_SHOWN) {
      strip.appendChild(el('div', 'ticket-more', '+' + (list.length - MAX_TICKETS_SHOWN) + ' more'));
    }
    const grid = band.querySelector(':scope > .machines');
    band.insertBefore(strip, grid);

    // One badge per machine, in the colour of its most urgent ticket.
    const perMachine = new Map();
    for (const t of list) {
      if (t.machine == null) continue;
      const id = String(t.machine);
      const e = perMachine.get(id);
      if (e) {
        e.n += 1;
        if (t.state === 'open') e.open = true;
      } else {
        perMachine.set(id, { top: t, n: 1, open: t.state === 'open' });
      }
    }
    for (const tile of band.querySelectorAll('article.machine[data-machine-id]')) {
      const e = perMachine.get(tile.dataset.machineId);
      if (!e) continue;
      const badge = el('span', 'andon-badge', e.n > 1 ? 'ANDON ×' + e.n : 'ANDON');
      badge.dataset.priority = priorityOf(e.top);
      badge.classList.toggle('acked', !e.open);
      badge.title = e.n + (e.n > 1 ? ' Andon tickets' : ' Andon ticket') + (e.open ? '' : ', acknowledged');
      const head = tile.querySelector('.machine-head');
      const name = head && head.querySelector('.machine-name');
      if (name) name.after(badge);
      else tile.prepend(badge);
    }
  }

  function redecorateLines(ids) {
    let touched = false;
    for (const s of board.querySelectorAll('section.line[data-line-id]')) {
      if (ids && !ids.has(s.dataset.lineId)) continue;
      decorateAndon(s, lines.get(s.dataset.lineId));
      touched = true;
    }
    if (touched) fitSingle();
    noteAndon();
  }

  function noteAndon() {
    body.dataset.andonTickets = String(tickets.size);
    body.dataset.andonSeq = lastAndonSeq === null ? '' : String(lastAndonSeq);
  }

  function handleAndon(msg) {
    if (msg.type === 'snapshot') {
      const list = msg.data && Array.isArray(msg.data.tickets) ? msg.data.tickets : [];
      andonDocs.reset(list, msg.seq);
      const next = new Map();
      for (const t of list) {
        if (validTicket(t) && TICKET_LIVE_STATES.has(t.state) && wantTicket(t)) next.set(String(t.id), t);
      }
      tickets = next;
      lastAndonSeq = isNum(msg.seq) ? msg.seq : null;
      gotAndonSnapshot = true;
      redecorateLines(null);
      return;
    }
    if (msg.type === 'update' || msg.type === 'patch') {
      if (!gotAndonSnapshot) return;
      const t = andonDocs.apply(msg);
      if (!validTicket(t)) return;
      if (!TICKET_LIVE_STATES.has(t.state)) andonDocs.docs.delete(String(t.id));
      if (isNum(msg.seq)) {
        if (lastAndonSeq !== null && msg.seq <= lastAndonSeq) return;
        lastAndonSeq = msg.seq;
      }
      const id = String(t.id);
      const touched = new Set();
      const prev = tickets.get(id);
      if (prev) touched.add(String(prev.line));
      if (TICKET_LIVE_STATES.has(t.state) && wantTicket(t)) {
        tickets.set(id, t);
        touched.add(String(t.line));
      } else {
        tickets.delete(id);
      }
      if (touched.size) redecorateLines(touched);
      else noteAndon();
    }
  }

  // An older server does not know the andon channel; the board works without it.
  function isAndonChannelError(msg) {
    if (msg.code !== 'unknown_channel') return false;
    if (msg.channel != null) return msg.channel === ANDON_CHANNEL;
    // Without a channel field the only subscription that can be refused is andon.
    return !String(msg.message ?? '').includes(CHANNEL);
  }

  function visibleLines() {
    const all = [...lines.values()];
    return lineFilter ? all.filter((l) => String(l.id) === lineFilter) : all;
  }

  function renderAll() {
    const frag = document.createDocumentFragment();
    const shown = visibleLines();
    if (!haveData) {
      frag.appendChild(el('p', 'placeholder', 'Waiting for data…'));
    } else if (lines.size === 0) {
      frag.appendChild(el('p', 'placeholder', 'No production lines reported'));
    } else if (shown.length === 0) {
      const p = el('div', 'placeholder');
      p.appendChild(el('p', null, 'Line “' + lineFilter + '” not found. Available:'));
      const ul = el('ul', 'line-list');
      for (const l of lines.values()) {
        const li = el('li');
        const a = el('a', null, l.name ?? l.id);
        a.href = boardUrl({ line: String(l.id) });
        li.appendChild(a);
        ul.appendChild(li);
      }
      p.appendChild(ul);
      frag.appendChild(p);
    } else {
      for (const l of shown) frag.appendChild(lineBand(l));
    }
    board.replaceChildren(frag);
    body.dataset.lines = String(shown.length);
    fitSingle();
  }

  // Single-line view: pick the column count that gives the largest tiles.
  function fitSingle() {
    if (!lineFilter) return;
    const grid = board.querySelector('section.line .machines');
    if (!grid) return;
    const n = grid.querySelectorAll('.machine').length;
    const w = grid.clientWidth;
    const h = grid.clientHeight;
    if (!n || !w || !h) return;
    let cols = 1;
    let best = -1;
    for (let c = 1; c <= n; c++) {
      const unit = Math.min(w / c / 100, h / Math.ceil(n / c) / 66);
      if (unit > best + 1e-6) {
        best = unit;
        cols = c;
      }
    }
    grid.style.setProperty('--cols', String(cols));
    grid.style.setProperty('--rows', String(Math.ceil(n / cols)));
  }

  function renderLine(line) {
    const id = String(line.id);
    if (lineFilter && id !== lineFilter) return;
    const existing = [...board.querySelectorAll('section.line')].find((s) => s.dataset.lineId === id);
    if (existing) {
      existing.replaceWith(lineBand(line));
      fitSingle();
    } else {
      renderAll();
    }
  }

  // ---------------------------------------------------------------- status
  function setConn(state) {
    connState = state;
    body.dataset.conn = state;
    connEl.dataset.state = state;
    renderStatus();
  }

  function renderStatus() {
    let text;
    if (connState === 'connected') text = 'connected';
    else if (connState === 'reconnecting') text = 'reconnecting…';
    else if (connState === 'signed-out') text = 'signed out';
    else text = 'connecting…';
    if (connState !== 'connected' && reconnectTimer) {
      const s = Math.max(0, Math.ceil((nextRetryAt - Date.now()) / 1000));
      if (s >= 1) text += ' (retry in ' + s + ' s)';
    }
    if (connText.textContent !== text) connText.textContent = text;

    const stale = haveData && connState !== 'connected';
    body.classList.toggle('stale', stale);
    staleBanner.hidden = !stale;
    if (stale) {
      const age = duration((Date.now() - lastLiveAt) / 1000);
      const t = 'connection lost — figures frozen at ' + hhmmss(lastLiveAt + serverOffsetMs) + ' (' + age + ' ago)';
      if (staleDetail.textContent !== t) staleDetail.textContent = t;
    }
  }

  function showNotice(text) {
    noticeEl.textContent = text;
    noticeEl.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => {
      noticeEl.hidden = true;
    }, 15000);
  }

  // ---------------------------------------------------------------- protocol
  function send(obj) {
    if (sock && sock.readyState === WebSocket.OPEN) {
      try {
        sock.send(JSON.stringify(obj));
      } catch (_) {
        /* the close handler deals with it */
      }
    }
  }

  // Protocol 2: merge patches of what changed (docs/websocket.md).
  function wsUrl() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws?protocol=2';
  }

  // RFC 7396: null removes a member, objects merge, anything else replaces.
  function mergePatch(target, patch) {
    if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
    const out = target && typeof target === 'object' && !Array.isArray(target) ? target : {};
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = mergePatch(out[k], v);
    }
    return out;
  }

  // A protocol 2 line keys its machines by id; the views take them in line order.
  function lineView(doc) {
    if (!doc || typeof doc !== 'object') return doc;
    const byId = doc.machines && typeof doc.machines === 'object' && !Array.isArray(doc.machines) ? doc.machines : {};
    const order = Array.isArray(doc.machine_order) ? doc.machine_order : Object.keys(byId);
    return Object.assign({}, doc, { machines: order.map((id) => byId[id]).filter(Boolean) });
  }

  // The documents of one channel and the seq each shows; a patch whose base is newer
  // than what we hold means a frame was missed: ask for a snapshot.
  function docStore(channel) {
    return {
      channel,
      docs: new Map(),
      reset(items, seq) {
        this.docs = new Map();
        for (const d of items) if (d && d.id != null) this.docs.set(String(d.id), { doc: d, rev: seq });
      },
      // The entity's new document, or null when it cannot be applied (resync asked).
      apply(msg) {
        const id = String(msg.id);
        if (msg.type === 'update') {
          this.docs.set(id, { doc: msg.data, rev: msg.seq });
          return msg.data;
        }
        const held = this.docs.get(id);
        if (!held || !isNum(msg.base) || msg.base > held.rev) {
          gapsSeen += 1;
          body.dataset.gaps = String(gapsSeen);
          send({ type: 'resync', channel });
          return null;
        }
        held.doc = mergePatch(held.doc, msg.data);
        held.rev = msg.seq;
        return held.doc;
      },
    };
  }

  // ---------------------------------------------------------------- sign-in
  function showSignIn(reason) {
    $('signout').hidden = true;
    const panel = $('signin');
    $('signin-reason').textContent = reason || '';
    panel.hidden = false;
    setConn('signed-out');
  }

  async function onSignIn(ev) {
    ev.preventDefault();
    const form = ev.target;
    const msg = $('signin-error');
    msg.textContent = '';
    try {
      const res = await fetch('/api/v1/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: form.username.value, password: form.password.value }),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        msg.textContent = (body.error && body.error.message) || 'Sign-in failed (' + res.status + ')';
        return;
      }
      form.password.value = '';
      setTokens(body.access_token, body.refresh_token);
      $('signin').hidden = true;
      afterSignIn();
    } catch (_) {
      msg.textContent = 'The server cannot be reached.';
    }
  }

  // Tells a revoked or expired credential from a network problem.
  async function checkCredential() {
    if (!token()) return showSignIn('Sign in, or open this page with the display token an admin gave you.');
    if (!(await freshToken())) return showSignIn('Your sign-in has ended. Sign in again.');
    try {
      const res = await api('/api/v1/auth/me');
      if (res.status === 401) {
        setTokens(null, null);
        showSignIn('This screen’s token is no longer valid. Sign in, or ask an admin for a new display token.');
      }
    } catch (_) {
      /* offline: keep retrying */
    }
  }

  // ---------------------------------------------------------------- flags
  let realTimeOff = false;

  async function loadFlags() {
    try {
      const res = await api('/api/v1/flags');
      if (!res.ok) return;
      const flags = (await res.json()).flags || {};
      realTimeOff = flags.real_time_updates === false;
      if (realTimeOff) showNotice('Live updates are turned off by an admin; figures are not current.');
      if (flags.maintenance_mode) showBanner(true, '');
      offlineSupport(flags.offline_support === true);
    } catch (_) {
      /* offline */
    }
  }

  // The service worker keeps the board's shell loading when the server is unreachable.
  function offlineSupport(on) {
    if (!('serviceWorker' in navigator)) return;
    if (on) {
      navigator.serviceWorker.register('sw.js').catch(() => {});
    } else {
      navigator.serviceWorker
        .getRegistrations()
        .then((regs) => regs.forEach((r) => r.unregister()))
        .catch(() => {});
    }
  }

  function showBanner(on, message) {
    const el = $('maintenance-banner');
    el.hidden = !on;
    $('maintenance-text').textContent = message || 'Maintenance: changes are paused; the board keeps updating.';
    body.dataset.maintenance = on ? 'on' : 'off';
  }

  async function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (!(await freshToken())) {
      checkCredential();
      return;
    }
    let s;
    try {
      // The token travels as a subprotocol: never in the URL, where proxies log it.
      s = new WebSocket(wsUrl(), ['ms5.bearer', token()]);
    } catch (_) {
      lost();
      return;
    }
    sock = s;
    gotSnapshot = false;
    lastSeq = null;
    gotAndonSnapshot = false;
    lastAndonSeq = null;
    openedAt = lastFrameAt = Date.now();
    pingSentAt = 0;
    s.onopen = () => {
      if (s !== sock) return;
      lastFrameAt = Date.now();
      // A server that is degraded says so first thing.
      $('degraded-banner').hidden = true;
      // Only the window this board shows: a shift board needs no 15 m figures.
      send({ type: 'subscribe', channel: CHANNEL, windows: [windowKey] });
      send({ type: 'subscribe', channel: ANDON_CHANNEL });
    };
    s.onmessage = (ev) => {
      if (s !== sock) return;
      lastFrameAt = Date.now();
      if (typeof ev.data === 'string') handleFrame(ev.data);
    };
    s.onclose = () => {
      if (s !== sock) return;
      sock = null;
      lost();
    };
    s.onerror = () => {
      /* followed by close */
    };
  }

  function dropSocket(reason) {
    const s = sock;
    sock = null;
    if (s) {
      s.onopen = s.onmessage = s.onclose = s.onerror = null;
      try {
        s.close(4000, reason);
      } catch (_) {
        /* already closing */
      }
    }
    lost();
  }

  function lost() {
    gotSnapshot = false;
    setConn(haveData ? 'reconnecting' : 'connecting');
    if (attempt >= 1) checkCredential();
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
    attempt = Math.min(attempt + 1, 10);
    const delay = base / 2 + Math.random() * (base / 2);
    nextRetryAt = Date.now() + delay;
    reconnectTimer = setTimeout(connect, delay);
    renderStatus();
  }

  function reconnectNow() {
    attempt = 0;
    if (sock) dropSocket('reconnect');
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    connect();
  }

  function handleFrame(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch (_) {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (msg.channel === ANDON_CHANNEL && ['snapshot', 'update', 'patch'].includes(msg.type)) {
      handleAndon(msg);
      return;
    }
    switch (msg.type) {
      case 'snapshot': {
        if (msg.channel !== CHANNEL) return;
        const list = msg.data && Array.isArray(msg.data.lines) ? msg.data.lines : [];
        lineDocs.reset(list, msg.seq);
        const next = new Map();
        for (const l of list) if (l && l.id != null) next.set(String(l.id), lineView(l));
        lines = next;
        lastSeq = isNum(msg.seq) ? msg.seq : null;
        gotSnapshot = true;
        haveData = true;
        attempt = 0;
        lastLiveAt = Date.now();
        noteSeq();
        renderAll();
        setConn('connected');
        break;
      }
      case 'update':
      case 'patch': {
        if (msg.channel !== CHANNEL || !gotSnapshot) return;
        if (!isNum(msg.seq) || (lastSeq !== null && msg.seq <= lastSeq)) return;
        const doc = lineDocs.apply(msg);
        if (!doc || typeof doc !== 'object' || doc.id == null) return;
        lastSeq = msg.seq;
        const line = lineView(doc);
        lines.set(String(line.id), line);
        updatesApplied += 1;
        lastLiveAt = Date.now();
        noteSeq();
        renderLine(line);
        break;
      }
      case 'heartbeat': {
        const ts = parseTime(msg.ts);
        if (isNum(ts)) {
          const off = ts - Date.now();
          serverOffsetMs = Math.abs(off) > SKEW_MIN_MS ? off : 0;
        }
        if (gotSnapshot) lastLiveAt = Date.now();
        break;
      }
      case 'pong':
        break;
      case 'banner': {
        const d = msg.data || {};
        showBanner(d.maintenance_mode === true, typeof d.message === 'string' ? d.message : '');
        break;
      }
      case 'degraded':
        $('degraded-banner').hidden = !(msg.data && msg.data.degraded === true);
        break;
      case 'error': {
        if (isAndonChannelError(msg)) {
          // Drop whatever an earlier (newer) server had sent.
          if (tickets.size) {
            tickets = new Map();
            redecorateLines(null);
          }
          break;
        }
        const text = 'Server: ' + String(msg.code ?? 'error') + (msg.message ? ' — ' + String(msg.message) : '');
        console.warn(text);
        showNotice(text);
        break;
      }
      default:
        break;
    }
  }

  function noteSeq() {
    body.dataset.seq = lastSeq === null ? '' : String(lastSeq);
    body.dataset.updates = String(updatesApplied);
  }

  // ---------------------------------------------------------------- timers
  function tick() {
    const now = Date.now();

    if (sock) {
      const quiet = now - lastFrameAt;
      if (sock.readyState === WebSocket.CONNECTING && now - openedAt > CONNECT_TIMEOUT_MS) {
        dropSocket('connect timeout');
      } else if (quiet > DEAD_AFTER_MS) {
        dropSocket('no frames for 30 s');
      } else if (quiet > PROBE_AFTER_MS && now - pingSentAt > PROBE_AFTER_MS) {
        pingSentAt = now;
        send({ type: 'ping' });
      }
    }

    // A person's access token lasts 30 min: renew it while the board runs (each tab at
    // its own second of the minute).
    if ((now + refreshOffsetMs) % 60000 < 1000 && token() && secondsLeft(token()) < REFRESH_BEFORE_S) freshToken();

    const clock = hhmm(serverNow());
    if (clockEl.textContent !== clock) clockEl.textContent = clock;

    // Time in state runs only while the data is live; stale figures stay frozen.
    if (connState === 'connected') {
      const sNow = serverNow();
      for (const e of board.querySelectorAll('.state-since[data-since], .ticket-age[data-since]')) {
        const t = duration((sNow - Number(e.dataset.since)) / 1000);
        if (e.textContent !== t) e.textContent = t;
      }
      for (const e of board.querySelectorAll('.ticket-countdown[data-at]')) updateCountdown(e, sNow);
    }
    renderStatus();
  }

  function schedTick() {
    tick();
    // Align to the wall-clock second so all counters move together.
    setTimeout(schedTick, 1000 - (Date.now() % 1000) + 5);
  }

  // ---------------------------------------------------------------- chrome
  function setupChrome() {
    body.dataset.window = windowKey;
    body.classList.toggle('single', Boolean(lineFilter));
    $('window-indicator').textContent = WINDOW_LABELS[windowKey];
    if (requestedWindow && requestedWindow !== windowKey) {
      showNotice('Unknown window “' + requestedWindow + '”; showing current shift');
    }
    const nav = $('window-nav');
    for (const w of WINDOWS) {
      const a = el('a', 'window-link', WINDOW_SHORT[w]);
      a.href = boardUrl({ window: w });
      a.dataset.window = w;
      if (w === windowKey) {
        a.classList.add('active');
        a.setAttribute('aria-current', 'true');
      }
      nav.appendChild(a);
    }
    const all = $('all-lines');
    if (lineFilter) {
      all.href = boardUrl({ line: null });
      all.hidden = false;
    }
    noteSeq();
    noteAndon();
  }

  setupChrome();
  setConn('connecting');
  window.addEventListener('online', () => {
    if (connState !== 'connected') reconnectNow();
  });
  window.addEventListener('pagehide', () => {
    if (sock) {
      send({ type: 'unsubscribe', channel: CHANNEL });
      if (gotAndonSnapshot) send({ type: 'unsubscribe', channel: ANDON_CHANNEL });
      const s = sock;
      sock = null;
      s.onclose = null;
      try {
        s.close(1000, 'page hidden');
      } catch (_) {
        /* ignore */
      }
    }
  });
  window.addEventListener('pageshow', (ev) => {
    if (ev.persisted && !sock) reconnectNow();
  });
  let resizeQueued = false;
  window.addEventListener('resize', () => {
    if (resizeQueued) return;
    resizeQueued = true;
    requestAnimationFrame(() => {
      resizeQueued = false;
      fitSingle();
    });
  });
  function afterSignIn() {
    // People get a sign-out button; display tokens are for screens nobody signs out of.
    $('signout').hidden = secondsLeft(token()) === Infinity;
    loadFlags();
    connect();
  }

  $('signin-form').addEventListener('submit', onSignIn);
  $('signout').addEventListener('click', signOut);
  schedTick();
  if (token()) afterSignIn();
  else showSignIn('Sign in, or open this page with the display token an admin gave you.');
})();
