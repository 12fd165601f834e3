// Headless browser check of the MS5 floor app against a running server on a manual clock
// (tests/browser.rs prepares the plant, the users and the data, then runs this).
//
// Environment:
//   MS5_URL               server base URL, e.g. http://127.0.0.1:8080/ (required)
//   MS5_NOW_MS            the server's (manual) clock, ms; the browsers' clocks start there
//   MS5_DATE              the plant-local date of that instant (the shift report's), YYYY-MM-DD
//   MS5_PASSWORD          password of olga (operator), sam (supervisor), eve (engineer), root (admin)
//   MS5_ADMIN_TOKEN       root's access token (API checks)
//   MS5_SUPERVISOR_TOKEN  sam's access token (what happens "elsewhere")
//   MS5_SCREENSHOTS       directory for screenshots of each view (optional)
//   MS5_CHROMIUM          browser binary, default /usr/bin/chromium
//
// Scenarios: the operator's day, the offline outbox, the manager's report, the engineer's
// maintenance order, the admin's configuration; each view checked with axe-core.
// Prints "floor: N passed, 0 failed" and exits 0, or lists the failures and exits 1.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import jsQR from 'jsqr';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const base = (process.env.MS5_URL || '').replace(/\/$/, '');
const now = Number(process.env.MS5_NOW_MS || Date.now());
const password = process.env.MS5_PASSWORD || '';
const today = process.env.MS5_DATE || new Date(now).toISOString().slice(0, 10);
const adminToken = process.env.MS5_ADMIN_TOKEN || '';
const supToken = process.env.MS5_SUPERVISOR_TOKEN || '';
const shots = process.env.MS5_SCREENSHOTS || '';
const executablePath = process.env.MS5_CHROMIUM || '/usr/bin/chromium';

const TABLET_PORTRAIT = { width: 800, height: 1280 };
const TABLET_LANDSCAPE = { width: 1280, height: 800 };
const WALL = { width: 1920, height: 1080 };

let passed = 0;
const failures = [];
function check(name, ok, detail) {
  if (ok) passed += 1;
  else failures.push(detail ? `${name}: ${detail}` : name);
  return ok;
}
function finish() {
  for (const f of failures) console.log(`FAIL ${f}`);
  console.log(`floor: ${passed} passed, ${failures.length} failed`);
  process.exit(failures.length ? 1 : 0);
}
if (!base) {
  check('MS5_URL set', false);
  finish();
}
const hardStop = setTimeout(() => {
  check('finished in time', false, 'gave up after 240 s');
  finish();
}, 240000);
hardStop.unref();

async function api(method, path, token, body) {
  const res = await fetch(base + path, {
    method,
    headers: Object.assign({ Authorization: `Bearer ${token || adminToken}` }, body ? { 'Content-Type': 'application/json' } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch (_) {
    json = text;
  }
  return { status: res.status, body: json };
}

const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
});
const pageErrors = [];
const consoleErrors = [];

async function context(viewport, extra) {
  const ctx = await browser.newContext(Object.assign({ viewport, acceptDownloads: true }, extra || {}));
  // The browser's clock starts at the server's manual clock and runs on from there.
  await ctx.clock.install({ time: now });
  return ctx;
}

const pages = [];
function watch(page, who) {
  pages.push([page, who]);
  page.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message || e}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // A refused request (offline on purpose, a 4xx the test provokes) is logged by the
    // browser itself; page errors and CSP violations are what count.
    if (/Failed to load resource|net::ERR_|WebSocket connection/.test(text)) return;
    consoleErrors.push(`${who}: ${text}`);
  });
}

async function signIn(page, user, screen) {
  await page.goto(`${base}/app#${screen}`, { waitUntil: 'load' });
  await page.waitForSelector('#signin-form', { state: 'visible', timeout: 10000 });
  await page.fill('#signin-form input[name=username]', user);
  await page.fill('#signin-form input[name=password]', password);
  await page.click('#signin-form button[type=submit]');
  await page.waitForFunction((s) => document.getElementById('view').dataset.screen === s && document.getElementById('signin').hidden, screen, { timeout: 10000 });
}

