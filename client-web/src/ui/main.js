// The entry point: who you are (asked once, kept in this browser), the start page (documents,
// new document) at `#`, and a document at `#doc=ID`. Moving between them reloads the page, so
// each document view starts from a clean state and its own connection.

import { createDocument, listDocuments } from './api.js';
import { Connection } from './connection.js';
import { h, replaceChildren } from './dom.js';
import { DocSession } from './doc_session.js';
import { DocView } from './doc_view.js';
import { adoptClientId, checkName, loadIdentity, randomId, saveIdentity, tabClientId } from './identity.js';
import { deleteRecord, hasPending, loadRecords } from './store.js';

const main = document.getElementById('main');
const statusEl = document.getElementById('status');
const meEl = document.getElementById('me');
const headingEl = document.getElementById('doc-heading');

function docFromHash() {
  const m = /^#doc=(\d+)$/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

window.addEventListener('hashchange', () => {
  if (/^#s-/.test(location.hash)) return; // a link to a section of this document
  location.reload();
});

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

function identityForm(onDone, current) {
  const name = h('input', { id: 'me-name', name: 'name', autocomplete: 'name', required: true, value: current ? current.name : '' });
  const inst = h('input', { id: 'me-inst', name: 'institution', autocomplete: 'organization', required: true, value: current ? current.institution : '' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card identity', 'aria-labelledby': 'identity-h' },
    h('h1', { id: 'identity-h' }, current ? 'Change how others see you' : 'Welcome to Jointly'),
    h('p', {}, 'Tell the course team who you are. Your name and institution are shown next to your cursor and your changes.'),
    h('label', { for: 'me-name' }, 'Your name'), name,
    h('label', { for: 'me-inst' }, 'Your institution'), inst,
    error,
    h('button', { type: 'submit', class: 'primary' }, 'Continue'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const problem = checkName(name.value, 'name') || checkName(inst.value, 'institution');
    if (problem) {
      error.textContent = problem;
      return;
    }
    const identity = { name: name.value.trim(), institution: inst.value.trim() };
    saveIdentity(identity);
    onDone(identity);
  });
  replaceChildren(main, form);
  name.focus();
}

function showMe(identity) {
  replaceChildren(meEl,
    h('span', { class: 'me-name' }, identity.name), ' ', h('span', { class: 'inst' }, identity.institution), ' ',
    h('button', { type: 'button', class: 'link', onclick: () => identityForm(() => location.reload(), identity) }, 'Change'));
}

async function startPage() {
  document.title = 'Jointly — course documents';
  const list = h('ul', { class: 'doc-list' }, h('li', { class: 'muted' }, 'Loading…'));
  const title = h('input', { id: 'new-title', required: true, maxlength: 200, placeholder: 'e.g. Joint micro-credential in data literacy' });
  const template = h('select', { id: 'new-template' },
    h('option', { value: 'demo' }, 'Course-design template (all design steps)'),
    h('option', { value: 'blank' }, 'Blank (one empty section)'));
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-h' },
    h('h2', { id: 'new-h' }, 'Start a new course document'),
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
    h('section', { class: 'card', 'aria-labelledby': 'docs-h' }, h('h1', { id: 'docs-h' }, 'Course documents'), list),
    form));
  try {
    const docs = await listDocuments();
    replaceChildren(list, docs.length === 0
      ? h('li', { class: 'muted' }, 'No documents yet: start one below.')
      : docs.map((d) => h('li', {},
        h('a', { href: `#doc=${d.id}` }, d.title),
        h('span', { class: 'muted' }, ` created ${new Date(d.created).toLocaleDateString()}, ${d.rev} changes`))));
  } catch (err) {
    replaceChildren(list, h('li', { class: 'error' }, err.message));
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

async function documentPage(docId, identity) {
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
  if (mine && mine.client !== client) mine = { ...mine, client, inflight: null, buffer: null, rejected: [], seq: 0 };

  const me = { ...identity, client };
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let session = null;
  const connection = new Connection({
    url: `${scheme}//${location.host}/ws`,
    hello: () => ({ client, name: identity.name, institution: identity.institution }),
    onState: () => session && showStatus(session),
  });
  session = new DocSession({ doc: docId, client, connection, record: mine });
  const setHeading = () => {
    replaceChildren(headingEl, session.title ? h('h1', {}, session.title) : null);
    document.title = session.title ? `${session.title} — Jointly` : 'Jointly';
  };
  session.on('status', () => { showStatus(session); setHeading(); });
  showStatus(session);
  setHeading();
  const view = new DocView(main, session, me);
  session.on('status', () => view.showNotice());
  window.jointly = { session, view }; // for the end-to-end tests and for the curious
}

async function start() {
  let identity = loadIdentity();
  if (!identity) identity = await new Promise((resolve) => identityForm(resolve));
  showMe(identity);
  const docId = docFromHash();
  if (docId === null) await startPage();
  else await documentPage(docId, identity);
}

start();
