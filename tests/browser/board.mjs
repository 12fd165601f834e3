// Headless browser check of the MS5 plant board against a running server.
//
//   MS5_URL=http://127.0.0.1:8080/ node board.mjs
//
// Environment:
//   MS5_URL             board URL (required)
//   MS5_SCREENSHOT      write a full-page PNG here (optional)
//   MS5_VIEWPORT        WIDTHxHEIGHT, default 1920x1080
//   MS5_INJECTION_NAME  a machine name that must render literally as text (optional)
//   MS5_EXPECT_TICKET   id of an open Andon ticket that must be shown (optional)
//   MS5_EXPECT_TICKET_TEXT  its exact description, which must render as text (optional)
//   MS5_UPDATE_TIMEOUT_MS  how long to wait for a live update, default 30000
//   MS5_CHROMIUM        browser binary, default /usr/bin/chromium
//   MS5_DISPLAY_TOKEN   display token the board is opened with (#token=…)
//   MS5_ADMIN_TOKEN     admin access token: the test turns maintenance mode on and off
//   MS5_USER, MS5_PASSWORD  an account the test signs in with on the form (optional)
//
// Prints "board: N passed, 0 failed" and exits 0, or lists the failures and exits 1.

import { chromium } from 'playwright-core';

const STATE_WORDS = ['running', 'idle', 'down', 'planned stop', 'changeover', 'unknown'];
const STATE_KEYS = ['running', 'idle', 'down', 'planned_stop', 'changeover', 'unknown'];
const PCT = /^-?\d{1,4}\.\d%$/;

const url = process.env.MS5_URL;
const screenshot = process.env.MS5_SCREENSHOT || '';
const injectionName = process.env.MS5_INJECTION_NAME || '';
const expectTicket = process.env.MS5_EXPECT_TICKET || '';
const expectTicketText = process.env.MS5_EXPECT_TICKET_TEXT || '';
const updateTimeout = Number(process.env.MS5_UPDATE_TIMEOUT_MS || 30000);
const [vw, vh] = (process.env.MS5_VIEWPORT || '1920x1080').split('x').map(Number);
const executablePath = process.env.MS5_CHROMIUM || '/usr/bin/chromium';
const displayToken = process.env.MS5_DISPLAY_TOKEN || '';
const adminToken = process.env.MS5_ADMIN_TOKEN || '';

async function setFlag(name, enabled) {
  const res = await fetch(new URL(`/api/v1/flags/${name}`, url), {
    method: 'PUT',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ enabled }),
  });
  return res.status;
}

let passed = 0;
const failures = [];

function check(name, ok, detail) {
  if (ok) {
    passed += 1;
  } else {
    failures.push(detail ? `${name}: ${detail}` : name);
  }
  return ok;
}

function finish() {
  if (failures.length === 0) {
    console.log(`board: ${passed} passed, 0 failed`);
    process.exit(0);
  }
  for (const f of failures) console.log(`FAIL ${f}`);
  console.log(`board: ${passed} passed, ${failures.length} failed`);
  process.exit(1);
}

if (!url) {
  check('MS5_URL set', false, 'set MS5_URL to the board address, e.g. http://127.0.0.1:8080/');
  finish();
}
if (!Number.isFinite(vw) || !Number.isFinite(vh)) {
  check('MS5_VIEWPORT', false, 'expected WIDTHxHEIGHT');
  finish();
}

// Hard stop so a hung browser never blocks a test run.
const hardStop = setTimeout(() => {
  check('finished in time', false, 'gave up after 120 s');
  finish();
}, 120000);
hardStop.unref();

const consoleErrors = [];
const pageErrors = [];
const dialogs = [];

const browser = await chromium.launch({
  executablePath,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-quic',
    '--no-first-run',
    '--disable-component-update',
    '--disable-sync',
  ],
});

