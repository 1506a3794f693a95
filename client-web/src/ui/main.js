// The entry point: the login page whenever there is no session, the document list at `#`, a
// document at `#doc=ID`, its team at `#members=ID` and an invite at `#/invite/TOKEN`
// (routes.js). Moving between them reloads the page, so each page starts from a clean state
// and a document view from its own connection. When the session ends (a 401 from the API, or
// the server closing the WebSocket with 1008 `session_ended`) the page writes what is unsent to
// IndexedDB and shows the login page; after logging in the page reloads and the document's
// kept edits are sent.

import {
  acceptInvite, createDocument, getChecks, getDocument, listDocuments, listMembers, logout, me, onSessionEnded,
} from './api.js';
import { Connection, documentSocketUrl } from './connection.js';
import { h, replaceChildren } from './dom.js';
import { DocSession } from './doc_session.js';
import { DocView } from './doc_view.js';
import { HistoryPanel } from './history_panel.js';
import { adoptClientId, lastUser, randomId, rememberUser, tabClientId } from './identity.js';
import { showLogin } from './login_page.js';
import { showMembers } from './members_page.js';
import { parseRoute } from './routes.js';
import { ROLE_LABELS, can } from './signoff.js';
import { deleteRecord, hasPending, loadRecords } from './store.js';

/// The templates a new document can start from, as the server names them (POST
/// /api/documents `template`; PROTOCOL.md "Course template and checks").
export const TEMPLATES = Object.freeze([
  { id: 'course', label: 'Course design (the EADTU design steps, the course details and a first unit)' },
  { id: 'demo', label: 'Course-design example (an invented course, partly filled in)' },
  { id: 'blank', label: 'Blank (one empty section)' },
]);

const main = document.getElementById('main');
const statusEl = document.getElementById('status');
const meEl = document.getElementById('me');
const headingEl = document.getElementById('doc-heading');

// The document page's session and connection, to close and save when the session ends.
const open = { session: null, connection: null };
let loginShown = false;
let loggingOut = false;

window.addEventListener('hashchange', () => {
  if (parseRoute(location.hash).page === 'section') return; // a link to a section of this document
  location.reload();
});

/// The session ended (logout elsewhere, expiry): keep what is unsent, then ask to log in.
async function sessionEnded() {
  if (loginShown || loggingOut) return;
  loginShown = true;
  const { session, connection } = open;
  if (connection) connection.close();
  let kept = false;
  if (session) {
    await session.flushed();
    kept = session.sync.pending > 0;
  }
  rememberUser(null);
  replaceChildren(statusEl);
  replaceChildren(meEl);
  showLogin(main, {
    reason: `Your session has ended. Please log in again.${kept ? ' Your changes that were not saved yet are kept on this device and sent once you are logged in.' : ''}`,
    onLoggedIn: (user) => { rememberUser(user); location.reload(); },
  });
}

// Holds the Web Lock named after a client id for as long as this page lives; false when another
// tab holds it (that tab is alive and owns the id).
function holdClientLock(client) {
  if (!navigator.locks) return Promise.resolve(true);
  return new Promise((resolve) => {
    navigator.locks.request(`jointly-client-${client}`, { ifAvailable: true }, (lock) => {
      resolve(Boolean(lock));
      return lock ? new Promise(() => {}) : undefined;
    });
  });
}

function showMe(user) {
  replaceChildren(meEl,
    h('span', { class: 'me-name' }, user.name), ' ', h('span', { class: 'inst' }, user.institution.name), ' ',
    h('button', {
      type: 'button', class: 'link', 'data-action': 'logout',
      onclick: async () => {
        loggingOut = true;
        if (open.connection) open.connection.close();
        if (open.session) await open.session.flushed();
        try {
          await logout();
        } catch { /* the session is gone either way */ }
        rememberUser(null);
        location.hash = '';
        location.reload();
      },
    }, 'Log out'));
}

