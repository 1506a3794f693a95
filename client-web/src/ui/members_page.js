// A document's team page (`#members=ID`): its members with their role and institution, the
// team's institutions, and for a leader: change a role, remove a member, add a person, and make
// a one-time invite link. The server checks every change again.

import {
  createInvite, getDocument, listMembers, listUsers, removeMember, setRole,
} from './api.js';
import { h, replaceChildren } from './dom.js';
import { inviteLink } from './routes.js';
import { ROLES, ROLE_HELP, ROLE_LABELS, can } from './signoff.js';

// The roles as options, strongest first; `brief`: names only (in the members table).
const roleOptions = (selected, brief = false) => [...ROLES].reverse().map((r) => h('option', { value: r, selected: r === selected },
  brief ? ROLE_LABELS[r] : `${ROLE_LABELS[r]} — ${ROLE_HELP[r]}`));

/// What a refused change says.
function problem(e) {
  if (e.code === 'last_leader') return 'A document needs at least one leader: make someone else a leader first.';
  if (e.code === 'forbidden') return 'Only a leader of this document can change its team.';
  return e.message;
}

/// Shows the team page of document `docId` for `user` in `root`.
export async function showMembers(root, docId, user) {
  const error = h('p', { class: 'error', role: 'alert' });
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading the team…'));
  const heading = h('h1', { id: 'members-h' }, 'Team');
  replaceChildren(root, h('div', { class: 'members-page' },
    h('p', {}, h('a', { href: `#doc=${docId}` }, '← Back to the document'), ' · ', h('a', { href: '#' }, 'All documents')),
    h('section', { class: 'card wide', 'aria-labelledby': 'members-h' }, heading, error, body)));

  let doc;
  try {
    doc = await getDocument(docId);
  } catch (e) {
    replaceChildren(body, h('p', { class: 'error' }, e.code === 'forbidden' ? 'You are not a member of this document.' : e.message));
    return;
  }
  heading.textContent = `Team of “${doc.title}”`;
  document.title = `Team — ${doc.title} — Jointly`;
  const leader = can(doc.role, 'manage');

  async function draw() {
    let list;
    try {
      list = await listMembers(docId);
    } catch (e) {
      error.textContent = e.message;
      return;
    }
    const change = async (run) => {
      error.textContent = '';
      try {
        await run();
      } catch (e) {
        error.textContent = problem(e);
      }
      await draw();
    };
    const rows = list.members.map((m) => h('tr', { 'data-user': m.user.id },
      h('td', {}, h('strong', {}, m.user.name), m.user.id === user.id ? ' (you)' : '', h('br'), h('span', { class: 'muted' }, m.user.email)),
      h('td', {}, m.user.institution.name),
      h('td', {}, leader
        ? h('select', {
          'aria-label': `Role of ${m.user.name}`,
          onchange: (e) => change(() => setRole(docId, m.user.id, e.target.value)),
        }, roleOptions(m.role, true))
        : ROLE_LABELS[m.role] || m.role),
      leader ? h('td', {}, h('button', {
        type: 'button', class: 'link', 'aria-label': `Remove ${m.user.name} from the team`,
        onclick: () => change(() => removeMember(docId, m.user.id)),
      }, 'Remove')) : null));
    const parts = [
      h('h2', {}, 'Members'),
      h('table', { class: 'members' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Person'), h('th', { scope: 'col' }, 'Institution'),
          h('th', { scope: 'col' }, 'Role'), leader ? h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')) : null)),
        h('tbody', {}, rows)),
      h('h2', {}, 'Institutions in the team'),
      h('p', { class: 'muted' }, 'A locked section is approved when each of these institutions has approved it. An institution whose members are all viewers is not asked to approve: make one of them a reviewer to include it.'),
      h('ul', { class: 'team' }, list.team.map((i) => h('li', {}, `${i.name} (${i.country})`))),
    ];
    if (leader) parts.push(await addPersonForm(list, change), inviteForm());
    replaceChildren(body, parts);
  }

  async function addPersonForm(list, change) {
    let users = [];
    try {
      users = await listUsers();
    } catch { /* the invite link still works */ }
    const members = new Set(list.members.map((m) => m.user.id));
    const candidates = users.filter((u) => !members.has(u.id));
    if (candidates.length === 0) return h('div');
    const who = h('select', { id: 'add-user' }, candidates.map((u) => h('option', { value: u.id }, `${u.name} — ${u.institution.name}`)));
    const role = h('select', { id: 'add-role' }, roleOptions('editor'));
    const form = h('form', { class: 'add-person', 'aria-labelledby': 'add-h' },
      h('h2', { id: 'add-h' }, 'Add a person with an account'),
      h('label', { for: 'add-user' }, 'Person'), who,
      h('label', { for: 'add-role' }, 'Role'), role,
      h('button', { type: 'submit' }, 'Add to the team'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      change(() => setRole(docId, Number(who.value), role.value));
    });
    return form;
  }

  function inviteForm() {
    const role = h('select', { id: 'invite-role' }, roleOptions('editor'));
    const out = h('div', { class: 'invite-out', 'aria-live': 'polite' });
    const form = h('form', { class: 'invite', 'aria-labelledby': 'invite-h' },
      h('h2', { id: 'invite-h' }, 'Invite someone by link'),
      h('p', { class: 'muted' }, 'The link can be used once, by a person who logs in to Jointly, within 7 days.'),
      h('label', { for: 'invite-role' }, 'Their role'), role,
      h('button', { type: 'submit', 'data-action': 'invite' }, 'Make an invite link'),
      out);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      try {
        const invite = await createInvite(docId, role.value);
        const link = inviteLink(location.origin, invite.token);
        const field = h('input', { id: 'invite-link', readonly: true, value: link, 'aria-label': 'Invite link' });
        const copied = h('span', { class: 'muted', role: 'status' });
        replaceChildren(out,
          h('label', { for: 'invite-link' }, `Invite link (role: ${ROLE_LABELS[invite.role] || invite.role}), valid until ${new Date(invite.expires).toLocaleString()}`),
          field,
          h('div', { class: 'row' }, h('button', {
            type: 'button', 'data-action': 'copy-invite',
            onclick: async () => {
              field.select();
              try {
                await navigator.clipboard.writeText(link);
                copied.textContent = 'Copied.';
              } catch {
                copied.textContent = 'Select the link and copy it (Ctrl+C).';
              }
            },
          }, 'Copy the link'), copied));
        field.select();
      } catch (err) {
        error.textContent = problem(err);
      }
    });
    return form;
  }

  await draw();
}
