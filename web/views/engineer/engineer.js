// The engineer's screen: machine health (MTBF, MTTR, the at-risk warning with its
// figures), maintenance orders (create from a ticket or a stop, start, notes, close),
// and PLC source health per endpoint of every source kind (from /metrics).

import { get, post, request } from '../../data/api.js';
import * as live from '../../data/live.js';
import { card, fill, h, say, statusLine } from '../../components/dom.js';
import { dateTime, duration, num, t, time } from '../../i18n/index.js';

const DAY_MS = 86400000;

/** The PLC source series of a Prometheus text (`ms5_plc_*`), one row per kind and endpoint. */
export function plcHealth(text) {
  const by = new Map();
  const row = (kind, ep) => {
    const key = `${kind}/${ep}`;
    if (!by.has(key)) by.set(key, { kind, endpoint: ep, connected: null, reconnects: null, values: null, ratio: null, tag_errors: 0 });
    return by.get(key);
  };
  String(text)
    .split('\n')
    .forEach((l) => {
      const m = /^(ms5_plc_\w+)\{([^}]*)\}\s+(\S+)/.exec(l);
      if (!m) return;
      const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (!labels.endpoint || !labels.kind) return;
      const r = row(labels.kind, labels.endpoint);
      const v = Number(m[3]);
      if (m[1] === 'ms5_plc_connected') r.connected = v === 1;
      else if (m[1] === 'ms5_plc_reconnects_total') r.reconnects = v;
      else if (m[1] === 'ms5_plc_values_total') r.values = v;
      else if (m[1] === 'ms5_plc_success_ratio') r.ratio = v;
      else if (m[1] === 'ms5_plc_tag_error' && v === 1) r.tag_errors += 1;
    });
  return [...by.values()];
}