async function startPage() {
  document.title = 'Jointly — course documents';
  const list = h('ul', { class: 'doc-list' }, h('li', { class: 'muted' }, 'Loading…'));
  const title = h('input', { id: 'new-title', required: true, maxlength: 200, placeholder: 'e.g. Joint micro-credential in data literacy' });
  const template = h('select', { id: 'new-template' }, TEMPLATES.map((t) => h('option', { value: t.id }, t.label)));
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-h' },
    h('h2', { id: 'new-h' }, 'Start a new course document'),
    h('p', { class: 'muted' }, 'You will be its leader: you invite the team and lock sections for sign-off.'),
    h('label', { for: 'new-title' }, 'Title'), title,
    h('label', { for: 'new-template' }, 'Start from'), template,
    error,
    h('button', { type: 'submit', class: 'primary' }, 'Create the document'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!title.value.trim()) {
      error.textContent = 'Please give the document a title.';
      return;
    }
    try {
      const doc = await createDocument(title.value.trim(), template.value);
      location.hash = `#doc=${doc.id}`;
    } catch (err) {
      error.textContent = err.message;
    }
  });
  replaceChildren(main, h('div', { class: 'start' },
    h('section', { class: 'card', 'aria-labelledby': 'docs-h' }, h('h1', { id: 'docs-h' }, 'Your course documents'), list),
    form));
  try {
    const docs = await listDocuments();
    replaceChildren(list, docs.length === 0
      ? h('li', { class: 'muted' }, 'You are not in any document yet: start one below, or open an invite link from a course leader.')
      : docs.map((d) => h('li', { 'data-doc': d.id },
        h('a', { href: `#doc=${d.id}` }, d.title),
        h('span', { class: 'role' }, ` ${ROLE_LABELS[d.role] || d.role}`),
        h('span', { class: 'muted' }, ` · created ${new Date(d.created).toLocaleDateString()}, ${d.rev} changes · `),
        h('a', { href: `#members=${d.id}`, class: 'team-link' }, 'Team'))));
  } catch (err) {
    replaceChildren(list, h('li', { class: 'error' }, err.message));
  }
}

async function invitePage(token) {
  document.title = 'Invite — Jointly';
  const note = h('p', { role: 'status' }, 'Joining the document…');
  replaceChildren(main, h('section', { class: 'card' }, h('h1', {}, 'Invite to a course document'), note));
  try {
    const { doc } = await acceptInvite(token);
    location.hash = `#doc=${doc}`;
  } catch (e) {
    const why = {
      invite_used: 'This invite link has already been used. Ask the course leader for a new one.',
      invite_expired: 'This invite link has expired (links work for 7 days). Ask the course leader for a new one.',
      not_found: 'This invite link is not valid. Check that it was copied whole, or ask the course leader for a new one.',
    }[e.code] || e.message;
    note.className = 'error';
    replaceChildren(note, why, ' ', h('a', { href: '#' }, 'Go to your documents'));
  }
}

// The connection state, in a live region (announced when it changes), and the number of edits
// not yet saved beside it (shown, not announced at every keystroke).
function showStatus(session) {
  const s = session.status();
  const n = s.pending;
  const edits = `${n} edit${n === 1 ? '' : 's'}`;
  let state;
  let count;
  if (s.connection === 'connected') {
    state = 'Connected';
    count = n === 0 ? 'all changes saved' : `saving ${edits}…`;
  } else if (s.connection === 'offline') {
    state = 'Offline';
    count = n === 0 ? 'no unsaved changes' : `${edits} kept on this device, sent when you are back online`;
  } else {
    state = s.connection === 'reconnecting' ? `Reconnecting${s.detail ? ` (${s.detail})` : ''}` : 'Connecting…';
    count = n === 0 ? '' : `${edits} kept on this device`;
  }
  if (!statusEl.firstChild) {
    statusEl.append(h('span', { role: 'status', class: 'conn' }), h('span', { class: 'count' }));
  }
  if (statusEl.firstChild.textContent !== state) statusEl.firstChild.textContent = state;
  statusEl.lastChild.textContent = count ? ` · ${count}` : '';
  statusEl.dataset.state = s.connection;
  statusEl.dataset.pending = String(n);
  statusEl.dataset.loaded = String(s.loaded);
}

