// This tab's client id, kept in sessionStorage (a reload keeps it, so edits still in flight are
// resubmitted under the same id and never applied twice), and the logged-in user as last seen,
// kept in localStorage so that a document kept on this device opens while the server cannot be
// reached. Who the user is comes from the server's session, never from here.

const CLIENT_KEY = 'jointly.client';
const USER_KEY = 'jointly.user';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/// A random string of n base-62 characters.
export function randomId(n = 12) {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let s = '';
  for (const b of bytes) s += BASE62[b % 62];
  return s;
}

/// This tab's client id (kept across reloads of the tab).
export function tabClientId() {
  let id = sessionStorage.getItem(CLIENT_KEY);
  if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    id = `c-${randomId(12)}`;
    sessionStorage.setItem(CLIENT_KEY, id);
  }
  return id;
}

/// Makes this tab use another client id from now on (taking over a closed tab's unsent edits).
export function adoptClientId(id) {
  sessionStorage.setItem(CLIENT_KEY, id);
}

/// The user the server last said is logged in ({id, name, institution: {name}, ...}), or null.
export function lastUser() {
  try {
    const u = JSON.parse(localStorage.getItem(USER_KEY) || 'null');
    if (u && Number.isSafeInteger(u.id) && typeof u.name === 'string' && u.institution && typeof u.institution.name === 'string') return u;
  } catch { /* a broken value: none */ }
  return null;
}

/// Remembers the logged-in user (null: logged out).
export function rememberUser(user) {
  if (user) localStorage.setItem(USER_KEY, JSON.stringify(user));
  else localStorage.removeItem(USER_KEY);
}