export function mount(root, ctx) {
  const line = ctx.line;
  const cleanups = [];
  root.append(h('h1.view-title', {}, t('engineer.title')));
  const grid = h('div.grid');
  root.append(grid);

  // ---- machine health
  const hStatus = statusLine();
  const health = h('table.table.health');
  grid.append(card(t('engineer.health'), health, hStatus));
  (async () => {
    const to = new Date(Date.now()).toISOString();
    const from = new Date(Date.now() - 7 * DAY_MS).toISOString();
    try {
      const a = await get(`/api/v1/analytics/machines?line=${encodeURIComponent(line)}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
      fill(
        health,
        h('thead', {}, h('tr', {}, ['machine', 'failures', 'mtbf', 'mttr', 'risk'].map((k) => h('th', { scope: 'col' }, t(`col.${k}`))))),
        h(
          'tbody',
          {},
          (a.machines || []).map((m) => {
            const w = m.trend_warning || {};
            return h(
              'tr',
              { dataset: { machine: m.machine, atRisk: String(Boolean(w.at_risk)) } },
              h('td', {}, m.name || m.machine),
              h('td', {}, num(m.failures)),
              h('td', {}, duration(m.mtbf_s)),
              h('td', {}, duration(m.mttr_s)),
              h(
                'td.risk',
                {},
                w.at_risk
                  ? t('engineer.at_risk', { ratio: num(w.ratio, 2), threshold: num(w.threshold, 2), recent: w.recent_failures, baseline: duration(w.baseline_mtbf_s), ew: duration(w.ew_mtbf_s) })
                  : t('engineer.ok'),
              ),
            );
          }),
        ),
      );
    } catch (e) {
      say(hStatus, e.message, 'error');
    }
  })();

  // ---- maintenance orders
  const oStatus = statusLine();
  const orders = h('ul.orders');
  const fromTicket = h('select', { 'aria-label': t('engineer.from_ticket') });
  const problem = h('input', { type: 'text', maxlength: 500, placeholder: t('engineer.problem'), 'aria-label': t('engineer.problem') });
  const create = h('form.inline', {}, fromTicket, problem, h('button.primary', { type: 'submit' }, t('engineer.create')));
  grid.append(card(t('engineer.orders'), create, orders, oStatus));
  cleanups.push(
    live.subscribe(`andon:${line}`, (tickets) => {
      const open = [...tickets.values()].filter((tk) => tk.state === 'open' || tk.state === 'acknowledged');
      const keep = fromTicket.value;
      fill(
        fromTicket,
        h('option', { value: '' }, t('engineer.no_ticket')),
        open.map((tk) => h('option', { value: tk.id, selected: String(tk.id) === keep }, `#${tk.id} ${tk.machine} · ${tk.description}`)),
      );
    }),
  );
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { problem: problem.value.trim() || t('engineer.default_problem'), priority: 'high' };
    if (fromTicket.value) body.ticket_id = Number(fromTicket.value);
    else body.machine = ((ctx.lines.find((l) => l.id === line) || {}).machines || [{}])[0].id;
    try {
      await post('/api/v1/maintenance/orders', body);
      problem.value = '';
      say(oStatus, t('engineer.created'));
      loadOrders();
    } catch (err) {
      say(oStatus, err.message, 'error');
    }
  });
  async function loadOrders() {
    try {
      const list = await get(`/api/v1/maintenance/orders?line=${encodeURIComponent(line)}&limit=20`);
      fill(
        orders,
        (list.orders || []).map((o) => {
          const note = h('input', { type: 'text', maxlength: 2000, placeholder: t('engineer.note'), 'aria-label': t('engineer.note') });
          return h(
            'li.order',
            { dataset: { orderId: o.id, state: o.state } },
            h('span.order-head', {}, `#${o.id} · ${o.machine} · ${o.problem} · ${t(`orderstate.${o.state}`)} · ${dateTime(o.created_at)}`),
            o.state === 'open' ? h('button.action', { type: 'button', dataset: { act: 'start' }, onclick: () => orderAct(o, 'start') }, t('engineer.start')) : null,
            o.state === 'open' || o.state === 'in_progress'
              ? [
                  note,
                  h('button.action', { type: 'button', dataset: { act: 'note' }, onclick: () => addNote(o, note.value) }, t('engineer.add_note')),
                  h('button.action', { type: 'button', dataset: { act: 'complete' }, onclick: () => orderAct(o, 'complete', note.value) }, t('engineer.close')),
                ]
              : null,
          );
        }),
      );
    } catch (e) {
      say(oStatus, e.message, 'error');
    }
  }
  async function addNote(o, text) {
    if (!text.trim()) return;
    try {
      await post(`/api/v1/maintenance/orders/${o.id}/notes`, { note: text.trim() });
      say(oStatus, t('engineer.noted'));
      loadOrders();
    } catch (e) {
      say(oStatus, e.message, 'error');
    }
  }
  async function orderAct(o, action, comment) {
    try {
      await post(`/api/v1/maintenance/orders/${o.id}/${action}`, comment && comment.trim() ? { comment: comment.trim() } : {});
      loadOrders();
    } catch (e) {
      say(oStatus, e.message, 'error');
    }
  }
  loadOrders();

  // ---- PLC sources: each machine's last data (live), then each endpoint of every source
  const sStatus = statusLine();
  const lastData = h('table.table.last-data');
  const sources = h('table.table.sources');
  grid.append(card(t('engineer.sources'), lastData, sources, sStatus));
  cleanups.push(
    live.subscribe(
      'production_updates',
      (lines) => {
        const l = lines.get(String(line));
        if (!l) return;
        const order = l.machine_order || Object.keys(l.machines || {});
        fill(
          lastData,
          h('thead', {}, h('tr', {}, ['machine', 'state', 'last_data'].map((k) => h('th', { scope: 'col' }, t(`col.${k}`))))),
          h(
            'tbody',
            {},
            order.map((id) => {
              const m = (l.machines || {})[id] || {};
              return h(
                'tr',
                { dataset: { machine: id, state: m.state || 'unknown' } },
                h('td', {}, m.name || id),
                h('td', {}, `${t(`state.${m.state || 'unknown'}`)}${m.reason === 'comms_lost' ? ` · ${t('engineer.comms_lost')}` : ''}`),
                h('td.last-data-at', {}, m.updated_at ? time(m.updated_at) : '—'),
              );
            }),
          ),
        );
      },
      ['shift'],
    ),
  );
  (async () => {
    try {
      const text = await request('GET', '/metrics');
      const rows = plcHealth(text);
      fill(
        sources,
        rows.length ? null : h('caption', {}, t('engineer.no_sources')),
        h('thead', {}, h('tr', {}, ['endpoint', 'connected', 'values', 'ratio', 'reconnects', 'tag_errors'].map((k) => h('th', { scope: 'col' }, t(`col.${k}`))))),
        h(
          'tbody',
          {},
          rows.map((r) =>
            h(
              'tr',
              { dataset: { endpoint: r.endpoint, connected: String(r.connected) } },
              h('td', {}, `${r.endpoint} (${r.kind})`),
              h('td', {}, r.connected ? t('engineer.yes') : t('engineer.no')),
              h('td', {}, num(r.values)),
              h('td', {}, r.ratio === null ? '—' : `${(r.ratio * 100).toFixed(1)}%`),
              h('td', {}, num(r.reconnects)),
              h('td', {}, num(r.tag_errors)),
            ),
          ),
        ),
      );
      say(sStatus, t('engineer.as_of', { at: time(new Date().toISOString()) }));
    } catch (e) {
      say(sStatus, e.message, 'error');
    }
  })();

  return () => cleanups.forEach((fn) => fn());
}
