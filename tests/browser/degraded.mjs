// The board and the floor app on one replica of several while Redis goes away and comes
// back: each shows its degraded notice, then clears it. The Rust test stops and starts
// Redis when this script asks on stdout ("redis down" / "redis up") and answers on stdin.
//
//   MS5_URL=http://127.0.0.1:PORT/ MS5_DISPLAY_TOKEN=… MS5_USER=… MS5_PASSWORD=… node degraded.mjs
//
// Prints "degraded: N passed, 0 failed" and exits 0, or lists the failures and exits 1.

import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const url = process.env.MS5_URL;
const displayToken = process.env.MS5_DISPLAY_TOKEN || '';
const executablePath = process.env.MS5_CHROMIUM || '/usr/bin/chromium';
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

let passed = 0;
const failures = [];
function check(name, ok, detail) {
  if (ok) passed += 1;
  else failures.push(detail ? `${name}: ${detail}` : name);
  return ok;
}

/** Asks the test to do `what` and waits for its answer. */
async function ask(what) {
  console.log(what);
  const answer = await lines.next();
  if (answer.done || answer.value !== 'ok') throw new Error(`no answer to "${what}"`);
}

async function until(page, fn, what, timeout = 15000) {
  try {
    await page.waitForFunction(fn, null, { timeout, polling: 100 });
    return check(what, true);
  } catch (_) {
    return check(what, false, 'timed out');
  }
}

const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const board = await (await browser.newContext({ viewport: { width: 1920, height: 1080 } })).newPage();
  await board.goto(`${url}#token=${encodeURIComponent(displayToken)}`, { waitUntil: 'load' });
  await until(board, () => document.querySelectorAll('#board section.line[data-line-id]').length === 2, 'the board shows both lines');
  check('the board is not degraded', await board.$eval('#degraded-banner', (e) => e.hidden));

  const app = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await app.goto(`${url}app`, { waitUntil: 'load' });
  await app.fill('#signin-form input[name=username]', process.env.MS5_USER);
  await app.fill('#signin-form input[name=password]', process.env.MS5_PASSWORD);
  await app.click('#signin-form button[type=submit]');
  await until(app, () => document.getElementById('conn').dataset.state === 'connected', 'the floor app is connected');
  check('the floor app is not degraded', await app.$eval('#degraded-banner', (e) => e.hidden));

  await ask('redis down');
  await until(board, () => !document.getElementById('degraded-banner').hidden, 'the board shows its degraded notice');
  const text = await board.$eval('#degraded-banner', (e) => e.textContent);
  check('the notice says what it means', /not live here/.test(text), text);
  await until(app, () => !document.getElementById('degraded-banner').hidden, 'the floor app shows its degraded notice');
  // A board opened meanwhile is told at once.
  await board.reload({ waitUntil: 'load' });
  await until(board, () => !document.getElementById('degraded-banner').hidden, 'a board opened meanwhile is told at once');

  await ask('redis up');
  await until(board, () => document.getElementById('degraded-banner').hidden, 'the board clears the notice when Redis is back');
  await until(app, () => document.getElementById('degraded-banner').hidden, 'the floor app clears the notice too');
  await until(board, () => document.querySelectorAll('#board section.line[data-line-id]').length === 2, 'the board still shows both lines');
} catch (e) {
  check('the script ran', false, String(e && e.stack ? e.stack : e));
} finally {
  await browser.close();
}
if (failures.length === 0) {
  console.log(`degraded: ${passed} passed, 0 failed`);
  process.exit(0);
}
console.log(`degraded: ${passed} passed, ${failures.length} failed`);
for (const f of failures) console.log(`FAIL ${f}`);
process.exit(1);
