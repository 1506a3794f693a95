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

/// The text fields of a section that its hash covers, by name: title, body and its named
/// fields (`section.fields`, a Map or an object of name -> text, when the document model has
/// them; e.g. a template section's `prompt`).
export function textFieldsOf(section) {
  const out = { title: section.title, body: section.body };
  const named = section.fields;
  if (named) {
    for (const [name, text] of named instanceof Map ? named : Object.entries(named)) {
      if (typeof text === 'string' && name !== 'title' && name !== 'body') out[name] = text;
    }
  }
  return out;
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
/// browser's by default; node 18 tests pass `webcrypto.subtle` from node:crypto). Browsers
/// offer it only to secure pages (https, or localhost); on a plain-http page `sha256` below
/// computes the same digest.
export async function sectionHash(section, subtle = globalThis.crypto && globalThis.crypto.subtle) {
  const input = sectionHashInput(textFieldsOf(section));
  const digest = subtle ? new Uint8Array(await subtle.digest('SHA-256', input)) : sha256(input);
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return `sha256:${hex}`;
}

/// A short form of a hash to show people ("sha256:3f9a…c01b" → "3f9a c01b").
export function shortHash(hash) {
  const hex = String(hash).replace(/^sha256:/, '');
  return hex.length > 12 ? `${hex.slice(0, 4)} ${hex.slice(4, 8)} … ${hex.slice(-4)}` : hex;
}

/// The columns of the sign-off matrix: the team's institution names, once each, sorted.
export function matrixInstitutions(team) {
  return [...new Set(team)].sort((a, b) => a.localeCompare(b));
}

/// One row of the sign-off matrix: a section (of a Doc) against the team's `institutions`
/// (as `matrixInstitutions` makes them).
///   {id, title, locked, approved, count, cells: [{institution, approval: {user, time, hash} | null}]}
/// A row is `approved` when the section is locked and every institution of the team has
/// approved it; `count` is how many have.
export function signoffRow(s, institutions) {
  const locked = Boolean(s.locked);
  const cells = institutions.map((institution) => ({ institution, approval: (locked && approvalOf(s, institution)) || null }));
  const count = cells.filter((c) => c.approval).length;
  return {
    id: s.id,
    title: s.title,
    locked,
    approved: locked && institutions.length > 0 && count === institutions.length,
    count,
    cells,
  };
}

/// The sign-off matrix of a document (a Doc) for a team (institution names): one row per live
/// section in document order (`signoffRow`), one column per institution, sorted by name.
///   {institutions: [name], rows: [row]}
export function signoffMatrix(doc, team) {
  const institutions = matrixInstitutions(team);
  return { institutions, rows: doc.ordered().map((s) => signoffRow(s, institutions)) };
}

/// What changed in the sign-off matrix since the last `update`, so that a view redraws only
/// the rows that differ: at 259 sections × 260 institutions the whole matrix is 67,340 cells,
/// and an approval changes one row. Sections are immutable values (document.js), so a section
/// that is the same object as last time is the same row unless the team changed; another
/// object (its body typed into, say) is compared by what its row shows. Not thread-safe (the
/// page's one thread).
export class MatrixChanges {
  constructor() {
    this.columnsKey = null;
    this.rows = new Map(); // section id -> {section, key}
  }

  /// Compares doc and team with the last update and remembers them. Returns
  ///   {institutions, columnsChanged, order: [section id], changed: [row], removed: [section id],
  ///    unknown: [institution]}
  /// `columnsChanged`: the team's institutions differ (every row is in `changed`); `changed`:
  /// the rows to draw again, in document order; `removed`: rows no longer in the document;
  /// `unknown`: institutions not in the team with an approval on a section that changed (someone
  /// joined: the team is worth loading again).
  update(doc, team) {
    const institutions = matrixInstitutions(team);
    const columnsKey = JSON.stringify(institutions);
    const columnsChanged = columnsKey !== this.columnsKey;
    if (columnsChanged) {
      this.columnsKey = columnsKey;
      this.rows.clear();
    }
    const known = new Set(institutions);
    const unknown = new Set();
    const order = [];
    const changed = [];
    const live = new Set();
    for (const s of doc.ordered()) {
      order.push(s.id);
      live.add(s.id);
      const last = this.rows.get(s.id);
      if (last && last.section === s) continue;
      const row = signoffRow(s, institutions);
      const key = JSON.stringify(row);
      this.rows.set(s.id, { section: s, key });
      if (s.approvals) for (const i of s.approvals.keys()) if (!known.has(i)) unknown.add(i);
      if (!last || last.key !== key) changed.push(row);
    }
    const removed = [];
    for (const id of this.rows.keys()) {
      if (!live.has(id)) removed.push(id);
    }
    for (const id of removed) this.rows.delete(id);
    return { institutions, columnsChanged, order, changed, removed, unknown: [...unknown] };
  }
}

// SHA-256 (FIPS 180-4) of bytes, for pages without WebCrypto.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/// The SHA-256 digest (32 bytes) of `bytes` (a Uint8Array), in JavaScript.
export function sha256(bytes) {
  const bitLength = bytes.length * 8;
  const padded = new Uint8Array(Math.ceil((bytes.length + 9) / 64) * 64);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const tail = new DataView(padded.buffer, padded.length - 8);
  tail.setUint32(0, Math.floor(bitLength / 2 ** 32));
  tail.setUint32(4, bitLength >>> 0);
  const hv = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const data = new DataView(padded.buffer);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) w[i] = data.getUint32(block + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    let [a, b, c, d, e, f, g, hh] = hv;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    hv[0] += a; hv[1] += b; hv[2] += c; hv[3] += d; hv[4] += e; hv[5] += f; hv[6] += g; hv[7] += hh;
  }
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) view.setUint32(i * 4, hv[i]);
  return out;
}
