// The server's HTTP API (protocol/PROTOCOL.md, "HTTP API" and "Accounts and access"). The
// session is the HttpOnly cookie the server sets at login: this code never sees the token, the
// browser sends it. Errors come back as an Error with the server's `code`, its message, the
// HTTP `status` and, for `too_many_attempts`, `retryAfter` in seconds. Any answer
// `401 unauthenticated` (the session ended) is also told to `onSessionEnded`'s listener.

let sessionEnded = () => {};

/// How long a request answered `503 document_moved` is sent again. A node of a cluster answers
/// that at once, having done nothing, while it fetches the document from the node that held it
/// (PROTOCOL.md, "Scale-out"); the wait between tries is the answer's Retry-After.
export const MOVED_RETRY_MS = 60000;
let pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/// For tests: replaces the wait between tries of a moved document's request.
export function setPause(fn) {
  pause = fn;
}

/// Sets what to do when the server says the session has ended (show the login page).
export function onSessionEnded(fn) {
  sessionEnded = fn;
}

async function call(path, options = {}) {
  const started = Date.now();
  for (;;) {
    try {
      return await callOnce(path, options);
    } catch (e) {
      if (e.code !== 'document_moved' || Date.now() - started >= MOVED_RETRY_MS) throw e;
      await pause(1000 * Math.min(e.retryAfter || 1, 10));
    }
  }
}

async function callOnce(path, { method = 'GET', body } = {}) {
  const init = { method, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    const e = new Error('The server cannot be reached. Check your connection and try again.');
    e.code = 'offline';
    throw e;
  }
  if (res.status === 204) return null;
  const answer = await res.json().catch(() => null);
  if (!res.ok) {
    const error = (answer && answer.error) || {};
    const e = new Error(error.message || `The server answered ${res.status}.`);
    e.code = error.code || String(res.status);
    e.status = res.status;
    const retry = Number(res.headers.get('Retry-After'));
    if (Number.isFinite(retry) && retry > 0) e.retryAfter = retry;
    if (e.code === 'unauthenticated') sessionEnded();
    throw e;
  }
  return answer;
}

// ---- Session ----------------------------------------------------------------------------------

/// Logs in; resolves to the user {id, email, name, institution: {id, name, country}, admin}.
export async function login(email, password) {
  return (await call('/api/login', { method: 'POST', body: { email, password } })).user;
}

/// Ends the session (the server clears the cookie and closes its WebSockets).
export function logout() {
  return call('/api/logout', { method: 'POST' });
}

/// The logged-in user, or null when there is no session.
export async function me() {
  try {
    return (await call('/api/me')).user;
  } catch (e) {
    if (e.code === 'unauthenticated') return null;
    throw e;
  }
}

// ---- Documents --------------------------------------------------------------------------------

/// The documents the caller is a member of: [{id, title, created, rev, role}].
export async function listDocuments() {
  return (await call('/api/documents')).documents;
}

/// Creates a document from a template (see TEMPLATES in main.js); the caller is its leader.
/// Returns {id, title, created, rev, role}.
export function createDocument(title, template = 'blank') {
  return call('/api/documents', { method: 'POST', body: { title, template } });
}

/// {id, title, created, rev, role, snapshot}
export function getDocument(id) {
  return call(`/api/documents/${id}`);
}

/// The course checks of the document at its last durable revision: {rev, summary, findings}
/// (PROTOCOL.md "Course template and checks"; course_panel.js).
export function getChecks(id) {
  return call(`/api/documents/${id}/checks`);
}

/// The machine-readable course description of the last revision when it is approved; else an
/// Error with code `not_approved` whose message says what is missing (PROTOCOL.md "The course
/// description export"; course_panel.js).
export function getCourseDescription(id) {
  return call(`/api/documents/${id}/course-description`);
}

// ---- Members and invites ----------------------------------------------------------------------

/// {members: [{user: USER, role}], team: [{id, name, country}]}
export function listMembers(doc) {
  return call(`/api/documents/${doc}/members`);
}

/// Adds a user as a member with a role, or changes their role (leader only).
export function setRole(doc, user, role) {
  return call(`/api/documents/${doc}/members/${user}`, { method: 'PUT', body: { role } });
}

/// Removes a member (leader only); `last_leader` when they are the only leader.
export function removeMember(doc, user) {
  return call(`/api/documents/${doc}/members/${user}`, { method: 'DELETE' });
}

/// A one-time invite link for a role: {token, url, role, expires}.
export function createInvite(doc, role) {
  return call(`/api/documents/${doc}/invites`, { method: 'POST', body: { role } });
}

/// Accepts an invite: {doc, role}.
export function acceptInvite(token) {
  return call(`/api/invites/${encodeURIComponent(token)}/accept`, { method: 'POST' });
}

/// Every user (to add as members): [USER].
export async function listUsers() {
  return (await call('/api/users')).users;
}

// ---- History (PROTOCOL.md "History API"; history_panel.js) -------------------------------------

/// One page of the timeline: {entries, next}; `query` from history_model.js `historyQuery`.
export function historyList(doc, query = '') {
  return call(`/api/documents/${doc}/history${query}`);
}

/// The document at a revision: {id, title, rev, snapshot}.
export function historyAt(doc, rev) {
  return call(`/api/documents/${doc}/history/at/${rev}`);
}

/// The word diff from revision `from` to the last one: {from, to, sections: [SECTIONDIFF]}.
export function historyDiff(doc, from) {
  return call(`/api/documents/${doc}/history/diff?from=${from}`);
}

/// Who wrote a section's title and body (at the last revision): {rev, section, live, title, body}.
export function historyBlame(doc, section) {
  return call(`/api/documents/${doc}/history/blame/${encodeURIComponent(section)}`);
}

/// Named versions: [{rev, name, by, time}]; naming one (editors and leaders) answers the VERSION.
export async function listVersions(doc) {
  return (await call(`/api/documents/${doc}/history/versions`)).versions;
}
export function nameVersion(doc, name, rev) {
  return call(`/api/documents/${doc}/history/versions`, { method: 'POST', body: rev === undefined ? { name } : { name, rev } });
}

/// Restores the document (or one section) to revision `rev` as a new revision (editors and
/// leaders): {rev, restored_from, changed}.
export function restoreRevision(doc, rev, section) {
  return call(`/api/documents/${doc}/history/restore`, { method: 'POST', body: section ? { rev, section } : { rev } });
}
