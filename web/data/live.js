// The live socket (protocol 2): one connection, snapshots then merge patches per entity,
// a gap in `seq` answered with a resync, and one store that views read. Views subscribe
// to a channel and get its entities (a Map by id) on every change.

import { freshToken } from './session.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;

/** RFC 7396: applies `patch` to `doc` and returns the result. */
export function mergePatch(doc, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? Object.assign({}, doc) : {};
  Object.entries(patch).forEach(([k, v]) => {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  });
  return out;
}

// channel → { entities: Map(id → doc), seqs: Map(id → seq), seq, listeners: Set, windows }
const channels = new Map();
const statusListeners = new Set();
const bannerListeners = new Set();
const degradedListeners = new Set();
let socket = null;
let backoff = BACKOFF_MIN_MS;
let status = 'connecting';
let wanted = false;

function setStatus(s) {
  status = s;
  statusListeners.forEach((fn) => fn(s));
}

/** Calls `fn(status)` on 'connecting' | 'connected' | 'offline'. */
export function onStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}

/**
 * Calls `fn(true)` when the server says it is degraded (the servers cannot reach each
 * other: lines run by another are not live), `fn(false)` when that is over or on a new
 * connection (a degraded server says so again at once).
 */
export function onDegraded(fn) {
  degradedListeners.add(fn);
  return () => degradedListeners.delete(fn);
}

/** Calls `fn({maintenance_mode, message})` on each banner frame. */
export function onBanner(fn) {
  bannerListeners.add(fn);
  return () => bannerListeners.delete(fn);
}

function entitiesOf(channel, data) {
  if (channel === 'production_updates') return data.lines || [];
  if (channel.startsWith('andon')) return data.tickets || [];
  if (channel.startsWith('jobs:')) return data.jobs || [];
  return [data];
}

function notify(channel) {
  const c = channels.get(channel);
  if (c) c.listeners.forEach((fn) => fn(c.entities));
}

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

function subscribeFrame(channel) {
  const c = channels.get(channel);
  const frame = { type: 'subscribe', channel };
  if (c && c.windows) frame.windows = c.windows;
  return frame;
}

function onFrame(msg) {
  if (msg.type === 'banner') {
    bannerListeners.forEach((fn) => fn(msg.data || {}));
    return;
  }
  if (msg.type === 'degraded') {
    degradedListeners.forEach((fn) => fn(msg.data?.degraded === true));
    return;
  }
  const c = channels.get(msg.channel);
  if (!c) return;
  if (msg.type === 'snapshot') {
    c.entities = new Map();
    c.seqs = new Map();
    entitiesOf(msg.channel, msg.data || {}).forEach((e) => {
      c.entities.set(String(e.id), e);
      c.seqs.set(String(e.id), msg.seq);
    });
    c.ready = true;
    notify(msg.channel);
  } else if (msg.type === 'patch') {
    const id = String(msg.id);
    const held = c.seqs.has(id) ? c.seqs.get(id) : -1;
    if (typeof msg.base === 'number' && msg.base > held && c.seqs.has(id)) {
      send({ type: 'resync', channel: msg.channel });
      return;
    }
    c.entities.set(id, mergePatch(c.entities.get(id) || {}, msg.data));
    c.seqs.set(id, msg.seq);
    notify(msg.channel);
  } else if (msg.type === 'update') {
    const data = msg.data || {};
    const id = String(msg.id !== undefined ? msg.id : data.id);
    c.entities.set(id, data);
    c.seqs.set(id, msg.seq);
    notify(msg.channel);
  }
}

async function connect() {
  if (!wanted) return;
  const t = await freshToken();
  if (!t) {
    setStatus('offline');
    return;
  }
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?protocol=2`;
  let ws;
  try {
    ws = new WebSocket(url, ['ms5.bearer', t]);
  } catch (_) {
    retry();
    return;
  }
  socket = ws;
  setStatus('connecting');
  ws.onopen = () => {
    backoff = BACKOFF_MIN_MS;
    setStatus('connected');
    degradedListeners.forEach((fn) => fn(false));
    channels.forEach((_, name) => send(subscribeFrame(name)));
  };
  ws.onmessage = (ev) => {
    try {
      onFrame(JSON.parse(ev.data));
    } catch (_) {
      /* a frame we cannot read is skipped */
    }
  };
  ws.onclose = () => {
    if (socket === ws) socket = null;
    setStatus('offline');
    retry();
  };
}

function retry() {
  if (!wanted) return;
  setTimeout(connect, backoff);
  backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
}

/** Opens the socket (once signed in). */
export function start() {
  if (wanted) return;
  wanted = true;
  connect();
}

/** Closes it (signing out). */
export function stop() {
  wanted = false;
  if (socket) socket.close(1000);
  socket = null;
  channels.clear();
}

/**
 * Subscribes to `channel` (with OEE `windows` for production channels) and calls
 * `fn(entities)` with a Map of id → document on every change. Returns an unsubscribe.
 */
export function subscribe(channel, fn, windows) {
  let c = channels.get(channel);
  if (!c) {
    c = { entities: new Map(), seqs: new Map(), listeners: new Set(), windows, ready: false };
    channels.set(channel, c);
    send(subscribeFrame(channel));
  }
  c.listeners.add(fn);
  if (c.ready) fn(c.entities);
  return () => {
    const cur = channels.get(channel);
    if (!cur) return;
    cur.listeners.delete(fn);
    if (cur.listeners.size === 0) {
      channels.delete(channel);
      send({ type: 'unsubscribe', channel });
    }
  };
}
