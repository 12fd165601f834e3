// Building DOM from data: text is always set as text, never as HTML.

/**
 * `h('button.big', {onclick, type: 'button', dataset: {id: 1}}, 'text', child…)`: an element
 * with classes, attributes, handlers and children (strings become text nodes).
 */
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  Object.entries(attrs || {}).forEach(([k, v]) => {
    if (v === undefined || v === null || v === false) return;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'text') el.textContent = String(v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  });
  children.flat(Infinity).forEach((c) => {
    if (c === null || c === undefined || c === false) return;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  });
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  children.flat(Infinity).forEach((c) => {
    if (c === null || c === undefined || c === false) return;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  });
  return el;
}

/** A titled card. */
export function card(title, ...children) {
  return h('section.card', {}, h('h2', {}, title), ...children);
}

/** A status line for results and errors (announced to screen readers). */
export function statusLine() {
  return h('p.status-line', { role: 'status', 'aria-live': 'polite' });
}

/** Shows `text` in a status line as ok, queued or error. */
export function say(el, text, kind) {
  el.textContent = text;
  el.dataset.kind = kind || 'ok';
}

/** Saves a Blob as a file. */
export function saveBlob(blob, filename) {
  const a = h('a', { href: URL.createObjectURL(blob), download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
