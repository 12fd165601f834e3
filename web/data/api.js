// REST with the session: JSON in and out, one error shape. Views call these functions,
// never `fetch`.

import { freshToken, refreshNow } from './session.js';

/** An API error: `status` (0 when the server could not be reached), `code`, `message`. */
export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** Sends a request; resolves to the parsed body (or text), rejects with an ApiError. */
export async function request(method, path, body, extraHeaders) {
  const send = async (t) => {
    const headers = Object.assign({}, extraHeaders || {});
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (t) headers.Authorization = `Bearer ${t}`;
    return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  let res;
  try {
    res = await send(await freshToken());
    if (res.status === 401) res = await send(await refreshNow());
  } catch (_) {
    throw new ApiError(0, 'offline', 'the server cannot be reached');
  }
  return parse(res);
}

/** Turns a response into its body or an ApiError. */
export async function parse(res) {
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || 'http', e.message || `HTTP ${res.status}`, data);
  }
  return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body === undefined ? {} : body);
export const patch = (path, body) => request('PATCH', path, body);
export const put = (path, body) => request('PUT', path, body);
export const del = (path) => request('DELETE', path);

/** `?a=1&b=2` from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  Object.entries(params).forEach(([k, v]) => {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  });
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A route's answer as a Blob (a CSV), with the session's token. */
export async function fetchBlob(path) {
  const t = await freshToken();
  let res;
  try {
    res = await fetch(path, { headers: t ? { Authorization: `Bearer ${t}` } : {} });
  } catch (_) {
    throw new ApiError(0, 'offline', 'the server cannot be reached');
  }
  if (!res.ok) throw new ApiError(res.status, 'http', `HTTP ${res.status}`);
  return res.blob();
}
