// Hand-drawn SVG charts: a trend of OEE and A/P/Q over time, and a Pareto of downtime
// reasons (bars by minutes, the cumulative share as a line). No library, no inline style.

const NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, ...children) {
  const e = document.createElementNS(NS, tag);
  Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, String(v)));
  children.forEach((c) => e.append(c instanceof Node ? c : document.createTextNode(String(c))));
  return e;
}

/**
 * A trend chart: `series` is [{key, label, values: [number|null…]}] over `labels`
 * (x axis, plant-local times); values are fractions 0-1.
 */
export function trend(labels, series, title) {
  const W = 640;
  const H = 240;
  const L = 40;
  const B = 28;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart trend', role: 'img', 'aria-label': title });
  svg.append(el('title', {}, title));
  [0, 0.25, 0.5, 0.75, 1].forEach((y) => {
    const py = (H - B) - y * (H - B - 10);
    svg.append(el('line', { x1: L, x2: W - 6, y1: py, y2: py, class: 'gridline' }));
    svg.append(el('text', { x: L - 6, y: py + 4, class: 'axis', 'text-anchor': 'end' }, `${Math.round(y * 100)}%`));
  });
  const n = Math.max(1, labels.length - 1);
  const x = (i) => L + (i / n) * (W - L - 10);
  labels.forEach((lab, i) => {
    if (labels.length > 12 && i % Math.ceil(labels.length / 8) !== 0) return;
    svg.append(el('text', { x: x(i), y: H - 8, class: 'axis', 'text-anchor': 'middle' }, lab));
  });
  series.forEach((s) => {
    let d = '';
    s.values.forEach((v, i) => {
      if (typeof v !== 'number') return;
      const py = (H - B) - Math.max(0, Math.min(1, v)) * (H - B - 10);
      d += `${d && s.values[i - 1] !== null && typeof s.values[i - 1] === 'number' ? 'L' : 'M'}${x(i).toFixed(1)},${py.toFixed(1)}`;
    });
    if (d) svg.append(el('path', { d, class: `series ${s.key}` }, el('title', {}, s.label)));
  });
  return svg;
}

/** A Pareto chart of `reasons` [{reason, minutes, cumulative_share}]. */
export function pareto(reasons, title) {
  const W = 640;
  const H = 260;
  const L = 40;
  const B = 70;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart pareto', role: 'img', 'aria-label': title });
  svg.append(el('title', {}, title));
  const max = Math.max(1, ...reasons.map((r) => r.minutes || 0));
  const bw = (W - L - 10) / Math.max(1, reasons.length);
  let line = '';
  reasons.forEach((r, i) => {
    const bh = ((r.minutes || 0) / max) * (H - B - 10);
    const bx = L + i * bw + 4;
    svg.append(
      el('rect', { x: bx, y: H - B - bh, width: Math.max(2, bw - 8), height: bh, class: 'bar', 'data-reason': r.reason }, el('title', {}, `${r.reason}: ${r.minutes} min`)),
    );
    svg.append(
      el('text', { x: bx + bw / 2 - 4, y: H - B + 14, class: 'axis', 'text-anchor': 'end', transform: `rotate(-35 ${bx + bw / 2 - 4} ${H - B + 14})` }, r.reason),
    );
    const cy = (H - B) - (r.cumulative_share || 0) * (H - B - 10);
    line += `${i ? 'L' : 'M'}${(bx + bw / 2 - 4).toFixed(1)},${cy.toFixed(1)}`;
  });
  if (line) svg.append(el('path', { d: line, class: 'series cumulative' }));
  svg.append(el('text', { x: L - 6, y: 14, class: 'axis', 'text-anchor': 'end' }, `${Math.round(max)}′`));
  return svg;
}
