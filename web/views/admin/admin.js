// The admin console: users (create, role, line scope, disable, reset password), display
// tokens (create with a link and a QR code for the wall screen, revoke), feature flags
// with the maintenance banner, and the audit log with filters and paging.

import { del, get, patch, post, put, query } from '../../data/api.js';
import { card, fill, h, say, statusLine } from '../../components/dom.js';
import { qrSvg } from '../../components/qr.js';
import { dateTime, t } from '../../i18n/index.js';

const ROLES = ['operator', 'supervisor', 'engineer', 'admin'];
const PAGE = 25;

const linesOf = (text) => {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  return list.length ? list : null;
};

export function mount(root) {
  root.append(h('h1.view-title', {}, t('admin.title')));
  const grid = h('div.grid');
  root.append(grid);

  // ---- users
  const uStatus = statusLine();
  const users = h('table.table.users');
  const uname = h('input', { type: 'text', name: 'username', required: true, maxlength: 64, placeholder: t('admin.username'), 'aria-label': t('admin.username') });
  const upass = h('input', { type: 'password', name: 'password', required: true, minlength: 12, placeholder: t('admin.password'), 'aria-label': t('admin.password'), autocomplete: 'new-password' });
  const urole = h('select', { name: 'role', 'aria-label': t('admin.role') }, ROLES.map((r) => h('option', { value: r }, t(`role.${r}`))));
  const ulines = h('input', { type: 'text', name: 'lines', placeholder: t('admin.lines_hint'), 'aria-label': t('admin.lines') });
  const ucreate = h('form.inline.create-user', {}, uname, upass, urole, ulines, h('button.primary', { type: 'submit' }, t('admin.create_user')));
  ucreate.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const body = { username: uname.value.trim(), password: upass.value, role: urole.value };
      const lines = linesOf(ulines.value);
      if (lines) body.lines = lines;
      await post('/api/v1/users', body);
      say(uStatus, t('admin.user_created', { name: body.username }));
      ucreate.reset();
      loadUsers();
    } catch (err) {
      say(uStatus, err.message, 'error');
    }
  });
  grid.append(card(t('admin.users'), ucreate, users, uStatus));
  async function loadUsers() {
    try {
      const list = await get('/api/v1/users');
      fill(
        users,
        h('thead', {}, h('tr', {}, ['user', 'role', 'lines', 'state', ''].map((k) => h('th', { scope: 'col' }, k ? t(`col.${k}`) : '')))),
        h(
          'tbody',
          {},
          (list.users || []).map((u) => {
            const role = h('select', { 'aria-label': t('admin.role_of', { name: u.username }) }, ROLES.map((r) => h('option', { value: r, selected: r === u.role }, t(`role.${r}`))));
            role.addEventListener('change', () => change(u, { role: role.value }));
            const lines = h('input', { type: 'text', value: (u.lines || []).join(', '), placeholder: t('admin.all_lines'), 'aria-label': t('admin.lines_of', { name: u.username }) });
            lines.addEventListener('change', () => change(u, { lines: linesOf(lines.value) }));
            return h(
              'tr.user',
              { dataset: { username: u.username, disabled: String(u.disabled) } },
              h('td', {}, u.username),
              h('td', {}, role),
              h('td', {}, lines),
              h('td', {}, u.disabled ? t('admin.disabled') : t('admin.active')),
              h(
                'td',
                {},
                h('button.action', { type: 'button', onclick: () => change(u, { disabled: !u.disabled }) }, u.disabled ? t('admin.enable') : t('admin.disable')),
                h(
                  'button.action',
                  {
                    type: 'button',
                    onclick: () => {
                      const pw = window.prompt(t('admin.new_password', { name: u.username }));
                      if (pw) change(u, { password: pw });
                    },
                  },
                  t('admin.reset_password'),
                ),
              ),
            );
          }),
        ),
      );
    } catch (e) {
      say(uStatus, e.message, 'error');
    }
  }
  async function change(u, body) {
    try {
      await patch(`/api/v1/users/${encodeURIComponent(u.username)}`, body);
      say(uStatus, t('admin.saved'));
    } catch (e) {
      say(uStatus, e.message, 'error');
    }
    loadUsers();
  }
  loadUsers();

  // ---- display tokens
  const dStatus = statusLine();
  const tokens = h('ul.display-tokens');
  const fresh = h('div.fresh-token');
  const dname = h('input', { type: 'text', name: 'name', required: true, maxlength: 100, placeholder: t('admin.token_name'), 'aria-label': t('admin.token_name') });
  const dlines = h('input', { type: 'text', name: 'lines', placeholder: t('admin.lines_hint'), 'aria-label': t('admin.lines') });
  const dcreate = h('form.inline.create-token', {}, dname, dlines, h('button.primary', { type: 'submit' }, t('admin.create_token')));
  dcreate.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const body = { name: dname.value.trim() };
      const lines = linesOf(dlines.value);
      if (lines) body.lines = lines;
      const made = await post('/api/v1/display-tokens', body);
      const q = lines && lines.length === 1 ? `?line=${encodeURIComponent(lines[0])}` : '';
      const link = `${location.origin}/${q}#token=${encodeURIComponent(made.token)}`;
      fill(
        fresh,
        h('p', {}, t('admin.token_once')),
        h('a.wall-link', { href: link, target: '_blank', rel: 'noopener' }, link),
        qrSvg(link, t('admin.qr', { name: body.name })),
      );
      dcreate.reset();
      loadTokens();
    } catch (err) {
      say(dStatus, err.message, 'error');
    }
  });
  grid.append(card(t('admin.tokens'), dcreate, fresh, tokens, dStatus));
  async function loadTokens() {
    try {
      const list = await get('/api/v1/display-tokens');
      fill(
        tokens,
        (list.display_tokens || []).map((d) =>
          h(
            'li.display-token',
            { dataset: { tokenId: d.id, revoked: String(Boolean(d.revoked_at)) } },
            `${d.name} · ${(d.lines || []).join(', ') || t('admin.all_lines')} · ${dateTime(d.created_at)} `,
            d.revoked_at
              ? h('span.muted', {}, t('admin.revoked'))
              : h(
                  'button.action.danger',
                  {
                    type: 'button',
                    onclick: async () => {
                      try {
                        await del(`/api/v1/display-tokens/${d.id}`);
                        loadTokens();
                      } catch (e) {
                        say(dStatus, e.message, 'error');
                      }
                    },
                  },
                  t('admin.revoke'),
                ),
          ),
        ),
      );
    } catch (e) {
      say(dStatus, e.message, 'error');
    }
  }
  loadTokens();

  // ---- flags
  const fStatus = statusLine();
  const flags = h('ul.flags');
  grid.append(card(t('admin.flags'), flags, fStatus));
  async function loadFlags() {
    try {
      const f = await get('/api/v1/flags');
      fill(
        flags,
        Object.entries(f.flags || {}).map(([name, on]) => {
          const id = `flag-${name}`;
          const box = h('input', { type: 'checkbox', id, checked: on, dataset: { flag: name } });
          box.addEventListener('change', async () => {
            try {
              await put(`/api/v1/flags/${name}`, { enabled: box.checked });
              say(fStatus, t('admin.saved'));
            } catch (e) {
              say(fStatus, e.message, 'error');
              box.checked = !box.checked;
            }
          });
          return h('li.flag', {}, box, h('label', { for: id }, t(`flag.${name}`)));
        }),
      );
    } catch (e) {
      say(fStatus, e.message, 'error');
    }
  }
  loadFlags();

  // ---- audit
  const aStatus = statusLine();
  const audit = h('table.table.audit');
  const actor = h('input', { type: 'text', name: 'actor', placeholder: t('admin.actor'), 'aria-label': t('admin.actor') });
  const action = h('input', { type: 'text', name: 'action', placeholder: t('admin.action_hint'), 'aria-label': t('admin.action') });
  const filter = h('form.inline', {}, actor, action, h('button.primary', { type: 'submit' }, t('admin.filter')));
  const older = h('button.secondary', { type: 'button', dataset: { act: 'older' } }, t('admin.older'));
  const newest = h('button.secondary', { type: 'button' }, t('admin.newest'));
  grid.append(card(t('admin.audit'), filter, audit, h('div.inline', {}, newest, older), aStatus));
  let before = null;
  filter.addEventListener('submit', (e) => {
    e.preventDefault();
    before = null;
    loadAudit();
  });
  older.addEventListener('click', () => loadAudit(true));
  newest.addEventListener('click', () => {
    before = null;
    loadAudit();
  });
  async function loadAudit(next) {
    try {
      const page = await get(`/api/v1/audit${query({ actor: actor.value.trim(), action: action.value.trim(), limit: PAGE, before_id: next ? before : null })}`);
      const entries = page.entries || [];
      if (entries.length) before = entries[entries.length - 1].id;
      older.disabled = entries.length < PAGE;
      fill(
        audit,
        h('thead', {}, h('tr', {}, ['at', 'actor', 'action', 'target', 'outcome'].map((k) => h('th', { scope: 'col' }, t(`col.${k}`))))),
        h(
          'tbody',
          {},
          entries.map((en) =>
            h('tr.audit-entry', { dataset: { id: en.id, action: en.action } }, h('td', {}, dateTime(en.at)), h('td', {}, en.actor), h('td', {}, en.action), h('td', {}, en.target || ''), h('td', {}, en.outcome)),
          ),
        ),
      );
    } catch (e) {
      say(aStatus, e.message, 'error');
    }
  }
  loadAudit();

  return () => {};
}
