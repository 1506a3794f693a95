// The course-design document as a value: sections addressed by stable ids, as in the C++ core
// (protocol/document.hpp). Each section has a position key, a title and a body (strings whose
// positions count code points), a `removed` tombstone flag, a `locked` flag and, while locked,
// one approval per institution. Values are immutable: operations return new documents that
// share the sections they did not touch.
//
// The snapshot format (protocol/PROTOCOL.md): {"v":1,"sections":[{"id","pos","title","body",
// "removed"?:true,"locked"?:true,"approvals"?:{inst:{"user","time","hash"}}}, ...]}, sections
// sorted by id.

import { OpError, prefixed } from './errors.js';
import { checkPosition, compareSections } from './position.js';
import { checkWellFormedJSON, compareCodePoints, isWellFormed, utf8Length } from './unicode.js';

/// The longest section id, in characters of [A-Za-z0-9_-].
export const MAX_SECTION_ID_LENGTH = 64;
/// The longest institution or user name in an approval, in UTF-8 bytes.
export const MAX_NAME_LENGTH = 128;
/// The longest approval text hash, in characters of [A-Za-z0-9_:+/=.-].
export const MAX_TEXT_HASH_LENGTH = 128;
/// The latest approval time, in milliseconds since the Unix epoch (2^53).
export const MAX_TIME = 2 ** 53;

const ID_CHAR = /^[A-Za-z0-9_-]$/;
const HASH_CHAR = /^[A-Za-z0-9_:+/=.-]$/;

export const hasKey = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
export const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/// Throws OpError `invalid_op` unless id is a valid section id.
export function checkSectionId(id) {
  if (id === '') throw new OpError('invalid_op', 'section id is empty');
  const bytes = utf8Length(id);
  if (bytes > MAX_SECTION_ID_LENGTH) {
    throw new OpError('invalid_op',
      `section id of ${bytes} characters is longer than ${MAX_SECTION_ID_LENGTH}`);
  }
  for (let i = 0; i < id.length; i++) {
    if (!ID_CHAR.test(id[i])) {
      throw new OpError('invalid_op', `section id has a character outside [A-Za-z0-9_-] at ${i}`);
    }
  }
}

/// Throws unless s is a valid institution or user name: 1..128 bytes of UTF-8 without control
/// characters (U+0000..U+001F, U+007F).
export function checkName(s, what) {
  if (s === '') throw new OpError('invalid_op', `${what} is empty`);
  if (!isWellFormed(s)) throw new OpError('invalid_utf8', `${what}: invalid Unicode: a lone surrogate`);
  const bytes = utf8Length(s);
  if (bytes > MAX_NAME_LENGTH) {
    throw new OpError('invalid_op', `${what} of ${bytes} bytes is longer than ${MAX_NAME_LENGTH}`);
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      throw new OpError('invalid_op', `${what} has a control character at byte ${utf8Length(s.slice(0, i))}`);
    }
  }
}

function checkTextHash(s) {
  if (s === '') throw new OpError('invalid_op', 'text hash is empty');
  if (s.length > MAX_TEXT_HASH_LENGTH) {
    throw new OpError('invalid_op',
      `text hash of ${utf8Length(s)} characters is longer than ${MAX_TEXT_HASH_LENGTH}`);
  }
  for (let i = 0; i < s.length; i++) {
    if (!HASH_CHAR.test(s[i])) {
      throw new OpError('invalid_op', `text hash has a character outside [A-Za-z0-9_:+/=.-] at ${i}`);
    }
  }
}

/// A whole number of milliseconds in 0..2^53 (3.0 counts: JSON has one number type), or null.
export function readTime(v) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_TIME) return null;
  return v + 0; // -0 is 0
}

/// Throws unless institution and approval {user, time, hash} are valid.
export function checkApproval(institution, approval) {
  checkName(institution, 'institution');
  checkName(approval.user, 'user');
  if (readTime(approval.time) === null) {
    throw new OpError('invalid_op', `time ${approval.time} is outside 0..2^53 milliseconds`);
  }
  checkTextHash(approval.hash);
}

/// Reads j[key] as a string; a missing key gives '' when optional, else an error with `code`.
export function readString(j, key, optional, where, code) {
  if (!hasKey(j, key)) {
    if (optional) return '';
    throw new OpError(code, `${where}: "${key}" is missing`);
  }
  const v = j[key];
  if (typeof v !== 'string') throw new OpError(code, `${where}: "${key}" is not a string`);
  if (!isWellFormed(v)) throw new OpError('invalid_utf8', `${where}: "${key}": invalid Unicode: a lone surrogate`);
  return v;
}

/// Makes a frozen section value. `approvals` is a Map from institution to {user, time, hash}.
export function makeSection({ id, pos, title = '', body = '', removed = false, locked = false,
  approvals = new Map() }) {
  return Object.freeze({ id, pos, title, body, removed, locked, approvals });
}

/// A document: a frozen map of sections by id (removed ones included).
export class Doc {
  /// @param {Map<string, object>} sections by id; the Doc takes it over (do not change it).
  constructor(sections = new Map()) {
    /// Every section, removed ones included, by id.
    this.sections = sections;
    Object.freeze(this);
  }

