// The signed-in session: the access and refresh tokens (the same two keys the board
// keeps, nothing more), refresh before expiry, and who the caller is.
// Data modules never touch the DOM.

const TOKEN_KEY = 'ms5.token';
const REFRESH_KEY = 'ms5.refresh';
const REFRESH_BEFORE_S = 120;

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

let access = stored(TOKEN_KEY);
let refreshing = null;
const listeners = new Set();

/** The current access token, or null. */
export function token() {
  return access;
}

/** Calls `fn(signedIn)` whenever the session starts or ends. */
export function onSessionChange(fn) {
  listeners.add(fn);
}

function setTokens(a, r) {
  access = a;
  store(TOKEN_KEY, a);
  store(REFRESH_KEY, r);
  listeners.forEach((fn) => fn(Boolean(a)));
}

/** Seconds until a JWT expires (Infinity for display tokens, which are not JWTs). */
export function secondsLeft(t) {
  const parts = String(t || '').split('.');
  if (parts.length !== 3) return Infinity;
  try {
    const claims = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof claims.exp === 'number' ? claims.exp - Date.now() / 1000 : 0;
  } catch (_) {
    return 0;
  }
}

/** Signs in; resolves to null or to an error message from the server. */
export async function signIn(username, password) {
  let res;
  try {
    res = await fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  } catch (_) {
    return 'offline';
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) return (body.error && body.error.message) || `HTTP ${res.status}`;
  setTokens(body.access_token, body.refresh_token);
  return null;
}

/** Signs out here and on the server. */
export async function signOut() {
  const refresh = stored(REFRESH_KEY);
  const t = access;
  setTokens(null, null);
  try {
    await fetch('/api/v1/auth/logout', {
      method: 'POST',
      headers: Object.assign({ 'Content-Type': 'application/json' }, t ? { Authorization: `Bearer ${t}` } : {}),
      body: JSON.stringify(refresh ? { refresh_token: refresh } : {}),
    });
  } catch (_) {
    /* offline: the tokens are gone here, and expire there */
  }
}

async function refreshOnce() {
  const refresh = stored(REFRESH_KEY);
  if (!refresh) return Boolean(access) && secondsLeft(access) > 0;
  let res;
  try {
    res = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: refresh }),
    });
  } catch (_) {
    return secondsLeft(access) > 0; // offline: keep what we have
  }
  if (res.status === 401) {
    setTokens(null, null);
    return false;
  }
  if (!res.ok) return secondsLeft(access) > 0;
  const body = await res.json();
  setTokens(body.access_token, body.refresh_token);
  return true;
}

/** A token good for the next request: refreshed first when it is about to expire. */
export async function freshToken() {
  if (access && secondsLeft(access) > REFRESH_BEFORE_S) return access;
  if (!refreshing) {
    const job = () => refreshOnce();
    refreshing = (navigator.locks ? navigator.locks.request('ms5-refresh', job) : job()).finally(() => {
      refreshing = null;
    });
  }
  await refreshing;
  access = stored(TOKEN_KEY);
  return access;
}

/** Forces a refresh (after a 401). */
export async function refreshNow() {
  await refreshOnce();
  return access;
}
