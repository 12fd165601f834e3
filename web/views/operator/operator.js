// The operator station: the line's state, job and shift OEE; Andon (raise in three
// touches, acknowledge, resolve); stops to classify (and split); rejects; the shift-start
// checklist and handover notes. Writes go through the outbox, so they survive a lost
// connection.

import { get } from '../../data/api.js';
import * as live from '../../data/live.js';
import * as outbox from '../../data/outbox.js';
import { card, fill, h, say, statusLine } from '../../components/dom.js';
import { countdown, since } from '../../components/countdown.js';
import { choices, stepper, treePicker } from '../../components/pickers.js';
import { askPermission } from '../../components/alerts.js';
import { duration, num, pct, t, time } from '../../i18n/index.js';

/** A job's product as text (an object {code, name}, or a code). */
export function productName(p) {
  if (!p) return '';
  return typeof p === 'object' ? p.name || p.code || '' : String(p);
}

const DONE = { acknowledge: 'andon.acknowledged', resolve: 'andon.resolved' };

const CATEGORIES = ['maintenance', 'quality', 'material', 'safety', 'other'];
const PRIORITIES = ['low', 'medium', 'high', 'critical'];

/** Clears a status line that shows an error (a confirmation stays). */
function clearError(el) {
  if (el.dataset.kind === 'error') say(el, '', 'ok');
}

/** Sends an operator action through the outbox and reports the outcome in `line`. */
async function act(status, action, okText) {
  try {
    const r = await outbox.send(action);
    if (r.queued) say(status, t('outbox.queued'), 'queued');
    else say(status, okText, 'ok');
    return r;
  } catch (e) {
    say(status, e.message, 'error');
    return null;
  }
}