let page = null;
try {
  page = await browser.newPage({ viewport: { width: vw, height: vh } });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url || '';
    // The board ships no favicon; a 404 for it is the browser's doing, not the page's.
    if (/\/favicon\.ico(\?|$)/.test(where)) return;
    consoleErrors.push(msg.text() + (where ? ` (${where})` : ''));
  });
  page.on('pageerror', (err) => pageErrors.push(String(err && err.message ? err.message : err)));
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });

  const sockets = [];
  const framesIn = [];
  const framesOut = [];
  page.on('websocket', (ws) => {
    sockets.push(ws.url());
    ws.on('framereceived', (f) => framesIn.push(String(f.payload)));
    ws.on('framesent', (f) => framesOut.push(String(f.payload)));
  });

  const target = displayToken ? `${url}#token=${encodeURIComponent(displayToken)}` : url;
  const resp = await page.goto(target, { waitUntil: 'load', timeout: 15000 });
  check('page loads', resp !== null && resp.ok(), resp ? `HTTP ${resp.status()}` : 'no response');
  if (displayToken) {
    await page.waitForFunction(() => !location.href.includes('token='), null, { timeout: 5000 }).catch(() => {});
    check('display token leaves the address bar', !page.url().includes('token='), page.url());
    check('display boards have no sign-out button', await page.$eval('#signout', (e) => e.hidden));
  }

  // 1. The real snapshot is rendered: at least one line band with machine tiles.
  let rendered = true;
  try {
    await page.waitForFunction(
      () =>
        document.querySelectorAll('#board section.line[data-line-id]').length > 0 &&
        document.querySelectorAll('#board section.line article.machine[data-machine-id]').length > 0 &&
        document.body.dataset.seq !== undefined &&
        document.body.dataset.seq !== '',
      null,
      { timeout: 15000, polling: 100 },
    );
  } catch {
    rendered = false;
  }
  check('snapshot rendered within 15 s (line bands and machine tiles)', rendered);
  if (!rendered) throw new Error('nothing rendered');

  // 2. Every tile shows a known state word and an OEE that is a percentage or a dash.
  const tiles = await page.$$eval('#board article.machine', (els) =>
    els.map((t) => ({
      id: t.dataset.machineId,
      state: t.dataset.state,
      word: (t.querySelector('.state-word')?.textContent || '').trim(),
      oee: (t.querySelector('.oee .oee-value')?.textContent || '').trim(),
      name: t.querySelector('.machine-name')?.textContent ?? null,
      apq: [...t.querySelectorAll('.apq-value')].map((e) => e.textContent.trim()),
      since: (t.querySelector('.state-since')?.textContent || '').trim(),
    })),
  );
  const lines = await page.$$eval('#board section.line', (els) =>
    els.map((l) => ({
      id: l.dataset.lineId,
      name: (l.querySelector('.line-name')?.textContent || '').trim(),
      oee: (l.querySelector('.line-head .oee-value')?.textContent || '').trim(),
      tiles: l.querySelectorAll('article.machine').length,
    })),
  );
  check('at least one line band', lines.length > 0, `found ${lines.length}`);
  check('at least one machine tile', tiles.length > 0, `found ${tiles.length}`);
  const badWord = tiles.filter((t) => !STATE_WORDS.includes(t.word.toLowerCase()) || !STATE_KEYS.includes(t.state));
  check(
    'every tile shows one of the six state words',
    badWord.length === 0,
    badWord.map((t) => `${t.id}: "${t.word}" / data-state=${t.state}`).join('; '),
  );
  const badOee = tiles.filter((t) => !(PCT.test(t.oee) || t.oee === '—'));
  check(
    'every tile OEE is a one-decimal percentage or "—"',
    badOee.length === 0,
    badOee.map((t) => `${t.id}: "${t.oee}"`).join('; '),
  );
  const badApq = tiles.filter((t) => t.apq.length !== 3 || t.apq.some((v) => !(PCT.test(v) || v === '—')));
  check(
    'every tile shows A/P/Q as percentages or "—"',
    badApq.length === 0,
    badApq.map((t) => `${t.id}: ${JSON.stringify(t.apq)}`).join('; '),
  );
  const badLine = lines.filter((l) => !l.name || !(PCT.test(l.oee) || l.oee === '—'));
  check(
    'every line header shows a name and an OEE',
    badLine.length === 0,
    badLine.map((l) => `${l.id}: name="${l.name}" oee="${l.oee}"`).join('; '),
  );
  const boardText = await page.$eval('#board', (b) => b.textContent || '');
  check('no NaN / undefined / null text on the board', !/\b(NaN|undefined|null)\b/.test(boardText));

  // 3. Connection indicator.
  const conn = await page.$eval('#conn', (c) => ({ state: c.dataset.state, text: (c.textContent || '').trim() }));
  check(
    'connection indicator says connected',
    conn.state === 'connected' && conn.text === 'connected',
    `state=${conn.state} text="${conn.text}"`,
  );
  const stale = await page.evaluate(() => ({
    cls: document.body.classList.contains('stale'),
    banner: !document.getElementById('stale-banner')?.hidden,
  }));
  check('board not marked stale while connected', !stale.cls && !stale.banner, JSON.stringify(stale));

  // 4. Live updates: seq advances (or the applied-update counter grows).
  const before = await page.evaluate(() => ({
    seq: Number(document.body.dataset.seq),
    updates: Number(document.body.dataset.updates || 0),
  }));
  let live = true;
  try {
    await page.waitForFunction(
      (b) =>
        Number(document.body.dataset.seq) > b.seq || Number(document.body.dataset.updates || 0) > b.updates,
      before,
      { timeout: updateTimeout, polling: 200 },
    );
  } catch {
    live = false;
  }
  const after = await page.evaluate(() => ({
    seq: document.body.dataset.seq,
    updates: document.body.dataset.updates,
  }));
  check(
    `live update received within ${updateTimeout / 1000} s`,
    live,
    `seq ${before.seq} -> ${after.seq}, updates ${before.updates} -> ${after.updates}`,
  );
  // 4b. It speaks protocol 2: merge patches, and only the window it shows.
  check('the board asks for protocol 2', sockets.some((u) => u.endsWith('/ws?protocol=2')), sockets.join(' '));
  const subscribed = framesOut.map((f) => JSON.parse(f)).find((f) => f.type === 'subscribe' && f.channel === 'production_updates');
  check('it subscribes to the one window it shows', JSON.stringify(subscribed?.windows) === '["shift"]', JSON.stringify(subscribed));
  const kinds = framesIn.map((f) => JSON.parse(f).type);
  check('live changes arrive as patches', kinds.includes('patch'), [...new Set(kinds)].join(','));
  const leaked = framesIn.filter((f) => f.includes('"15m"'));
  check('no other window travels', leaked.length === 0, leaked[0] || '');
  check('no gap needed a resync', (await page.evaluate(() => document.body.dataset.gaps || '0')) === '0');

  const tilesAfter = await page.$$eval('#board article.machine', (els) => els.length);
  check('tiles still rendered after updates', tilesAfter > 0, `found ${tilesAfter}`);
  const connAfter = await page.$eval('#conn', (c) => c.dataset.state);
  check('still connected after updates', connAfter === 'connected', `state=${connAfter}`);

  // 4c. Every window the board offers shows its figures on first paint.
  for (const w of ['shift', '15m', '1h', '8h', 'today']) {
    const p2 = await browser.newPage({ viewport: { width: vw, height: vh } });
    const snapshots = [];
    p2.on('websocket', (ws) =>
      ws.on('framereceived', (f) => {
        const text = String(f.payload);
        if (text.startsWith('{"type":"snapshot","channel":"production_updates"')) snapshots.push(JSON.parse(text));
      }),
    );
    const at = new URL(url);
    if (w !== 'shift') at.searchParams.set('window', w);
    if (displayToken) at.hash = `token=${encodeURIComponent(displayToken)}`;
    await p2.goto(at.toString(), { waitUntil: 'load', timeout: 15000 });
    let painted = true;
    try {
      await p2.waitForFunction(
        () => {
          const values = [...document.querySelectorAll('#board article.machine .oee .oee-value')];
          return values.length > 0 && values.every((e) => /^(-?\d{1,4}\.\d%|—)$/.test(e.textContent.trim()));
        },
        null,
        { timeout: 15000, polling: 100 },
      );
    } catch {
      painted = false;
    }
    const shown = await p2.evaluate(() => document.body.dataset.window);
    const carried = snapshots.length > 0 && snapshots[0].data.lines.every((l) => l.windows && Object.keys(l.windows).join() === w);
    check(`window ${w}: first paint shows its figures from a snapshot of that window only`, painted && shown === w && carried,
      `window=${shown} painted=${painted} snapshot windows=${snapshots.map((s) => s.data.lines.map((l) => Object.keys(l.windows || {}).join('+')).join(',')).join(';')}`);
    await p2.close();
  }

  // 5. Hostile machine names render as text, never as markup.
  if (injectionName) {
    const names = await page.$$eval('#board article.machine .machine-name', (els) => els.map((e) => e.textContent));
    check(
      'machine named with markup is shown literally',
      names.includes(injectionName),
      `no tile name equals ${JSON.stringify(injectionName)}; names: ${JSON.stringify(names)}`,
    );
  }

  // 6. An open Andon ticket is shown on its line, as text, with a countdown.
  if (expectTicket) {
    let shown = true;
    try {
      await page.waitForFunction(
        (id) =>
          [...document.querySelectorAll('#board section.line .ticket[data-ticket-id]')].some(
            (t) => t.dataset.ticketId === id,
          ),
        expectTicket,
        { timeout: 15000, polling: 100 },
      );
    } catch {
      shown = false;
    }
    check(`Andon ticket ${expectTicket} rendered within 15 s`, shown);
    let t = null;
    if (shown) {
      t = await page.evaluate((id) => {
        const el = [...document.querySelectorAll('#board section.line .ticket[data-ticket-id]')].find(
          (e) => e.dataset.ticketId === id,
        );
        if (!el) return null;
        const section = el.closest('section.line');
        return {
          text: el.textContent || '',
          desc: el.querySelector('.ticket-desc')?.textContent ?? null,
          line: section?.dataset.lineId ?? null,
          andonOpen: section ? section.classList.contains('andon-open') : false,
          countdown: (el.querySelector('.ticket-countdown')?.textContent || '').trim(),
        };
      }, expectTicket);
      check(`Andon ticket ${expectTicket} still shown`, t !== null);
    }
    if (t) {
      if (expectTicketText) {
        check(
          `Andon ticket ${expectTicket} shows its description as text`,
          t.text.includes(expectTicketText),
          `description shown as ${JSON.stringify(t.desc)}, expected ${JSON.stringify(expectTicketText)}`,
        );
      }
      check(
        `line of Andon ticket ${expectTicket} is marked andon-open`,
        t.andonOpen,
        `section ${t.line} has no class andon-open`,
      );
      check(
        `Andon ticket ${expectTicket} shows an escalation countdown`,
        /\d+:\d\d|due now/.test(t.countdown),
        `countdown text ${JSON.stringify(t.countdown)}`,
      );
    }
  }

  const imgs = await page.$$eval('#board img', (els) => els.length);
  check('no <img> element inside the board', imgs === 0, `found ${imgs}`);
  check('no dialogs opened', dialogs.length === 0, dialogs.join('; '));

  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: true });
  }

  // 6b. Maintenance mode: the banner arrives over the WebSocket and goes away again.
  if (adminToken) {
    check('maintenance on accepted', (await setFlag('maintenance_mode', true)) === 200);
    const shown = await page
      .waitForFunction(() => !document.getElementById('maintenance-banner').hidden, null, { timeout: 10000 })
      .then(() => true, () => false);
    check('maintenance banner shown', shown);
    const bannerText = await page.$eval('#maintenance-text', (e) => e.textContent);
    check('maintenance banner says so', /maintenance/i.test(bannerText), bannerText);
    check('maintenance off accepted', (await setFlag('maintenance_mode', false)) === 200);
    const hidden = await page
      .waitForFunction(() => document.getElementById('maintenance-banner').hidden, null, { timeout: 10000 })
      .then(() => true, () => false);
    check('maintenance banner hidden again', hidden);
  }

  // 6c. Offline support (flag on by default): the service worker takes the page.
  const sw = await page
    .evaluate(() =>
      Promise.race([
        navigator.serviceWorker.ready.then((r) => Boolean(r.active)),
        new Promise((resolve) => setTimeout(() => resolve(false), 10000)),
      ]),
    )
    .catch(() => false);
  check('offline service worker active', sw);

  // 6d. A person signs in on the form, sees the board, and signs out again.
  if (process.env.MS5_USER && process.env.MS5_PASSWORD) {
    const ctx = await browser.newContext({ viewport: { width: vw, height: vh } });
    const p = await ctx.newPage();
    p.on('pageerror', (e) => pageErrors.push(String(e)));
    await p.goto(url, { waitUntil: 'load', timeout: 15000 });
    await p.fill('#signin-form input[name=username]', process.env.MS5_USER);
    await p.fill('#signin-form input[name=password]', 'not the password');
    await p.click('#signin-form button[type=submit]');
    const refused = await p
      .waitForFunction(() => document.getElementById('signin-error').textContent.length > 0, null, { timeout: 5000 })
      .then(() => true, () => false);
    check('a wrong password is refused on the form', refused);
    await p.fill('#signin-form input[name=password]', process.env.MS5_PASSWORD);
    await p.click('#signin-form button[type=submit]');
    const board = await p
      .waitForFunction(() => document.querySelectorAll('#board section.line').length > 0, null, { timeout: 15000 })
      .then(() => true, () => false);
    check('signed in, the board shows', board);
    check('a person gets a sign-out button', !(await p.$eval('#signout', (e) => e.hidden)));
    await p.click('#signout');
    const out = await p
      .waitForFunction(() => !document.getElementById('signin').hidden, null, { timeout: 5000 })
      .then(() => true, () => false);
    check('signing out shows the sign-in form', out);
    const kept = await p.evaluate(() => localStorage.getItem('ms5.token'));
    check('signing out forgets the token', kept === null, String(kept));
    await ctx.close();
  }

  // 6e. A browser with no token is asked to sign in, and nothing is shown.
  const fresh = await browser.newContext({ viewport: { width: vw, height: vh } });
  const anon = await fresh.newPage();
  await anon.goto(url, { waitUntil: 'load', timeout: 15000 });
  const asked = await anon
    .waitForFunction(() => !document.getElementById('signin').hidden, null, { timeout: 5000 })
    .then(() => true, () => false);
  check('sign-in shown without a token', asked);
  const anonLines = await anon.$$eval('#board section.line', (els) => els.length);
  check('nothing shown without a token', anonLines === 0, `${anonLines} lines`);
  await fresh.close();

  // 7. Clean console.
  check('no console errors', consoleErrors.length === 0, consoleErrors.join(' | '));
  check('no page errors', pageErrors.length === 0, pageErrors.join(' | '));
} catch (err) {
  if (screenshot && page) await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
  if (err && err.message !== 'nothing rendered') check('test ran', false, String(err && err.stack ? err.stack : err));
  if (consoleErrors.length) check('no console errors', false, consoleErrors.join(' | '));
  if (pageErrors.length) check('no page errors', false, pageErrors.join(' | '));
} finally {
  await browser.close().catch(() => {});
}

finish();