async function axe(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'], rules: { 'color-contrast': { enabled: true } } }),
  );
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(`axe: no serious or critical violations on ${name}`, bad.length === 0, bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`).join('; '));
}

async function shot(page, name) {
  if (!shots) return;
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
}

async function until(page, fn, arg, timeout, what) {
  try {
    await page.waitForFunction(fn, arg, { timeout: timeout || 10000, polling: 100 });
    return true;
  } catch (_) {
    check(what, false, 'timed out');
    return false;
  }
}

const statusOf = (page, cardTitle) =>
  page.evaluate((title) => {
    const card = [...document.querySelectorAll('.card')].find((c) => c.querySelector('h2')?.textContent === title);
    return card?.querySelector('.status-line')?.textContent || '';
  }, cardTitle);

try {
  // One catalogue per language, with the same keys.
  const en = Object.keys((await import('../../web/i18n/en.js')).default);
  const de = Object.keys((await import('../../web/i18n/de.js')).default);
  check('English and German name the same strings', en.length > 100 && JSON.stringify([...en].sort()) === JSON.stringify([...de].sort()), `${en.filter((k) => !de.includes(k))} / ${de.filter((k) => !en.includes(k))}`);

  // The QR encoder: codes of every version it makes (1-10) read back with jsqr.
  const { qrMatrix } = await import('../../web/components/qr.js');
  const unread = [];
  for (let len = 1; len <= 213; len += 4) {
    const text = `https://ms5.example/#token=${'ms5d_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'.repeat(4)}`.slice(0, len);
    const m = qrMatrix(text);
    const W = 400;
    const n = m.length + 8;
    const px = new Uint8ClampedArray(W * W * 4);
    for (let y = 0; y < W; y += 1) {
      for (let x = 0; x < W; x += 1) {
        const mx = Math.floor((x * n) / W) - 4;
        const my = Math.floor((y * n) / W) - 4;
        const dark = mx >= 0 && my >= 0 && mx < m.length && my < m.length && m[my][mx];
        px.fill(dark ? 0 : 255, (y * W + x) * 4, (y * W + x) * 4 + 3);
        px[(y * W + x) * 4 + 3] = 255;
      }
    }
    const r = jsQR(px, W, W);
    if (!r || r.data !== text) unread.push(len);
  }
  check('QR codes of 1 to 213 bytes read back', unread.length === 0, `unread lengths ${unread.join(',')}`);
  check('a text too long for version 10 gets no code', qrMatrix('x'.repeat(214)) === null);

  // ------------------------------------------------------------------ operator's day
  const display = await api('POST', '/api/v1/display-tokens', adminToken, { name: 'hall' });
  check('display token for the wall', display.status === 201, JSON.stringify(display.body));
  const wallCtx = await context(WALL);
  const wall = await wallCtx.newPage();
  watch(wall, 'wall');
  await wall.goto(`${base}/?line=line-a#token=${encodeURIComponent(display.body.token)}`, { waitUntil: 'load' });
  await until(wall, () => document.querySelectorAll('#board section.line').length > 0, null, 15000, 'the wall board shows line-a');

  const opCtx = await context(TABLET_PORTRAIT, { permissions: ['notifications'] });
  const op = await opCtx.newPage();
  watch(op, 'operator');
  await op.goto(`${base}/app`, { waitUntil: 'load' });
  await op.waitForSelector('#signin-form', { state: 'visible' });
  await axe(op, 'the sign-in page');
  await shot(op, 'signin-800x1280');
  await signIn(op, 'olga', 'operator');
  check('an operator sees only the station', (await op.$$eval('#nav .nav-link', (els) => els.map((e) => e.dataset.screen).join())) === 'operator,board');
  await until(op, () => document.querySelector('[data-figure=oee]') && document.querySelector('.machine[data-machine=a-filler]'), null, 10000, 'the station shows the line state and OEE');
  const oeeShown = await op.$eval('[data-figure=oee]', (e) => e.textContent);
  const line = (await api('GET', '/api/v1/lines/line-a')).body;
  const pct = (v) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '—');
  check('the station shows the shift OEE of the API', oeeShown === pct(line.windows.shift.oee), `${oeeShown} vs ${pct(line.windows.shift.oee)}`);

  // checklist
  await op.check('form.checklist input[name=guard]');
  await op.fill('form.checklist input[name=air]', '5');
  await op.click('form.checklist button[type=submit]');
  await until(op, () => document.querySelector('form.checklist')?.dataset.status === 'passed', null, 10000, 'the checklist shows passed');
  const current = (await api('GET', '/api/v1/lines/line-a/checklists/current')).body;
  check('the checklist is stored as passed', current.templates?.[0]?.status === 'passed', JSON.stringify(current.templates?.[0]?.status));

  // the supervisor starts a job; the station shows it
  const job = await api('POST', '/api/v1/jobs', supToken, { line: 'line-a', product: '1', target: 5000 });
  check('a job is planned', job.status === 201, JSON.stringify(job.body));
  await api('POST', `/api/v1/jobs/${job.body.id}/release`, supToken, {});
  const started = await api('POST', `/api/v1/jobs/${job.body.id}/start`, supToken, {});
  check('the job starts', started.status === 200, JSON.stringify(started.body));
  await until(op, () => /5,000|5000/.test(document.querySelector('[data-figure=job-progress]')?.textContent || ''), null, 10000, 'the station shows the running job and its target');

  // rejects: machine, stepper to 3, defect
  await op.click('.reject-body .choices.machines [data-value=a-filler]');
  await op.click('.reject-body .step >> nth=1');
  await op.click('.reject-body .step >> nth=1');
  await op.click('.reject-body .tree [data-value=fill]');
  await op.click('.reject-body .tree [data-value="fill/underfill"]');
  await until(op, () => /3/.test(document.querySelector('.reject-body')?.closest('.card')?.querySelector('.status-line')?.textContent || ''), null, 10000, 'the reject is confirmed');
  const rejects = (await api('GET', '/api/v1/rejects?line=line-a')).body.rejects || [];
  check('one reject of 3 is stored', rejects.length === 1 && rejects[0].quantity === 3 && rejects[0].defect === 'fill/underfill', JSON.stringify(rejects));

  // raise in three touches; the wall board shows it within 2 s
  const alertsBefore = Number(await op.evaluate(() => document.body.dataset.alerts || 0));
  await op.click('.andon-raise');
  await op.click('.raise-panel .choices.machines [data-value=a-filler]');
  await op.click('.raise-panel .choices.categories [data-value=maintenance]');
  const raisedAt = Date.now();
  const onWall = await wall
    .waitForFunction(() => document.querySelectorAll('#board .ticket[data-ticket-id]').length > 0, null, { timeout: 2000, polling: 50 })
    .then(() => true, () => false);
  check('the raised ticket is on the wall board within 2 s', onWall, `${Date.now() - raisedAt} ms`);
  await until(op, () => document.querySelectorAll('.tickets .ticket[data-state=open]').length === 1, null, 5000, 'the station lists the open ticket');
  await until(op, (n) => Number(document.body.dataset.alerts || 0) > n && !document.getElementById('alert-banner').hidden, alertsBefore, 5000, 'a new ticket alerts the station');
  const ticketId = await op.$eval('.tickets .ticket', (e) => e.dataset.ticketId);
  const notified = await op.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    for (let i = 0; i < 50; i += 1) {
      const list = await reg.getNotifications({ tag: 'ms5-andon' });
      if (list.length) return list[0].body;
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  });
  check('the alert is also a system notification through the service worker', /a-filler/.test(notified || ''), String(notified));
  await op.emulateMedia({ reducedMotion: 'reduce' });
  check('reduced motion stops the alert animation', (await op.$eval('#alert-banner', (e) => getComputedStyle(e).animationName)) === 'none');
  await op.emulateMedia({ reducedMotion: 'no-preference' });
  await shot(op, 'operator-800x1280');
  await axe(op, 'the operator station');

  // the supervisor acknowledges on the desk
  const supCtx = await context(TABLET_LANDSCAPE);
  const sup = await supCtx.newPage();
  watch(sup, 'supervisor');
  await signIn(sup, 'sam', 'supervisor');
  await until(sup, (id) => document.querySelector(`.tickets-all tr[data-ticket-id="${id}"]`), ticketId, 10000, 'the supervisor sees the ticket');
  await sup.click(`.tickets-all tr[data-ticket-id="${ticketId}"] [data-act=acknowledge]`);
  await until(op, (id) => document.querySelector(`.tickets .ticket[data-ticket-id="${id}"]`)?.dataset.state === 'acknowledged', ticketId, 10000, 'the station sees the acknowledgement');
  // The desk assigns the ticket to sam, then reassigns it to olga: her station marks it hers.
  const assignSel = `.tickets-all tr[data-ticket-id="${ticketId}"] select[data-act=assign]`;
  await until(sup, (sel) => [...(document.querySelector(sel)?.options || [])].some((o) => o.value === 'olga'), assignSel, 10000, "the desk lists line-a's people");
  await sup.selectOption(assignSel, 'sam');
  await until(op, (id) => document.querySelector(`.tickets .ticket[data-ticket-id="${id}"] .ticket-assignee`)?.textContent === 'Assigned to sam', ticketId, 10000, 'the station shows the assignee');
  check('a ticket assigned to someone else is not marked as hers', (await op.$eval(`.tickets .ticket[data-ticket-id="${ticketId}"]`, (e) => e.dataset.mine)) === 'false');
  await sup.selectOption(assignSel, 'olga');
  await until(op, (id) => document.querySelector(`.tickets .ticket[data-ticket-id="${id}"]`)?.dataset.mine === 'true', ticketId, 10000, 'the reassigned ticket is marked on her station');
  check('her station says "Assigned to you"', (await op.$eval(`.tickets .ticket[data-ticket-id="${ticketId}"] .ticket-assignee`, (e) => e.textContent)) === 'Assigned to you');
  const assigned = (await api('GET', `/api/v1/andon/tickets/${ticketId}`)).body;
  check('the ticket is assigned to olga, after sam', assigned.ticket?.assignee === 'olga' && assigned.events?.filter((e) => e.kind === 'assigned').map((e) => e.detail).join() === 'sam,olga', JSON.stringify(assigned.events?.map((e) => [e.kind, e.detail])));
  // Jobs from the desk: plan one, release it, cancel it; void the operator's reject.
  await sup.fill('.card form.inline input[name=target]', '100');
  await sup.click('.card form.inline:has(input[name=target]) button[type=submit]');
  await until(sup, () => document.querySelector('.jobs tr.job[data-state=planned]'), null, 10000, 'a job planned at the desk is listed');
  const planned = await sup.$eval('.jobs tr.job[data-state=planned]', (r) => r.dataset.jobId);
  await sup.click(`.jobs tr.job[data-job-id="${planned}"] [data-act=release]`);
  await until(sup, (id) => document.querySelector(`.jobs tr.job[data-job-id="${id}"]`)?.dataset.state === 'released', planned, 10000, 'the job is released');
  await sup.click(`.jobs tr.job[data-job-id="${planned}"] [data-act=cancel]`);
  await until(sup, (id) => document.querySelector(`.jobs tr.job[data-job-id="${id}"]`)?.dataset.state !== 'released', planned, 10000, 'the job is cancelled');
  const plannedJob = (await api('GET', `/api/v1/jobs/${planned}`)).body;
  check('the desk planned, released and cancelled a job of 100', plannedJob.target === 100 && plannedJob.state === 'cancelled', JSON.stringify([plannedJob.target, plannedJob.state]));
  await until(sup, () => document.querySelector('.rejects .reject[data-state=logged] [data-act=void]'), null, 10000, "the operator's reject can be voided");
  const rejectId = await sup.$eval('.rejects .reject[data-state=logged]', (e) => e.dataset.rejectId);
  await sup.click(`.rejects .reject[data-reject-id="${rejectId}"] [data-act=void]`);
  await until(sup, (id) => document.querySelector(`.rejects .reject[data-reject-id="${id}"]`)?.dataset.state === 'voided', rejectId, 10000, 'the reject is voided');
  await shot(sup, 'supervisor-1280x800');
  await axe(sup, 'the supervisor desk');

  // the operator resolves it and classifies the stop
  await op.click(`.tickets .ticket[data-ticket-id="${ticketId}"] [data-act=resolve]`);
  await until(op, (id) => !document.querySelector(`.tickets .ticket[data-ticket-id="${id}"]`), ticketId, 10000, 'the resolved ticket leaves the station');
  const tk = (await api('GET', `/api/v1/andon/tickets/${ticketId}`)).body.ticket || {};
  check('the ticket is resolved by olga after sam acknowledged it', tk.state === 'resolved' && tk.resolved_by === 'olga' && tk.acknowledged_by === 'sam', JSON.stringify([tk.state, tk.acknowledged_by, tk.resolved_by]));
  await op.click('.stops .stop [data-act=classify]');
  await op.click('.stop-picker .tree [data-value=mechanical]');
  await op.click('.stop-picker .tree [data-value="mechanical/belt"]');
  await until(op, () => document.querySelector('.stops .stop')?.dataset.reason === 'mechanical/belt', null, 10000, 'the stop shows its new reason');
  const stops = (await api('GET', '/api/v1/downtime?line=line-a')).body.downtime || [];
  check('the stop is classified mechanical/belt', stops.some((s) => s.reason === 'mechanical/belt' && s.classified?.by === 'olga'), JSON.stringify(stops.map((s) => s.reason)));

  // The stop was two causes: belt until 07:47, then a sensor. Split it there.
  const stopId = await op.$eval('.stops .stop', (e) => e.dataset.stopId);
  await op.click(`.stops .stop[data-stop-id="${stopId}"] [data-act=split]`);
  const splitShown = await op.$eval('.stop-picker .split-at', (e) => e.textContent);
  check('the split starts in the middle of the stop, in plant-local time', splitShown === '07:45', splitShown);
  await op.click('.stop-picker .step >> nth=1');
  await op.click('.stop-picker .step >> nth=1');
  await op.click('.stop-picker .tree [data-value=electrical]');
  await op.click('.stop-picker .tree [data-value="electrical/sensor"]');
  await until(op, () => document.querySelectorAll('.stops .stop').length > 0 && document.querySelector('.stops .stop').dataset.reason === 'electrical/sensor', null, 10000, 'the second part is listed with its reason');
  const parts = ((await api('GET', '/api/v1/downtime?line=line-a&limit=2')).body.downtime || []).map((x) => [x.start.slice(11, 16), x.end && x.end.slice(11, 16), x.reason]);
  check('the stop is split at 07:47 into belt and sensor', JSON.stringify(parts) === JSON.stringify([['07:47', '07:50', 'electrical/sensor'], ['07:40', '07:47', 'mechanical/belt']]), JSON.stringify(parts));

  // German, and the landscape tablet
  await op.selectOption('#lang', 'de');
  await until(op, () => document.querySelector('.andon-raise')?.textContent === 'Andon auslösen', null, 5000, 'the station speaks German');
  await op.setViewportSize(TABLET_LANDSCAPE);
  await shot(op, 'operator-1280x800-de');
  await op.selectOption('#lang', 'en');

  // ------------------------------------------------------------------ offline
  const other = await api('POST', '/api/v1/andon/tickets', supToken, { line: 'line-a', machine: 'a-packer', category: 'quality', priority: 'medium', description: 'labels crooked' });
  check('a second ticket is raised elsewhere', other.status === 201);
  await until(op, (id) => document.querySelector(`.tickets .ticket[data-ticket-id="${id}"]`), String(other.body.id), 10000, 'the station lists the second ticket');
  // The first raise reaches the server but its answer is lost: the app cannot tell, keeps it, and replays it.
  // The station goes offline as the answer is lost, so its replay timer cannot send the raise
  // again before the other actions have joined it in the outbox.
  let lost = false;
  await op.route('**/api/v1/andon/tickets', async (route) => {
    if (!lost && route.request().method() === 'POST') {
      lost = true;
      await route.fetch();
      await opCtx.setOffline(true);
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  await op.click('.andon-raise');
  await op.click('.raise-panel .choices.machines [data-value=a-filler]');
  await op.click('.raise-panel summary');
  await op.fill('.raise-panel input.description', 'offline raise');
  await op.click('.raise-panel .choices.categories [data-value=safety]');
  await until(op, () => !document.getElementById('outbox').hidden, null, 5000, 'the raise with a lost answer waits in the outbox');
  await op.click('.reject-body .choices.machines [data-value=a-filler]');
  await op.click('.reject-body .step >> nth=1');
  await op.click('.reject-body .tree [data-value=cap]');
  await op.click('.reject-body .tree [data-value="cap/missing"]');
  await op.click(`.tickets .ticket[data-ticket-id="${other.body.id}"] [data-act=acknowledge]`);
  // all three (the raise whose answer was lost, the reject, the acknowledgement): the
  // acknowledgement may still be finding out that the server is away
  await until(op, () => Number(document.getElementById('outbox').dataset.waiting) === 3, null, 15000, 'offline actions wait in the outbox');
  const waiting = Number(await op.$eval('#outbox', (e) => e.dataset.waiting));
  check('the outbox says "n waiting"', (await op.$eval('#outbox', (e) => e.textContent)) === `${waiting} waiting`, `waiting=${waiting}`);
  await shot(op, 'operator-offline-1280x800');
  // A reload without a connection: the service worker serves the app, and the outbox is still there.
  const swReady = await op.evaluate(() => Promise.race([navigator.serviceWorker.ready.then((r) => Boolean(r.active)), new Promise((r) => setTimeout(() => r(false), 5000))]));
  check('the service worker is active', swReady);
  await op.reload({ waitUntil: 'load' });
  await until(op, () => document.getElementById('view').dataset.screen === 'operator' && document.querySelector('.raise-panel') && document.getElementById('line-pick').value === 'line-a', null, 10000, 'the station opens offline from the service worker, on its line');
  await until(op, (n) => Number(document.getElementById('outbox').dataset.waiting) === n, waiting, 15000, 'the waiting actions survive the reload');
  // Meanwhile the ticket is resolved elsewhere.
  const elsewhere = await api('POST', `/api/v1/andon/tickets/${other.body.id}/resolve`, supToken, {});
  check('the second ticket is resolved elsewhere', elsewhere.status === 200);
  await opCtx.setOffline(false);
  await op.evaluate(() => window.dispatchEvent(new Event('online')));
  await until(op, () => document.getElementById('outbox').hidden, null, 20000, 'the outbox empties when the connection is back');
  await until(op, () => document.querySelectorAll('.stops .stop').length > 0 && document.querySelectorAll('.reject-body .tree').length > 0 && ![...document.querySelectorAll('.status-line')].some((e) => e.dataset.kind === 'error'), null, 15000, 'the station reads its stops, defects, checklist and notes again when the connection is back');
  await until(op, () => document.querySelectorAll('#conflicts .conflict').length === 1, null, 5000, 'the conflicting replay is shown');
  const conflict = await op.$eval('#conflicts .conflict', (e) => ({ status: e.dataset.status, text: e.textContent }));
  check('the conflict is the acknowledgement of the resolved ticket (409)', conflict.status === '409' && /#/.test(conflict.text), JSON.stringify(conflict));
  const all = (await api('GET', '/api/v1/andon/tickets?line=line-a&limit=100')).body.tickets || [];
  check('exactly one ticket from the offline raise', all.filter((x) => x.description === 'offline raise').length === 1, JSON.stringify(all.map((x) => x.description)));
  const capRejects = ((await api('GET', '/api/v1/rejects?line=line-a&defect=cap/missing')).body.rejects || []);
  check('the offline rejects are logged once', capRejects.length === 1 && capRejects[0].quantity === 2, JSON.stringify(capRejects));
  await op.click('#conflicts .conflict button');
  await until(op, () => document.getElementById('conflicts').hidden, null, 5000, 'a seen conflict can be dismissed');

  // ------------------------------------------------------------------ manager's report
  await sup.goto(`${base}/app#manager`, { waitUntil: 'load' });
  await sup.waitForSelector('form.inline select[name=kind]');
  await sup.fill('input[name=date]', today);
  await sup.fill('input[name=shift]', 'day');
  await sup.click('form.inline button[type=submit]');
  await until(sup, () => document.querySelector('.figures [data-figure=oee]'), null, 10000, 'the shift report shows');
  const report = (await api('GET', `/api/v1/reports/shift?line=line-a&date=${today}&shift=day`)).body;
  const r = report.lines[0];
  const shown = await sup.$$eval('.figures dd', (els) => Object.fromEntries(els.map((e) => [e.dataset.figure, e.textContent])));
  for (const f of ['oee', 'availability', 'performance', 'quality']) check(`report ${f} equals the API`, shown[f] === pct(r.oee[f]), `${shown[f]} vs ${pct(r.oee[f])}`);
  check('report good parts equal the API', Number(shown.good.replace(/[^0-9]/g, '')) === r.oee.good, `${shown.good} vs ${r.oee.good}`);
  check('the Pareto chart is drawn', (await sup.$$eval('.chart.pareto rect.bar', (e) => e.length)) === (r.downtime.reasons || []).length);
  await until(sup, () => document.querySelector('.chart.trend path.series'), null, 10000, 'the trend chart is drawn');
  const [download] = await Promise.all([sup.waitForEvent('download'), sup.click('[data-act=csv]')]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\n').map((l) => l.split(','));
  const head = csv[0];
  const lineRow = csv.find((row) => row[0] === 'line');
  check('the CSV parses with a line row', head[0] === 'section' && lineRow !== undefined, csv.slice(0, 2).join(' | '));
  if (lineRow) check('the CSV OEE equals the API', Number(lineRow[head.indexOf('oee')]) === r.oee.oee, `${lineRow[head.indexOf('oee')]} vs ${r.oee.oee}`);
  await sup.click('.machines-table tr.drill[data-machine=a-filler]');
  await until(sup, () => document.querySelectorAll('.drill-out .stop').length > 0, null, 10000, 'drill-down shows the filler stops');
  await sup.setViewportSize(WALL);
  await shot(sup, 'manager-1920x1080');
  await axe(sup, 'the manager report');
  await sup.emulateMedia({ media: 'print' });
  check('the print view hides the controls', await sup.$eval('#top', (e) => getComputedStyle(e).display === 'none'));
  await sup.emulateMedia({ media: 'screen' });

  // ------------------------------------------------------------------ engineer
  const engCtx = await context(TABLET_LANDSCAPE);
  const eng = await engCtx.newPage();
  watch(eng, 'engineer');
  const broken = await api('POST', '/api/v1/andon/tickets', supToken, { line: 'line-a', machine: 'a-filler', category: 'maintenance', priority: 'high', description: 'bearing noise' });
  await signIn(eng, 'eve', 'engineer');
  await until(eng, () => document.querySelectorAll('.health tbody tr').length === 2, null, 10000, 'machine health lists both machines with MTBF and MTTR');
  const health = (await api('GET', '/api/v1/machines/a-filler/health')).body.trend_warning || {};
  const risk = await eng.$eval('.health tr[data-machine=a-filler]', (r) => ({ flag: r.dataset.atRisk, text: r.querySelector('.risk').textContent }));
  check('the at-risk filler is flagged with its figures', health.at_risk === true && risk.flag === 'true' && risk.text.includes(`${health.recent_failures} recent failures`), JSON.stringify([health.at_risk, risk]));
  await until(eng, () => document.querySelector('.last-data tr[data-machine=a-filler] .last-data-at')?.textContent === '08:00', null, 10000, "the PLC sources card shows the filler's last data (08:00)");
  // every source kind's endpoints, read from the ms5_plc_* series (as /metrics writes them)
  const plc = await eng.evaluate(async () => (await import('/views/engineer/engineer.js')).plcHealth([
    'ms5_plc_connected{kind="modbus",endpoint="press"} 1',
    'ms5_plc_values_total{kind="modbus",endpoint="press"} 42',
    'ms5_plc_success_ratio{kind="modbus",endpoint="press"} 0.5',
    'ms5_plc_tag_error{kind="modbus",endpoint="press",tag="L1.Press.Good"} 1',
    'ms5_plc_tag_error{kind="modbus",endpoint="press",tag="L1.Press.State"} 0',
    'ms5_plc_connected{kind="mqtt",endpoint="press"} 0',
    'ms5_opcua_connected{endpoint="old"} 1',
  ].join('\n')));
  check('each kind and endpoint of ms5_plc_* is a row with its figures', JSON.stringify(plc) === JSON.stringify([
    { kind: 'modbus', endpoint: 'press', connected: true, reconnects: null, values: 42, ratio: 0.5, tag_errors: 1 },
    { kind: 'mqtt', endpoint: 'press', connected: false, reconnects: null, values: null, ratio: null, tag_errors: 0 },
  ]), JSON.stringify(plc));
  const steady = await eng.$eval('.health tr[data-machine=a-packer]', (r) => r.dataset.atRisk);
  check('the steady packer is not flagged', steady === 'false', steady);
  await until(eng, (id) => [...document.querySelectorAll('.card option')].some((o) => o.value === id), String(broken.body.id), 10000, 'the ticket can be chosen for an order');
  await eng.selectOption('.card form.inline select', String(broken.body.id));
  await eng.fill('.card form.inline input[type=text]', 'replace bearing');
  await eng.click('.card form.inline button[type=submit]');
  await until(eng, () => document.querySelector('.orders .order[data-state=open]'), null, 10000, 'the order from the ticket is listed');
  const orderId = await eng.$eval('.orders .order', (e) => e.dataset.orderId);
  await eng.click(`.order[data-order-id="${orderId}"] [data-act=start]`);
  await until(eng, (id) => document.querySelector(`.order[data-order-id="${id}"]`)?.dataset.state === 'in_progress', orderId, 10000, 'the order is in progress');
  await eng.fill(`.order[data-order-id="${orderId}"] input`, 'bearing replaced, runs quiet');
  await eng.click(`.order[data-order-id="${orderId}"] [data-act=note]`);
  await until(eng, (id) => document.querySelector(`.order[data-order-id="${id}"]`)?.dataset.state === 'in_progress', orderId, 5000, 'the noted order is listed');
  await eng.click(`.order[data-order-id="${orderId}"] [data-act=complete]`);
  await until(eng, (id) => document.querySelector(`.order[data-order-id="${id}"]`)?.dataset.state === 'done', orderId, 10000, 'the order is closed');
  const order = (await api('GET', `/api/v1/maintenance/orders/${orderId}`)).body;
  check('the order came from the ticket, is done and keeps its notes', order.order?.ticket_id === broken.body.id && order.order?.state === 'done' && JSON.stringify(order).includes('bearing replaced'), JSON.stringify(order).slice(0, 400));
  await shot(eng, 'engineer-1280x800');
  await axe(eng, 'the engineer screen');

  // ------------------------------------------------------------------ admin
  const admCtx = await context(WALL);
  const adm = await admCtx.newPage();
  watch(adm, 'admin');
  adm.on('dialog', (d) => d.dismiss().catch(() => {}));
  await signIn(adm, 'root', 'admin');
  await adm.fill('form.create-user input[name=username]', 'otto');
  await adm.fill('form.create-user input[name=password]', 'a-long-password-for-otto');
  await adm.selectOption('form.create-user select[name=role]', 'operator');
  await adm.fill('form.create-user input[name=lines]', 'line-a');
  await adm.click('form.create-user button[type=submit]');
  await until(adm, () => document.querySelector('tr.user[data-username=otto]'), null, 10000, 'the new user is listed');
  const users = (await api('GET', '/api/v1/users')).body.users || [];
  const otto = users.find((u) => u.username === 'otto');
  check('otto is an operator on line-a', otto && otto.role === 'operator' && JSON.stringify(otto.lines) === '["line-a"]', JSON.stringify(otto));
  await adm.fill('form.create-token input[name=name]', 'hall 2');
  await adm.fill('form.create-token input[name=lines]', 'line-a');
  await adm.click('form.create-token button[type=submit]');
  await until(adm, () => document.querySelector('.fresh-token a.wall-link') && document.querySelector('.fresh-token svg.qr path'), null, 10000, 'the display token link and QR code are shown');
  const link = await adm.$eval('.fresh-token a.wall-link', (a) => a.href);
  const pixels = await adm.evaluate(async () => {
    const svg = document.querySelector('.fresh-token svg.qr');
    const xml = new XMLSerializer().serializeToString(svg).replace('class="qr-bg"', 'fill="#fff"').replace('class="qr-fg"', 'fill="#000"');
    const img = new Image();
    img.src = `data:image/svg+xml;base64,${btoa(xml)}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = 400;
    c.height = 400;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0, 400, 400);
    return Array.from(g.getImageData(0, 0, 400, 400).data);
  });
  const decoded = jsQR(Uint8ClampedArray.from(pixels), 400, 400);
  check('the QR code reads as the wall link', decoded && decoded.data === link, decoded ? decoded.data : 'no QR found');
  await shot(adm, 'admin-1920x1080');
  await axe(adm, 'the admin console');
  const wall2Ctx = await context(WALL);
  const wall2 = await wall2Ctx.newPage();
  watch(wall2, 'wall 2');
  await wall2.goto(link, { waitUntil: 'load' });
  await until(wall2, () => document.querySelectorAll('#board section.line[data-line-id=line-a]').length === 1, null, 15000, 'the wall view opens with the new display token');
  await shot(wall2, 'wall-1920x1080');
  await axe(wall2, 'the wall board');
  await adm.check('input[data-flag=maintenance_mode]');
  await until(adm, () => !document.getElementById('maintenance-banner').hidden, null, 10000, 'maintenance mode shows the banner in the app');
  await until(wall2, () => !document.getElementById('maintenance-banner').hidden, null, 10000, 'maintenance mode shows the banner on the wall');
  await shot(adm, 'admin-maintenance-1920x1080');
  await adm.uncheck('input[data-flag=maintenance_mode]');
  await until(adm, () => document.getElementById('maintenance-banner').hidden, null, 10000, 'the banner goes when maintenance ends');
  await adm.fill('.card form.inline input[name=action]', 'user.');
  await adm.click('.card form.inline:has(input[name=action]) button[type=submit]');
  await until(adm, () => [...document.querySelectorAll('tr.audit-entry')].every((r) => r.dataset.action.startsWith('user.')) && document.querySelectorAll('tr.audit-entry').length > 0, null, 10000, 'the audit log filters by action');

  // Keyboard: from the skip link, Tab reaches the navigation, and Enter on "Raise Andon" opens the machines.
  const kb = await opCtx.newPage();
  watch(kb, 'keyboard');
  await kb.goto(`${base}/app#operator`, { waitUntil: 'load' });
  await kb.waitForSelector('.andon-raise');
  await kb.keyboard.press('Tab');
  const first = await kb.evaluate(() => `${document.activeElement.tagName}.${document.activeElement.className}`);
  check('the first Tab lands on the skip link', first === 'A.skip', first);
  await kb.close();
  await op.focus('.andon-raise');
  await op.keyboard.press('Enter');
  check('Enter on Raise Andon opens the machine choice', await op.$eval('.raise-panel', (e) => !e.hidden && e.querySelectorAll('.choice').length > 0));
  await op.click('.raise-panel button.secondary');

  // Every screen at tablet (both ways) and wall sizes, for review.
  for (const [page, screen] of [[op, 'operator'], [sup, 'supervisor'], [sup, 'manager'], [eng, 'engineer'], [adm, 'admin']]) {
    await page.goto(`${base}/app#${screen}`, { waitUntil: 'load' });
    await page.waitForFunction((s) => document.getElementById('view').dataset.screen === s, screen);
    await page.waitForTimeout(500);
    for (const v of [TABLET_PORTRAIT, TABLET_LANDSCAPE, WALL]) {
      await page.setViewportSize(v);
      await shot(page, `all-${screen}-${v.width}x${v.height}`);
    }
  }

  // Touch targets: every button and link in the station is at least 48 px high and wide.
  await op.setViewportSize(TABLET_PORTRAIT);
  const small = await op.$$eval('button, a.nav-link, select, input', (els) =>
    els.filter((e) => e.offsetParent !== null).filter((e) => { const r = e.getBoundingClientRect(); return r.height < 48 || r.width < 48; }).map((e) => `${e.tagName}.${e.className}:${e.textContent.slice(0, 20)}`),
  );
  check('touch targets are at least 48 px on the station', small.length === 0, small.join('; '));

  check('no page errors', pageErrors.length === 0, pageErrors.join(' | '));
  check('no console errors (CSP violations included)', consoleErrors.length === 0, consoleErrors.join(' | '));
} catch (err) {
  check('test ran', false, String(err && err.stack ? err.stack : err));
  if (pageErrors.length) check('no page errors', false, pageErrors.join(' | '));
  if (consoleErrors.length) check('no console errors', false, consoleErrors.join(' | '));
  for (const [page, who] of pages) {
    if (shots) await page.screenshot({ path: join(shots, `failed-${who.replace(/\W/g, '-')}.png`), fullPage: true }).catch(() => {});
  }
} finally {
  await browser.close().catch(() => {});
}
finish();