export function mount(root, ctx) {
  const line = ctx.line;
  const model = ctx.lines.find((l) => l.id === line) || { machines: [] };
  const machines = (model.machines || []).map((m) => ({ id: m.id, name: m.name || m.id }));
  const cleanups = [];
  root.append(h('h1.view-title', {}, t('operator.title', { line: model.name || line || '' })));
  const grid = h('div.grid.operator');
  root.append(grid);

  // ---- state, job, OEE
  const stateBody = h('div.state-body');
  const jobBody = h('div.job-body', {}, h('p.muted', {}, t('job.none')));
  const oeeBody = h('div.oee-body');
  grid.append(card(t('operator.state'), stateBody), card(t('operator.job'), jobBody), card(t('operator.oee'), oeeBody));

  cleanups.push(
    live.subscribe(
      'production_updates',
      (lines) => {
        const l = lines.get(String(line));
        if (!l) return;
        const order = l.machine_order || Object.keys(l.machines || {});
        fill(
          stateBody,
          h('p.line-state', { dataset: { state: l.state || 'unknown' } }, t(`state.${l.state || 'unknown'}`)),
          h(
            'ul.machines',
            {},
            order.map((id) => {
              const m = (l.machines || {})[id] || {};
              return h(
                'li.machine',
                { dataset: { state: m.state || 'unknown', machine: id } },
                h('span.machine-name', {}, m.name || id),
                h('span.machine-state', {}, t(`state.${m.state || 'unknown'}`)),
                m.reason ? h('span.machine-reason', {}, m.reason) : null,
                h('span.machine-since', { title: t('operator.in_state') }, since(m.state_since)),
              );
            }),
          ),
        );
        const w = (l.windows && l.windows.shift) || {};
        fill(
          oeeBody,
          h('p.big-figure', { dataset: { figure: 'oee' } }, pct(w.oee)),
          h(
            'dl.apq',
            {},
            ['availability', 'performance', 'quality'].map((k) => [
              h('dt', {}, t(`oee.${k}`)),
              h('dd', { dataset: { figure: k } }, pct(w[k])),
            ]),
          ),
        );
      },
      ['shift'],
    ),
  );

  cleanups.push(
    live.subscribe(`jobs:${line}`, (jobs) => {
      const running = [...jobs.values()].find((j) => j.state === 'running') || [...jobs.values()].find((j) => j.state === 'paused');
      if (!running) {
        fill(jobBody, h('p.muted', {}, t('job.none')));
        return;
      }
      const p = running.progress || {};
      fill(
        jobBody,
        h('p.job-name', { dataset: { job: running.id } }, `${productName(running.product)} · ${t(`jobstate.${running.state}`)}`),
        h('p.big-figure', { dataset: { figure: 'job-progress' } }, `${num(p.good)} / ${num(p.target || running.target)}`),
        h('progress', { max: 1, value: typeof p.fraction === 'number' ? Math.min(1, p.fraction) : 0 }),
        h('p', {}, `${t('job.eta')}: `, h('span', { dataset: { figure: 'eta' } }, p.eta ? time(p.eta) : '—')),
      );
    }),
  );

  // ---- Andon
  const andonStatus = statusLine();
  const raisePanel = h('div.raise-panel', { hidden: true });
  const ticketList = h('ul.tickets');
  const raiseButton = h('button.primary.andon-raise', { type: 'button', onclick: () => openRaise() }, t('andon.raise'));
  grid.append(card(t('andon.title'), raiseButton, raisePanel, andonStatus, ticketList));

  let priority = 'high';
  const description = h('input.description', { type: 'text', maxlength: 500, placeholder: t('andon.description'), 'aria-label': t('andon.description') });
  function openRaise() {
    askPermission();
    raisePanel.hidden = false;
    const prio = choices(PRIORITIES.map((p) => [p, t(`priority.${p}`)]), (p) => {
      priority = p;
      [...prio.children].forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.value === p)));
    }, 'priority');
    [...prio.children].forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.value === priority)));
    fill(
      raisePanel,
      h('p.tree-caption', {}, t('andon.which_machine')),
      choices(machines.map((m) => [m.id, m.name]), (id) => pickCategory(id, prio), 'machines'),
      h('details.more', {}, h('summary', {}, t('andon.more')), prio, description),
      h('button.secondary', { type: 'button', onclick: () => (raisePanel.hidden = true) }, t('common.cancel')),
    );
  }
  function pickCategory(machine, prio) {
    fill(
      raisePanel,
      h('p.tree-caption', {}, t('andon.which_category', { machine: (machines.find((m) => m.id === machine) || {}).name || machine })),
      choices(CATEGORIES.map((c) => [c, t(`category.${c}`)]), (c) => raise(machine, c), 'categories'),
      h('details.more', {}, h('summary', {}, t('andon.more')), prio, description),
      h('button.secondary', { type: 'button', onclick: () => (raisePanel.hidden = true) }, t('common.cancel')),
    );
  }
  async function raise(machine, category) {
    raisePanel.hidden = true;
    const text = description.value.trim() || t(`category.${category}`);
    description.value = '';
    await act(
      andonStatus,
      {
        method: 'POST',
        path: '/api/v1/andon/tickets',
        body: { line, machine, category, priority, description: text },
        label: t('outbox.raise', { machine }),
      },
      t('andon.raised'),
    );
  }

  cleanups.push(
    live.subscribe(`andon:${line}`, (tickets) => {
      const open = [...tickets.values()].filter((tk) => tk.state === 'open' || tk.state === 'acknowledged');
      // The signed-in person's own tickets first, then oldest first.
      open.sort((a, b) => Number(mine(b)) - Number(mine(a)) || Date.parse(a.raised_at) - Date.parse(b.raised_at));
      fill(
        ticketList,
        open.length ? null : h('li.muted', {}, t('andon.none')),
        open.map((tk) =>
          h(
            'li.ticket',
            { dataset: { ticketId: tk.id, state: tk.state, priority: tk.priority, mine: String(mine(tk)) } },
            h('span.ticket-head', {}, `${t(`category.${tk.category}`)} · ${tk.machine} · ${t(`priority.${tk.priority}`)}`),
            mine(tk)
              ? h('span.ticket-assignee.mine', {}, t('andon.assigned_to_you'))
              : tk.assignee
                ? h('span.ticket-assignee', {}, t('andon.assigned_to', { name: tk.assignee }))
                : null,
            h('span.ticket-desc', {}, tk.description),
            h('span.ticket-state', {}, `${t(`ticket.${tk.state}`)} · L${tk.level || 0}`),
            h('span.ticket-countdown', { title: t('andon.next_escalation') }, countdown(tk.next_escalation)),
            tk.state === 'open'
              ? h('button.action', { type: 'button', dataset: { act: 'acknowledge' }, onclick: () => move(tk, 'acknowledge') }, t('andon.acknowledge'))
              : null,
            h('button.action', { type: 'button', dataset: { act: 'resolve' }, onclick: () => move(tk, 'resolve') }, t('andon.resolve')),
          ),
        ),
      );
    }),
  );
  function mine(tk) {
    return Boolean(tk.assignee) && Boolean(ctx.me) && tk.assignee === ctx.me.name;
  }
  function move(tk, action) {
    return act(
      andonStatus,
      { method: 'POST', path: `/api/v1/andon/tickets/${tk.id}/${action}`, body: {}, label: t(`outbox.${action}`, { id: tk.id }) },
      t(DONE[action]),
    );
  }

  // ---- stops
  const stopStatus = statusLine();
  const stopList = h('ul.stops');
  const stopPicker = h('div.stop-picker', { hidden: true });
  grid.append(card(t('stops.title'), stopList, stopPicker, stopStatus));
  let reasons = null;
  async function loadStops() {
    try {
      const [list, tree] = await Promise.all([
        get(`/api/v1/downtime?line=${encodeURIComponent(line)}&micro_stop=false&limit=10`),
        reasons ? Promise.resolve(reasons) : get('/api/v1/downtime/reasons'),
      ]);
      reasons = tree;
      clearError(stopStatus);
      const stops = list.downtime || [];
      fill(
        stopList,
        stops.length ? null : h('li.muted', {}, t('stops.none')),
        stops.map((s) =>
          h(
            'li.stop',
            { dataset: { stopId: s.id, reason: s.reason } },
            h('span.stop-head', {}, `${s.machine} · ${time(s.start)}–${s.end ? time(s.end) : '…'} · ${duration(s.duration_s)}`),
            h('span.stop-reason', { dataset: { unclassified: String(s.reason === 'unclassified') } }, s.reason),
            h('button.action', { type: 'button', dataset: { act: 'classify' }, onclick: () => classify(s) }, t('stops.classify')),
            s.end && s.duration_s >= 120
              ? h('button.action', { type: 'button', dataset: { act: 'split' }, onclick: () => splitStop(s) }, t('stops.split'))
              : null,
          ),
        ),
      );
    } catch (e) {
      say(stopStatus, e.status === 0 ? t('common.offline') : e.message, 'error');
    }
  }
  function classify(stop) {
    stopPicker.hidden = false;
    fill(
      stopPicker,
      h('p.tree-caption', {}, t('stops.why', { machine: stop.machine, at: time(stop.start) })),
      treePicker('reasons', reasons.tree || {}, reasons.codes || [], async (code) => {
        stopPicker.hidden = true;
        await act(
          stopStatus,
          { method: 'POST', path: `/api/v1/downtime/${stop.id}/classify`, body: { reason: code }, label: t('outbox.classify', { id: stop.id }) },
          t('stops.classified', { reason: code }),
        );
        loadStops();
      }),
      h('button.secondary', { type: 'button', onclick: () => (stopPicker.hidden = true) }, t('common.cancel')),
    );
  }
  // Split: where the second cause began (minute steps inside the stop), then its reason.
  function splitStop(stop) {
    const from = Date.parse(stop.start);
    const to = Date.parse(stop.end);
    const MINUTE = 60000;
    let at = from + Math.max(MINUTE, Math.round((to - from) / 2 / MINUTE) * MINUTE);
    const shown = h('output.stepper-value.split-at', { 'aria-live': 'polite' });
    const paint = () => {
      shown.textContent = time(new Date(at).toISOString());
    };
    const move = (d) => {
      const next = at + d * MINUTE;
      if (next > from && next < to) at = next;
      paint();
    };
    paint();
    stopPicker.hidden = false;
    fill(
      stopPicker,
      h('p.tree-caption', {}, t('stops.split_at', { machine: stop.machine })),
      h(
        'div.stepper',
        { role: 'group', 'aria-label': t('stops.split_at', { machine: stop.machine }) },
        h('button.step', { type: 'button', 'aria-label': t('stepper.earlier'), onclick: () => move(-1) }, '−'),
        shown,
        h('button.step', { type: 'button', 'aria-label': t('stepper.later'), onclick: () => move(1) }, '+'),
      ),
      h('p.tree-caption', {}, t('stops.second_cause')),
      treePicker('reasons', reasons.tree || {}, reasons.codes || [], async (code) => {
        stopPicker.hidden = true;
        await act(
          stopStatus,
          {
            method: 'POST',
            path: `/api/v1/downtime/${stop.id}/split`,
            body: { at: new Date(at).toISOString(), reason: code },
            label: t('outbox.split', { id: stop.id }),
          },
          t('stops.split_done', { at: time(new Date(at).toISOString()), reason: code }),
        );
        loadStops();
      }),
      h('button.secondary', { type: 'button', onclick: () => (stopPicker.hidden = true) }, t('common.cancel')),
    );
  }
  loadStops();

  // ---- rejects
  const rejectStatus = statusLine();
  const rejectBody = h('div.reject-body');
  grid.append(card(t('rejects.title'), rejectBody, rejectStatus));
  async function loadRejects() {
    let defects;
    try {
      defects = await get(`/api/v1/lines/${encodeURIComponent(line)}/defects`);
      clearError(rejectStatus);
    } catch (e) {
      say(rejectStatus, e.status === 0 ? t('common.offline') : e.message, 'error');
      return;
    }
    let machine = machines.length ? machines[machines.length - 1].id : null;
    const qty = stepper(1, 1, 9999);
    const machinePick = choices(machines.map((m) => [m.id, m.name]), (id) => {
      machine = id;
      [...machinePick.children].forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.value === id)));
    }, 'machines');
    [...machinePick.children].forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.value === machine)));
    const tree = treePicker('defects', defects.tree || {}, defects.codes || [], async (code) => {
      await act(
        rejectStatus,
        {
          method: 'POST',
          path: '/api/v1/rejects',
          body: { machine, defect: code, quantity: qty.get() },
          label: t('outbox.reject', { n: qty.get(), defect: code }),
        },
        t('rejects.logged', { n: qty.get(), defect: code }),
      );
      qty.set(1);
    });
    fill(rejectBody, h('p.tree-caption', {}, t('rejects.machine')), machinePick, h('p.tree-caption', {}, t('rejects.quantity')), qty.el, h('p.tree-caption', {}, t('rejects.defect')), tree);
  }
  loadRejects();

  // ---- checklist and handover
  const checkStatus = statusLine();
  const checkBody = h('div.check-body');
  grid.append(card(t('checklist.title'), checkBody, checkStatus));
  async function loadChecklist() {
    let cur;
    try {
      cur = await get(`/api/v1/lines/${encodeURIComponent(line)}/checklists/current`);
      clearError(checkStatus);
    } catch (e) {
      say(checkStatus, e.status === 0 ? t('common.offline') : e.message, 'error');
      return;
    }
    // The current shift names each template's status; its items come with the template.
    const templates = await Promise.all(
      (cur.templates || []).map((tpl) =>
        get(`/api/v1/checklist-templates/${tpl.id}`)
          .then((full) => Object.assign({}, full, { status: tpl.status }))
          .catch(() => tpl),
      ),
    );
    fill(
      checkBody,
      templates.length ? null : h('p.muted', {}, t('checklist.none')),
      templates.map((tpl) => checklistForm(tpl)),
    );
  }
  function checklistForm(tpl) {
    const done = tpl.status === 'passed';
    const form = h('form.checklist', { dataset: { template: tpl.id, status: tpl.status || '' } });
    const inputs = (tpl.items || []).map((item) => {
      const id = `ck-${tpl.id}-${item.key}`;
      let input;
      if (item.kind === 'yes_no') {
        input = h('input', { type: 'checkbox', id, name: item.key });
      } else if (item.kind === 'number') {
        input = h('input', { type: 'number', id, name: item.key, step: 'any', min: item.min, max: item.max, required: item.required });
      } else {
        input = h('input', { type: 'text', id, name: item.key, maxlength: 500, required: item.required });
      }
      return { item, input, row: h('div.check-item', {}, h('label', { for: id }, item.label, item.unit ? ` (${item.unit})` : ''), input) };
    });
    form.append(
      h('h3', {}, `${tpl.name} · ${t(`checkstatus.${tpl.status || 'missing'}`)}`),
      ...inputs.map((i) => i.row),
      h('button.primary', { type: 'submit' }, done ? t('checklist.again') : t('checklist.submit')),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const answers = {};
      inputs.forEach(({ item, input }) => {
        if (item.kind === 'yes_no') answers[item.key] = input.checked;
        else if (item.kind === 'number') {
          if (input.value !== '') answers[item.key] = Number(input.value);
        } else if (input.value.trim() !== '') answers[item.key] = input.value.trim();
      });
      await act(
        checkStatus,
        { method: 'POST', path: `/api/v1/lines/${encodeURIComponent(line)}/checklists`, body: { template: tpl.id, answers }, label: t('outbox.checklist', { name: tpl.name }) },
        t('checklist.sent'),
      );
      loadChecklist();
    });
    return form;
  }
  loadChecklist();

  const handStatus = statusLine();
  const prevNotes = h('ul.notes');
  const note = h('textarea.note', { rows: 3, maxlength: 4000, 'aria-label': t('handover.write') });
  const handForm = h('form.handover', {}, note, h('button.primary', { type: 'submit' }, t('handover.save')));
  handForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = note.value.trim();
    if (!text) return;
    const r = await act(
      handStatus,
      { method: 'POST', path: `/api/v1/lines/${encodeURIComponent(line)}/handover`, body: { note: text }, label: t('outbox.handover') },
      t('handover.saved'),
    );
    if (r) note.value = '';
  });
  grid.append(card(t('handover.title'), h('p.tree-caption', {}, t('handover.previous')), prevNotes, h('p.tree-caption', {}, t('handover.write')), handForm, handStatus));
  async function loadHandover() {
    try {
      const prev = await get(`/api/v1/lines/${encodeURIComponent(line)}/handover`);
      clearError(handStatus);
      const notes = prev.notes || [];
      fill(
        prevNotes,
        notes.length ? null : h('li.muted', {}, t('handover.none')),
        notes.map((n) => h('li.note-item', {}, h('span.note-meta', {}, `${n.author} · ${time(n.written_at)}`), h('span.note-text', {}, n.note))),
      );
    } catch (e) {
      say(handStatus, e.status === 0 ? t('common.offline') : e.message, 'error');
    }
  }
  loadHandover();

  // What came over REST is read again when the connection returns.
  let seen = null;
  cleanups.push(
    live.onStatus((st) => {
      if (st === 'connected' && seen !== null && seen !== 'connected') {
        loadStops();
        loadRejects();
        loadChecklist();
        loadHandover();
      }
      seen = st;
    }),
  );

  return () => cleanups.forEach((fn) => fn());
}
