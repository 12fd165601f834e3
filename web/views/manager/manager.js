// Reports for managers: a line's shift, day or week report with OEE and A/P/Q, a trend
// chart, the downtime Pareto, top losses, drill-down from the line to a machine to its
// stops; CSV download and a print view (the browser's print of this page).

import { fetchBlob, get, query } from '../../data/api.js';
import { card, fill, h, saveBlob, say, statusLine } from '../../components/dom.js';
import { pareto, trend } from '../../components/charts.js';
import { duration, num, pct, plantDate, t, time } from '../../i18n/index.js';

const FIGURES = ['oee', 'availability', 'performance', 'quality'];

function isoWeek(dateStr) {
  const d = new Date(`${dateStr}T12:00:00Z`);
  const day = (d.getUTCDay() + 6) % 7;
  d.setUTCDate(d.getUTCDate() - day + 3);
  const first = new Date(Date.UTC(d.getUTCFullYear(), 0, 4));
  const week = 1 + Math.round(((d - first) / 86400000 - 3 + ((first.getUTCDay() + 6) % 7)) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export function mount(root, ctx) {
  const line = ctx.line;
  root.append(h('h1.view-title', {}, t('manager.title')));
  const status = statusLine();
  const kind = h('select', { name: 'kind', 'aria-label': t('manager.kind') }, ['shift', 'day', 'week'].map((k) => h('option', { value: k }, t(`manager.${k}`))));
  const date = h('input', { type: 'date', name: 'date', value: plantDate(), 'aria-label': t('manager.date') });
  const shift = h('input', { type: 'text', name: 'shift', 'aria-label': t('manager.shift'), placeholder: t('manager.shift'), size: 8 });
  const form = h('form.inline.no-print', {}, kind, date, shift, h('button.primary', { type: 'submit' }, t('manager.show')));
  const csv = h('button.secondary', { type: 'button', dataset: { act: 'csv' } }, t('manager.csv'));
  const print = h('button.secondary', { type: 'button', onclick: () => window.print() }, t('manager.print'));
  const out = h('div.report');
  root.append(form, h('div.inline.no-print', {}, csv, print), status, out);

  // The current shift's name as the default.
  get(`/api/v1/lines/${encodeURIComponent(line)}/checklists/current`)
    .then((c) => {
      if (c.shift && c.shift.name && !shift.value) shift.value = c.shift.name;
    })
    .catch(() => {});

  const params = () => {
    const k = kind.value;
    if (k === 'week') return { k, q: { line, week: isoWeek(date.value) } };
    if (k === 'day') return { k, q: { line, date: date.value } };
    return { k, q: { line, date: date.value, shift: shift.value } };
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
  kind.addEventListener('change', () => {
    shift.hidden = kind.value !== 'shift';
  });
  csv.addEventListener('click', async () => {
    const { k, q } = params();
    try {
      const blob = await fetchBlob(`/api/v1/reports/${k}${query(Object.assign({}, q, { format: 'csv' }))}`);
      saveBlob(blob, `ms5-${k}-${line}-${q.week || q.date}${q.shift ? `-${q.shift}` : ''}.csv`);
    } catch (e) {
      say(status, e.message, 'error');
    }
  });

  async function load() {
    const { k, q } = params();
    say(status, '');
    let report;
    try {
      report = await get(`/api/v1/reports/${k}${query(q)}`);
    } catch (e) {
      say(status, e.message, 'error');
      fill(out);
      return;
    }
    const r = (report.lines || [])[0];
    if (!r) {
      fill(out, h('p.muted', {}, t('manager.empty')));
      return;
    }
    const o = r.oee || {};
    const dt = r.downtime || {};
    const reasons = dt.reasons || [];
    const figures = h(
      'dl.figures',
      {},
      FIGURES.map((f) => [h('dt', {}, t(`oee.${f}`)), h('dd', { dataset: { figure: f } }, pct(o[f]))]),
      ['good', 'reject', 'total'].map((f) => [h('dt', {}, t(`manager.${f}`)), h('dd', { dataset: { figure: f } }, num(o[f]))]),
    );
    const machines = h(
      'table.table.machines-table',
      {},
      h('thead', {}, h('tr', {}, [t('col.machine'), ...FIGURES.map((f) => t(`oee.${f}`)), t('manager.good')].map((x) => h('th', { scope: 'col' }, x)))),
      h(
        'tbody',
        {},
        (r.machines || []).map((m) =>
          h(
            'tr.drill',
            { dataset: { machine: m.id }, tabindex: 0, onclick: () => drill(m), onkeydown: (e) => (e.key === 'Enter' ? drill(m) : null) },
            h('td', {}, m.name || m.id),
            FIGURES.map((f) => h('td', {}, pct((m.oee || {})[f]))),
            h('td', {}, num((m.oee || {}).good)),
          ),
        ),
      ),
    );
    const drillOut = h('div.drill-out');
    async function drill(m) {
      try {
        const p = report.period || {};
        const list = await get(`/api/v1/downtime${query({ machine: m.id, from: p.from, to: p.to, limit: 100 })}`);
        fill(
          drillOut,
          h('h3', {}, t('manager.stops_of', { machine: m.name || m.id })),
          h(
            'ul.stops',
            {},
            (list.downtime || []).map((s) => h('li.stop', { dataset: { stopId: s.id } }, `${time(s.start)} · ${duration(s.duration_s)} · ${s.reason}`)),
          ),
        );
      } catch (e) {
        say(status, e.message, 'error');
      }
    }
    const top = reasons.slice(0, 3);
    fill(
      out,
      h('h2', {}, `${r.name || r.id} · ${(report.period || {}).label || ''}`),
      card(t('manager.figures'), figures),
      card(t('manager.pareto'), pareto(reasons, t('manager.pareto'))),
      card(
        t('manager.top_losses'),
        h('ol.top-losses', {}, top.map((x) => h('li', { dataset: { reason: x.reason } }, `${x.reason}: ${num(x.minutes, 1)} min (${pct(x.share)})`))),
      ),
      card(t('manager.trend'), h('div.trend-box')),
      card(t('manager.machines'), machines, drillOut),
    );
    loadTrend(report.period || {}, out.querySelector('.trend-box'));
  }

  async function loadTrend(period, box) {
    if (!period.from || !period.to) return;
    try {
      const s = await get(`/api/v1/lines/${encodeURIComponent(line)}/oee/series${query({ from: period.from, to: period.to, bucket: '1h' })}`);
      const points = s.points || [];
      const labels = points.map((p) => time(p.from));
      const series = FIGURES.map((f) => ({
        key: f,
        label: t(`oee.${f}`),
        values: points.map((p) => (p.oee && typeof p.oee[f] === 'number' ? p.oee[f] : null)),
      }));
      fill(box, trend(labels, series, t('manager.trend')), h('p.legend', {}, FIGURES.map((f) => h(`span.key.${f}`, {}, t(`oee.${f}`)))));
    } catch (e) {
      fill(box, h('p.muted', {}, e.message));
    }
  }

  return () => {};
}
