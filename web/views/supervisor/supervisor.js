// The supervisor's desk: every open ticket across their lines with its level and
// countdown (assign to one of the line's people, cancel); the line's jobs (plan, release, start, pause, complete); rejects
// to void; stops to reclassify.

import { get, post } from '../../data/api.js';
import * as live from '../../data/live.js';
import { card, fill, h, say, statusLine } from '../../components/dom.js';
import { countdown } from '../../components/countdown.js';
import { treePicker } from '../../components/pickers.js';
import { duration, num, t, time } from '../../i18n/index.js';
import { productName } from '../operator/operator.js';

const DONE = { acknowledge: 'andon.acknowledged', resolve: 'andon.resolved', cancel: 'andon.cancelled' };

const NEXT = {
  planned: ['release', 'cancel'],
  released: ['start', 'cancel'],
  running: ['pause', 'complete'],
  paused: ['start', 'complete', 'cancel'],
};

export function mount(root, ctx) {
  const line = ctx.line;
  const cleanups = [];
  root.append(h('h1.view-title', {}, t('supervisor.title')));
  const grid = h('div.grid');
  root.append(grid);

  // ---- tickets across lines
  const tStatus = statusLine();
  const tickets = h('table.table.tickets-all');
  grid.append(card(t('supervisor.tickets'), tickets, tStatus));
  cleanups.push(
    live.subscribe('andon', (all) => {
      const open = [...all.values()].filter((tk) => tk.state === 'open' || tk.state === 'acknowledged');
      open.sort((a, b) => (b.level || 0) - (a.level || 0) || Date.parse(a.raised_at) - Date.parse(b.raised_at));
      fill(
        tickets,
        h('thead', {}, h('tr', {}, ['line', 'machine', 'category', 'state', 'level', 'next', 'assignee', ''].map((k) => h('th', { scope: 'col' }, k ? t(`col.${k}`) : '')))),
        h(
          'tbody',
          {},
          open.map((tk) =>
            h(
              'tr.ticket-row',
              { dataset: { ticketId: tk.id, state: tk.state } },
              h('td', {}, tk.line),
              h('td', {}, tk.machine),
              h('td', {}, `${t(`category.${tk.category}`)} · ${tk.description}`),
              h('td', {}, t(`ticket.${tk.state}`)),
              h('td', {}, `L${tk.level || 0}`),
              h('td', {}, countdown(tk.next_escalation)),
              h('td', {}, assignPicker(tk)),
              h(
                'td',
                {},
                tk.state === 'open'
                  ? h('button.action', { type: 'button', dataset: { act: 'acknowledge' }, onclick: () => ticketAct(tk, 'acknowledge') }, t('andon.acknowledge'))
                  : null,
                h('button.action', { type: 'button', dataset: { act: 'resolve' }, onclick: () => ticketAct(tk, 'resolve') }, t('andon.resolve')),
                h('button.action.danger', { type: 'button', dataset: { act: 'cancel' }, onclick: () => ticketAct(tk, 'cancel') }, t('common.cancel_ticket')),
              ),
            ),
          ),
        ),
      );
    }),
  );
  // The people of each line, asked for once per line while the desk is open.
  const people = new Map();
  function peopleOf(lineId) {
    if (!people.has(lineId)) {
      people.set(
        lineId,
        get(`/api/v1/andon/assignees?line=${encodeURIComponent(lineId)}`)
          .then((r) => r.assignees || [])
          .catch((e) => {
            people.delete(lineId);
            say(tStatus, e.message, 'error');
            return [];
          }),
      );
    }
    return people.get(lineId);
  }
  function assignPicker(tk) {
    const current = tk.assignee || '';
    const option = (name) => h('option', { value: name, selected: name === current }, name || t('andon.nobody'));
    const select = h('select.assign', { name: 'assignee', 'aria-label': t('andon.assign_ticket', { id: tk.id }), dataset: { act: 'assign' } }, option(''), current ? option(current) : null);
    peopleOf(tk.line).then((list) => {
      const names = list.map((p) => p.username);
      if (current && !names.includes(current)) names.unshift(current);
      fill(select, option(''), names.map(option));
    });
    select.addEventListener('change', () => assign(tk, select.value || null));
    return select;
  }
  async function assign(tk, assignee) {
    try {
      await post(`/api/v1/andon/tickets/${tk.id}/assign`, { assignee });
      say(tStatus, assignee ? t('andon.assigned', { name: assignee }) : t('andon.unassigned'));
    } catch (e) {
      say(tStatus, e.message, 'error');
    }
  }
  async function ticketAct(tk, action) {
    try {
      await post(`/api/v1/andon/tickets/${tk.id}/${action}`, {});
      say(tStatus, t(DONE[action]));
    } catch (e) {
      say(tStatus, e.message, 'error');
    }
  }

  // ---- jobs
  const jStatus = statusLine();
  const jobs = h('table.table.jobs');
  const product = h('select', { name: 'product', 'aria-label': t('jobs.product'), required: true });
  const target = h('input', { type: 'number', name: 'target', min: 1, required: true, 'aria-label': t('jobs.target'), placeholder: t('jobs.target') });
  const plan = h('form.inline', {}, product, target, h('button.primary', { type: 'submit' }, t('jobs.plan')));
  plan.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await post('/api/v1/jobs', { line, product: product.value, target: Number(target.value) });
      say(jStatus, t('jobs.planned'));
      target.value = '';
      loadJobs();
    } catch (err) {
      say(jStatus, err.message, 'error');
    }
  });
  grid.append(card(t('supervisor.jobs'), plan, jobs, jStatus));
  async function loadJobs() {
    try {
      const [list, products] = await Promise.all([get(`/api/v1/jobs?line=${encodeURIComponent(line)}&limit=20`), get('/api/v1/products')]);
      fill(product, (products.products || []).map((p) => h('option', { value: p.code }, p.name || p.code)));
      fill(
        jobs,
        h('thead', {}, h('tr', {}, ['job', 'product', 'state', 'progress', ''].map((k) => h('th', { scope: 'col' }, k ? t(`col.${k}`) : '')))),
        h(
          'tbody',
          {},
          (list.jobs || []).map((j) =>
            h(
              'tr.job',
              { dataset: { jobId: j.id, state: j.state } },
              h('td', {}, `#${j.id}`),
              h('td', {}, productName(j.product)),
              h('td', {}, t(`jobstate.${j.state}`)),
              h('td', {}, `${num(j.progress && j.progress.good)} / ${num(j.target)}`),
              h(
                'td',
                {},
                (NEXT[j.state] || []).map((a) =>
                  h('button.action', { type: 'button', dataset: { act: a }, onclick: () => jobAct(j, a) }, t(`jobs.${a}`)),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (e) {
      say(jStatus, e.message, 'error');
    }
  }
  async function jobAct(j, a) {
    try {
      await post(`/api/v1/jobs/${j.id}/${a}`, {});
      loadJobs();
    } catch (e) {
      say(jStatus, e.message, 'error');
    }
  }
  loadJobs();

  // ---- rejects to void
  const rStatus = statusLine();
  const rejects = h('ul.rejects');
  grid.append(card(t('supervisor.rejects'), rejects, rStatus));
  async function loadRejects() {
    try {
      const list = await get(`/api/v1/rejects?line=${encodeURIComponent(line)}&include_void=true&limit=20`);
      fill(
        rejects,
        (list.rejects || []).map((r) =>
          h(
            'li.reject',
            { dataset: { rejectId: r.id, state: r.state } },
            `${time(r.at)} · ${r.machine} · ${r.defect} × ${r.quantity} · ${r.logged_by || ''} `,
            r.state === 'logged'
              ? h('button.action', { type: 'button', dataset: { act: 'void' }, onclick: () => voidReject(r) }, t('rejects.void'))
              : h('span.muted', {}, t('rejects.voided')),
          ),
        ),
      );
    } catch (e) {
      say(rStatus, e.message, 'error');
    }
  }
  async function voidReject(r) {
    try {
      await post(`/api/v1/rejects/${r.id}/void`, { reason: t('rejects.void_reason') });
      loadRejects();
    } catch (e) {
      say(rStatus, e.message, 'error');
    }
  }
  loadRejects();

  // ---- stops to reclassify
  const sStatus = statusLine();
  const stops = h('ul.stops');
  const picker = h('div.stop-picker', { hidden: true });
  grid.append(card(t('supervisor.stops'), stops, picker, sStatus));
  async function loadStops() {
    try {
      const [list, reasons] = await Promise.all([get(`/api/v1/downtime?line=${encodeURIComponent(line)}&micro_stop=false&limit=20`), get('/api/v1/downtime/reasons')]);
      fill(
        stops,
        (list.downtime || []).map((s) =>
          h(
            'li.stop',
            { dataset: { stopId: s.id } },
            `${s.machine} · ${time(s.start)} · ${duration(s.duration_s)} · ${s.reason} `,
            h(
              'button.action',
              {
                type: 'button',
                onclick: () => {
                  picker.hidden = false;
                  fill(
                    picker,
                    treePicker('reasons', reasons.tree || {}, reasons.codes || [], async (code) => {
                      picker.hidden = true;
                      try {
                        await post(`/api/v1/downtime/${s.id}/classify`, { reason: code });
                        loadStops();
                      } catch (e) {
                        say(sStatus, e.message, 'error');
                      }
                    }),
                  );
                },
              },
              t('stops.reclassify'),
            ),
          ),
        ),
      );
    } catch (e) {
      say(sStatus, e.message, 'error');
    }
  }
  loadStops();

  return () => cleanups.forEach((fn) => fn());
}