async function documentPage(docId, user) {
  document.title = 'Jointly';
  replaceChildren(main, h('p', { class: 'notice' }, 'Loading the document…'));
  let client = tabClientId();
  if (!(await holdClientLock(client))) {
    // Another tab has this id (a duplicated tab copies it): take a fresh one.
    client = `c-${randomId(12)}`;
    adoptClientId(client);
    await holdClientLock(client);
  }
  let records = [];
  try {
    records = await loadRecords(docId);
  } catch (e) {
    console.error('jointly: IndexedDB is not available; edits made offline cannot be kept', e);
  }
  // Edits kept for another account on this device are theirs, sent when they log in again.
  const others = records.filter((r) => r.user !== undefined && r.user !== null && r.user !== user.id);
  records = records.filter((r) => !others.includes(r));
  if (others.some((r) => r.client === client)) {
    client = `c-${randomId(12)}`;
    adoptClientId(client);
    await holdClientLock(client);
  }
  let mine = records.find((r) => r.client === client) || null;
  if (!hasPending(mine)) {
    // Edits a closed tab left unsent: this tab takes over its client id and sends them.
    for (const r of records) {
      if (r.client !== client && hasPending(r) && await holdClientLock(r.client)) {
        if (mine) deleteRecord(docId, client).catch(() => {});
        client = r.client;
        adoptClientId(client);
        mine = r;
        break;
      }
    }
  }
  if (!mine) mine = records.find((r) => r.confirmed) || null; // a fresh start from a kept copy
  if (mine && mine.client !== client) {
    mine = { ...mine, client, inflight: null, buffer: null, rejected: [], suggestions: [], seq: 0 };
  }

  const self = { name: user.name, institution: user.institution.name, client };
  let session = null;
  let checked = 0;
  const connection = new Connection({
    url: documentSocketUrl(location, docId),
    client,
    onState: () => session && showStatus(session),
    onSessionEnded: sessionEnded,
    // A refused upgrade looks like a lost connection: ask the API (at most every 5 s), whose
    // 401 ends the session.
    onRefused: () => {
      if (Date.now() - checked < 5000) return;
      checked = Date.now();
      me().catch(() => { /* offline: keep retrying */ });
    },
  });
  session = new DocSession({ doc: docId, client, connection, record: mine, user });
  open.session = session;
  open.connection = connection;
  const setHeading = () => {
    replaceChildren(headingEl, session.title ? h('h1', {}, session.title) : null,
      h('a', { href: `#members=${docId}`, class: 'team-link' }, can(session.role, 'manage') ? 'Team and invites' : 'Team'));
    document.title = session.title ? `${session.title} — Jointly` : 'Jointly';
  };
  session.on('status', () => { showStatus(session); setHeading(); });
  showStatus(session);
  setHeading();
  const view = new DocView(main, session, self, {
    loadTeam: async () => (await listMembers(docId)).team.map((i) => i.name),
    loadChecks: () => getChecks(docId),
  });
  session.on('status', () => view.showNotice());
  // The history panel, last in the document's side column (history_panel.js).
  const historyBox = h('details', { class: 'history-box', 'data-panel': 'history' });
  main.querySelector('aside.side').append(historyBox);
  const history = new HistoryPanel(historyBox, session);
  session.on('forbidden', () => {
    getDocument(docId).then((d) => session.setRole(d.role)).catch(() => { /* not a member now: the error says so */ });
  });
  window.jointly = { session, view, history }; // for the end-to-end tests and for the curious
}

async function start() {
  const route = parseRoute(location.hash);
  let user;
  try {
    user = await me();
  } catch (e) {
    // The server cannot be reached: a document kept on this device still opens.
    user = e.code === 'offline' && route.page === 'doc' ? lastUser() : null;
    if (!user) {
      replaceChildren(main, h('p', { class: 'notice', role: 'alert' }, `${e.message} `,
        h('button', { type: 'button', onclick: () => location.reload() }, 'Try again')));
      return;
    }
  }
  if (!user) {
    loginShown = true;
    showLogin(main, { onLoggedIn: (u) => { rememberUser(u); location.reload(); } });
    return;
  }
  rememberUser(user);
  onSessionEnded(sessionEnded);
  showMe(user);
  if (route.page === 'doc') await documentPage(route.doc, user);
  else if (route.page === 'members') await showMembers(main, route.doc, user);
  else if (route.page === 'invite') await invitePage(route.token);
  else await startPage();
}

start();
