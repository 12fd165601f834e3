// Operator actions that must not be lost: each gets an Idempotency-Key and is sent at
// once; when the server cannot be reached it waits in IndexedDB and is replayed, in
// order, when the connection returns. The server answers a replay with the first answer,
// so nothing is applied twice. A replay the server refuses (a ticket resolved elsewhere)
// is kept as a conflict for the operator to see, never dropped silently.

import { ApiError, request } from './api.js';

const DB = 'ms5-outbox';
const QUEUE = 'queue';
const CONFLICTS = 'conflicts';
const RETRY_MS = 5000;

const listeners = new Set();
let dbPromise = null;
let flushing = null;
let sending = Promise.resolve();

function open() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(QUEUE, { keyPath: 'seq', autoIncrement: true });
        req.result.createObjectStore(CONFLICTS, { keyPath: 'seq', autoIncrement: true });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function tx(store, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    const result = fn(t.objectStore(store));
    t.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined);
    t.onerror = () => reject(t.error);
  });
}

const all = (store) => tx(store, 'readonly', (s) => s.getAll());

/** A fresh idempotency key. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Calls `fn({waiting, conflicts})` whenever the queue or the conflicts change. */
export function onChange(fn) {
  listeners.add(fn);
  state().then(fn);
  return () => listeners.delete(fn);
}

async function state() {
  const [waiting, conflicts] = await Promise.all([all(QUEUE), all(CONFLICTS)]);
  return { waiting, conflicts };
}

async function changed() {
  const s = await state();
  listeners.forEach((fn) => fn(s));
}

function notNow(e) {
  return e instanceof ApiError && (e.status === 0 || e.status >= 500 || e.status === 429 || e.status === 401);
}

/**
 * Sends an action `{method, path, body, label}` with a new key. Resolves to
 * `{done: body}` when the server answered, `{queued: true}` when it waits; rejects
 * with the ApiError of a refusal.
 */
export function send(action) {
  // One action at a time, so a second action never overtakes a first that is still
  // finding out whether the server can be reached.
  const run = sending.then(() => sendNow(action));
  sending = run.catch(() => {});
  return run;
}

async function sendNow(action) {
  const item = Object.assign({ key: newKey(), at: Date.now() }, action);
  const waiting = await all(QUEUE);
  if (waiting.length === 0) {
    try {
      const body = await request(item.method, item.path, item.body, { 'Idempotency-Key': item.key });
      return { done: body };
    } catch (e) {
      if (!notNow(e)) throw e;
    }
  }
  await tx(QUEUE, 'readwrite', (s) => s.add(item));
  await changed();
  return { queued: true };
}

/** Replays waiting actions in order; stops at the first that cannot be sent yet. */
export function flush() {
  if (!flushing) {
    flushing = flushOnce().finally(() => {
      flushing = null;
    });
  }
  return flushing;
}

async function flushOnce() {
  const waiting = await all(QUEUE);
  for (const item of waiting) {
    try {
      await request(item.method, item.path, item.body, { 'Idempotency-Key': item.key });
    } catch (e) {
      if (notNow(e)) break;
      const conflict = { label: item.label, path: item.path, status: e.status, message: e.message, at: Date.now() };
      await tx(CONFLICTS, 'readwrite', (s) => s.add(conflict));
    }
    await tx(QUEUE, 'readwrite', (s) => s.delete(item.seq));
    await changed();
  }
}

/** Forgets a conflict the operator has seen. */
export async function dismiss(seq) {
  await tx(CONFLICTS, 'readwrite', (s) => s.delete(seq));
  await changed();
}

/** Replays on reconnect and every few seconds while something waits. */
export function startReplay() {
  window.addEventListener('online', () => flush());
  setInterval(async () => {
    if ((await all(QUEUE)).length > 0) flush();
  }, RETRY_MS);
}
