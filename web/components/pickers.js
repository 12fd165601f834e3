// Shared touch controls: a row of big choice buttons, a quantity stepper, and a
// two-level tree picker (reasons, defects) with recent choices first.

import { fill, h } from './dom.js';
import { t } from '../i18n/index.js';

/** Big buttons, one per `[value, label]`; `onpick(value)` on a press. */
export function choices(items, onpick, cls) {
  return h(
    `div.choices${cls ? `.${cls}` : ''}`,
    { role: 'group' },
    items.map(([value, label]) =>
      h('button.choice', { type: 'button', dataset: { value }, onclick: () => onpick(value) }, label),
    ),
  );
}

/** A − n + stepper; `get()` reads the value. */
export function stepper(initial, min, max) {
  let value = initial;
  const out = h('output.stepper-value', { 'aria-live': 'polite' }, String(value));
  const set = (v) => {
    value = Math.max(min, Math.min(max, v));
    out.textContent = String(value);
  };
  const el = h(
    'div.stepper',
    { role: 'group', 'aria-label': t('rejects.quantity') },
    h('button.step', { type: 'button', 'aria-label': t('stepper.less'), onclick: () => set(value - 1) }, '−'),
    out,
    h('button.step', { type: 'button', 'aria-label': t('stepper.more'), onclick: () => set(value + 1) }, '+'),
  );
  return { el, get: () => value, set };
}

const RECENT_KEY = 'ms5.recent.';

/** Recently picked codes of a tree (kept in this browser; not secret). */
export function recent(kind) {
  try {
    return JSON.parse(localStorage.getItem(RECENT_KEY + kind) || '[]');
  } catch (_) {
    return [];
  }
}

/** Remembers a picked code first. */
export function remember(kind, code) {
  const list = [code, ...recent(kind).filter((c) => c !== code)].slice(0, 6);
  try {
    localStorage.setItem(RECENT_KEY + kind, JSON.stringify(list));
  } catch (_) {
    /* no storage */
  }
}

/**
 * A tree picker over `tree` ({group: [leaf…]}): recent codes first, then groups, then a
 * group's leaves. `onpick(code)` with `group` or `group/leaf`.
 */
export function treePicker(kind, tree, codes, onpick) {
  const root = h('div.tree', { dataset: { kind } });
  const label = (code) => code.replace('/', ' › ').replace(/_/g, ' ');
  const pick = (code) => {
    remember(kind, code);
    onpick(code);
  };
  const top = () => {
    const rec = recent(kind).filter((c) => codes.includes(c));
    fill(
      root,
      rec.length ? h('p.tree-caption', {}, t('tree.recent')) : null,
      rec.length ? choices(rec.map((c) => [c, label(c)]), pick, 'recent') : null,
      h('p.tree-caption', {}, t('tree.all')),
      choices(
        Object.keys(tree).map((g) => [g, label(g)]),
        (g) => ((tree[g] || []).length ? leaves(g) : pick(g)),
      ),
    );
  };
  const leaves = (g) => {
    fill(
      root,
      h('p.tree-caption', {}, label(g)),
      choices(
        tree[g].map((leaf) => [`${g}/${leaf}`, label(leaf)]),
        pick,
      ),
      h('button.secondary', { type: 'button', onclick: top }, t('tree.back')),
    );
  };
  top();
  return root;
}
