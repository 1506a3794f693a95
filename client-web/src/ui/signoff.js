// The sign-off workflow as the interface sees it (protocol/PROTOCOL.md, "Accounts and access"):
// what each role may do, the section hash an approval carries, and the sign-off matrix
// (sections × the team's institutions). No DOM; pure functions but `sectionHash`, which uses
// WebCrypto and so is async.

import { compareCodePoints } from '../unicode.js';

/// Document roles, weakest first.
export const ROLES = Object.freeze(['viewer', 'reviewer', 'editor', 'leader']);

/// What each role may do in a document (the server checks it again; this only decides which
/// controls to show).
const ALLOWED = Object.freeze({
  read: ROLES,
  edit: ['editor', 'leader'],
  approve: ['reviewer', 'editor', 'leader'],
  lock: ['leader'],
  manage: ['leader'],
});

/// Whether `role` may do `action` ('read', 'edit', 'approve', 'lock' (and unlock), 'manage'
/// (members and invites)). An unknown role or action may do nothing.
export function can(role, action) {
  const who = ALLOWED[action];
  return Boolean(who && who.includes(role));
}

/// Role names as the course team reads them.
export const ROLE_LABELS = Object.freeze({
  leader: 'Leader', editor: 'Editor', reviewer: 'Reviewer', viewer: 'Viewer',
});

/// What a role may do, in one line.
export const ROLE_HELP = Object.freeze({
  leader: 'writes, locks and unlocks sections, approves, manages the team',
  editor: 'writes and approves for their institution',
  reviewer: 'reads and approves for their institution',
  viewer: 'reads only',
});

/// The sign-off controls one section shows to a member with `role` from `institution`:
/// {lock, unlock, approve, approved} (approved: their institution's approval, or null).
export function sectionControls(section, role, institution) {
  const live = Boolean(section && !section.removed);
  const locked = live && Boolean(section.locked);
  const approved = (locked && approvalOf(section, institution)) || null;
  return {
    lock: live && !locked && can(role, 'lock'),
    unlock: locked && can(role, 'lock'),
    approve: locked && can(role, 'approve') && Boolean(institution),
    approved,
    editable: live && !locked && can(role, 'edit'),
  };
}

/// The approval {user, time, hash} of `institution` on a section (a Doc's section, whose
/// approvals are a Map), or null.
export function approvalOf(section, institution) {
  const a = section.approvals;
  if (!a) return null;
  return (a instanceof Map ? a.get(institution) : a[institution]) || null;
}

/// The text fields of a section that its hash covers, by name: title and body.
export function textFieldsOf(section) {
  return { title: section.title, body: section.body };
}

/// The bytes the section hash is computed over: for each field in byte order of the field
/// names, the name, a newline (0x0A), the length of its text in UTF-8 bytes in decimal, a
/// newline, and the text in UTF-8.
export function sectionHashInput(fields) {
  const enc = new TextEncoder();
  const names = Object.keys(fields).sort(compareCodePoints); // UTF-8 byte order
  const parts = [];
  for (const name of names) {
    const text = enc.encode(fields[name]);
    parts.push(enc.encode(`${name}\n${text.length}\n`), text);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/// The section hash an approval carries: "sha256:" and the lower-case hex SHA-256 of
/// `sectionHashInput(textFieldsOf(section))`. `subtle` is WebCrypto's SubtleCrypto (the
/// browser's by default; node 18 tests pass `webcrypto.subtle` from node:crypto).
export async function sectionHash(section, subtle = globalThis.crypto.subtle) {
  const digest = new Uint8Array(await subtle.digest('SHA-256', sectionHashInput(textFieldsOf(section))));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return `sha256:${hex}`;
}

/// A short form of a hash to show people ("sha256:3f9a…c01b" → "3f9a c01b").
export function shortHash(hash) {
  const hex = String(hash).replace(/^sha256:/, '');
  return hex.length > 12 ? `${hex.slice(0, 4)} ${hex.slice(4, 8)} … ${hex.slice(-4)}` : hex;
}

/// The sign-off matrix of a document (a Doc) for a team (institution names): one row per live
/// section in document order, one cell per institution, sorted by name.
///   {institutions: [name], rows: [{id, title, locked, approved, count, cells: [{institution,
///   approval: {user, time, hash} | null}]}]}
/// A row is `approved` when the section is locked and every institution of the team has
/// approved it; `count` is how many have.
export function signoffMatrix(doc, team) {
  const institutions = [...new Set(team)].sort((a, b) => a.localeCompare(b));
  const rows = doc.ordered().map((s) => {
    const cells = institutions.map((institution) => ({ institution, approval: (s.locked && approvalOf(s, institution)) || null }));
    const count = cells.filter((c) => c.approval).length;
    return {
      id: s.id,
      title: s.title,
      locked: Boolean(s.locked),
      approved: Boolean(s.locked) && institutions.length > 0 && count === institutions.length,
      count,
      cells,
    };
  });
  return { institutions, rows };
}
