// Who this browser's user is, until accounts come: a name and an institution, kept in
// localStorage, and this tab's client id, kept in sessionStorage (a reload keeps it, so edits
// still in flight are resubmitted under the same id and never applied twice).

const KEY = 'jointly.identity';
const CLIENT_KEY = 'jointly.client';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/// A random string of n base-62 characters.
export function randomId(n = 12) {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let s = '';
  for (const b of bytes) s += BASE62[b % 62];
  return s;
}

/// {name, institution} or null when the user has not said yet.
export function loadIdentity() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (v && typeof v.name === 'string' && typeof v.institution === 'string' && v.name && v.institution) return v;
  } catch { /* a broken value: ask again */ }
  return null;
}

export function saveIdentity(identity) {
  localStorage.setItem(KEY, JSON.stringify({ name: identity.name, institution: identity.institution }));
}

/// Checks a name or institution as the server does (1..128 bytes of UTF-8, no control
/// characters). Returns a message in plain words, or null when it is fine.
export function checkName(s, what) {
  const t = s.trim();
  if (t === '') return `Please enter your ${what}.`;
  if (new TextEncoder().encode(t).length > 128) return `Your ${what} is too long (128 bytes at most).`;
  if (/[\u0000-\u001f\u007f]/.test(t)) return `Your ${what} cannot contain control characters.`;
  return null;
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