  /// The section with this id (removed or not), or undefined.
  section(id) {
    return this.sections.get(id);
  }

  /// The live (not removed) sections in document order: by position key, then by id.
  ordered() {
    const out = [];
    for (const s of this.sections.values()) if (!s.removed) out.push(s);
    return out.sort(compareSections);
  }

  /// The snapshot JSON value, sections sorted by id, approvals by institution.
  toJSON() {
    const ids = [...this.sections.keys()].sort(compareCodePoints);
    return {
      v: 1,
      sections: ids.map((id) => {
        const s = this.sections.get(id);
        const j = { id: s.id, pos: s.pos, title: s.title, body: s.body };
        if (s.removed) j.removed = true;
        if (s.locked) j.locked = true;
        if (s.approvals.size > 0) {
          j.approvals = {};
          for (const inst of [...s.approvals.keys()].sort(compareCodePoints)) {
            const a = s.approvals.get(inst);
            j.approvals[inst] = { user: a.user, time: a.time, hash: a.hash };
          }
        }
        return j;
      }),
    };
  }

  /// Reads and validates a snapshot (as the C++ core's parse_document): every id, key, string
  /// and invariant (tombstones empty and unlocked, approvals only on locked sections, no
  /// duplicate ids). Throws OpError `invalid_document` or `invalid_utf8`.
  static fromJSON(j) {
    checkWellFormedJSON(j, (w) => { throw new OpError('invalid_utf8', `${w}: invalid Unicode`); }, 'the document');
    const bad = (m) => new OpError('invalid_document', m);
    if (!isObject(j)) throw bad('a document is a JSON object');
    for (const k of Object.keys(j)) {
      if (k !== 'v' && k !== 'sections') throw bad('the document has an unknown key');
    }
    if (j.v !== 1) throw bad('the document\'s format version "v" must be 1');
    if (!Array.isArray(j.sections)) throw bad('the document\'s "sections" must be an array');
    const sections = new Map();
    j.sections.forEach((sj, i) => {
      const s = parseSection(sj, i);
      if (sections.has(s.id)) throw bad(`section ${i}: the id "${s.id}" appears twice`);
      sections.set(s.id, s);
    });
    return new Doc(sections);
  }
}

const SECTION_KEYS = new Set(['id', 'pos', 'title', 'body', 'removed', 'locked', 'approvals']);

function parseSection(j, i) {
  const at = `section ${i}`;
  const bad = (m) => new OpError('invalid_document', m);
  const asDocument = (e, where) => prefixed(e, where, e.code === 'invalid_utf8' ? undefined : 'invalid_document');
  if (!isObject(j)) throw bad(`${at} is not an object`);
  for (const k of Object.keys(j).sort(compareCodePoints)) {
    if (!SECTION_KEYS.has(k)) throw bad(`${at} has an unknown key "${k}"`);
  }
  const id = readString(j, 'id', false, at, 'invalid_document');
  try { checkSectionId(id); } catch (e) { throw asDocument(e, at); }
  const w = `${at} ("${id}")`;
  const pos = readString(j, 'pos', false, w, 'invalid_document');
  try { checkPosition(pos); } catch (e) { throw asDocument(e, w); }
  const title = readString(j, 'title', true, w, 'invalid_document');
  const body = readString(j, 'body', true, w, 'invalid_document');
  const flags = { removed: false, locked: false };
  for (const flag of ['removed', 'locked']) {
    if (!hasKey(j, flag)) continue;
    if (typeof j[flag] !== 'boolean') throw bad(`${w}: "${flag}" is not a boolean`);
    flags[flag] = j[flag];
  }
  const approvals = new Map();
  if (hasKey(j, 'approvals')) {
    if (!isObject(j.approvals)) throw bad(`${w}: "approvals" is not an object`);
    for (const inst of Object.keys(j.approvals).sort(compareCodePoints)) {
      try { checkName(inst, 'institution'); } catch (e) { throw asDocument(e, w); }
      const wa = `${w}, approval of "${inst}"`;
      const a = j.approvals[inst];
      if (!isObject(a)) throw bad(`${wa} is not an object`);
      for (const k of Object.keys(a)) {
        if (k !== 'user' && k !== 'time' && k !== 'hash') throw bad(`${wa} has an unknown key`);
      }
      const user = readString(a, 'user', false, wa, 'invalid_document');
      const hash = readString(a, 'hash', false, wa, 'invalid_document');
      const time = hasKey(a, 'time') ? readTime(a.time) : null;
      if (time === null) throw bad(`${wa}: "time" must be a whole number in 0..2^53`);
      const approval = Object.freeze({ user, time, hash });
      try { checkApproval(inst, approval); } catch (e) { throw asDocument(e, wa); }
      approvals.set(inst, approval);
    }
  }
  if (flags.removed && (title !== '' || body !== '' || flags.locked)) {
    throw bad(`${w}: a removed section must have no text and not be locked`);
  }
  if (!flags.locked && approvals.size > 0) throw bad(`${w}: only a locked section has approvals`);
  return makeSection({ id, pos, title, body, ...flags, approvals });
}
