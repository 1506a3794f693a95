// The course-design document as a value: sections addressed by stable ids, as in the C++ core
// (protocol/document.hpp). Each section has a position key, a kind ('' = prose, 'course',
// 'unit', ...: fixed when added), a title, a body and the named text fields its add gave it
// (strings whose positions count code points), a `removed` tombstone flag, a `locked` flag and,
// while locked, one approval per institution. Values are immutable: operations return new
// documents that share the sections they did not touch.
//
// The snapshot format (protocol/PROTOCOL.md): {"v":1,"sections":[{"id","pos","title","body",
// "removed"?:true,"locked"?:true,"approvals"?:{inst:{"user","time","hash"}}}, ...]}, sections
// sorted by id; version 2 adds "kind"?:name and "fields"?:{name:text} per section, and is
// written only when some section has a kind or named fields.

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
/// The longest field or kind name, in characters of [a-z0-9_].
export const MAX_FIELD_NAME_LENGTH = 32;
/// The most named fields (besides title and body) a section has.
export const MAX_FIELDS = 32;
/// The named field whose non-empty text marks a template section: the prompt shown while the
/// body is empty; a lock is refused (section_incomplete) while the body is blank.
export const PROMPT_FIELD = 'prompt';

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

/// Throws OpError `invalid_op` unless name is a valid field or kind name: 1..32 characters of
/// [a-z0-9_], the first a letter. `what` names it in the message.
export function checkFieldName(name, what = 'field name') {
  if (name === '') throw new OpError('invalid_op', `${what} is empty`);
  if (utf8Length(name) > MAX_FIELD_NAME_LENGTH) {
    throw new OpError('invalid_op',
      `${what} of ${utf8Length(name)} characters is longer than ${MAX_FIELD_NAME_LENGTH}`);
  }
  if (!/^[a-z]/.test(name)) throw new OpError('invalid_op', `${what} must start with a letter a-z`);
  for (let i = 1; i < name.length; i++) {
    if (!/^[a-z0-9_]$/.test(name[i])) {
      throw new OpError('invalid_op', `${what} has a character outside [a-z0-9_] at ${utf8Length(name.slice(0, i))}`);
    }
  }
}

/// Reads j.fields (optional) as named fields' texts: a Map name -> text, in name order.
/// Errors carry `code` (invalid_op in ops, invalid_document in snapshots) or invalid_utf8.
export function readFields(j, where, code) {
  const out = new Map();
  if (!hasKey(j, 'fields')) return out;
  const f = j.fields;
  if (!isObject(f)) throw new OpError(code, `${where}: "fields" is not an object`);
  const names = Object.keys(f).sort(compareCodePoints);
  if (names.length > MAX_FIELDS) {
    throw new OpError(code, `${where}: ${names.length} named fields; a section has at most ${MAX_FIELDS}`);
  }
  for (const name of names) {
    try { checkFieldName(name); } catch (e) { throw prefixed(e, where, code); }
    if (name === 'title' || name === 'body') throw new OpError(code, `${where}: "${name}" is not a named field`);
    const text = f[name];
    if (typeof text !== 'string') throw new OpError(code, `${where}: field "${name}" is not a string`);
    if (!isWellFormed(text)) throw new OpError('invalid_utf8', `${where}, field "${name}": invalid Unicode: a lone surrogate`);
    out.set(name, text);
  }
  return out;
}

/// The text of field f ('title', 'body' or a named field) of section s, or undefined when it
/// has no such field.
export function fieldText(s, f) {
  if (f === 'title' || f === 'body') return s[f];
  return s.fields.get(f);
}

/// Whether s is a template section whose body is still to be written: a non-empty prompt field
/// and a blank body (only spaces, tabs and line breaks). A lock of it is refused.
export function isIncomplete(s) {
  const prompt = s.fields.get(PROMPT_FIELD);
  return prompt !== undefined && prompt !== '' && /^[ \t\r\n]*$/.test(s.body);
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

/// Makes a frozen section value. `fields` is a Map from field name to text, `approvals` a Map
/// from institution to {user, time, hash}; `kind` is '' for prose.
export function makeSection({ id, pos, kind = '', title = '', body = '', fields = new Map(),
  removed = false, locked = false, approvals = new Map() }) {
  return Object.freeze({ id, pos, kind, title, body, fields, removed, locked, approvals });
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
    let v = 1;
    const sections = ids.map((id) => {
      const s = this.sections.get(id);
      const j = { id: s.id, pos: s.pos, title: s.title, body: s.body };
      if (s.kind !== '') j.kind = s.kind;
      // Object.fromEntries defines own properties: an institution named "__proto__" stays a
      // key (an assignment would call Object.prototype's setter and drop the approval).
      if (s.fields.size > 0) {
        j.fields = Object.fromEntries([...s.fields.keys()].sort(compareCodePoints).map((name) => [name, s.fields.get(name)]));
      }
      if (s.kind !== '' || s.fields.size > 0) v = 2;
      if (s.removed) j.removed = true;
      if (s.locked) j.locked = true;
      if (s.approvals.size > 0) {
        j.approvals = Object.fromEntries([...s.approvals.keys()].sort(compareCodePoints).map((inst) => {
          const a = s.approvals.get(inst);
          return [inst, { user: a.user, time: a.time, hash: a.hash }];
        }));
      }
      return j;
    });
    return { v, sections };
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
    if (j.v !== 1 && j.v !== 2) throw bad('the document\'s format version "v" must be 1 or 2');
    if (!Array.isArray(j.sections)) throw bad('the document\'s "sections" must be an array');
    const sections = new Map();
    j.sections.forEach((sj, i) => {
      const s = parseSection(sj, i, j.v);
      if (sections.has(s.id)) throw bad(`section ${i}: the id "${s.id}" appears twice`);
      sections.set(s.id, s);
    });
    return new Doc(sections);
  }
}

const SECTION_KEYS = new Set(['id', 'pos', 'title', 'body', 'removed', 'locked', 'approvals']);
const SECTION_KEYS_V2 = new Set([...SECTION_KEYS, 'kind', 'fields']);

// version: the snapshot's format version (1: no kind or named fields; 2: with them).
function parseSection(j, i, version) {
  const at = `section ${i}`;
  const bad = (m) => new OpError('invalid_document', m);
  const asDocument = (e, where) => prefixed(e, where, e.code === 'invalid_utf8' ? undefined : 'invalid_document');
  if (!isObject(j)) throw bad(`${at} is not an object`);
  for (const k of Object.keys(j).sort(compareCodePoints)) {
    if (!(version >= 2 ? SECTION_KEYS_V2 : SECTION_KEYS).has(k)) throw bad(`${at} has an unknown key "${k}"`);
  }
  const id = readString(j, 'id', false, at, 'invalid_document');
  try { checkSectionId(id); } catch (e) { throw asDocument(e, at); }
  const w = `${at} ("${id}")`;
  const pos = readString(j, 'pos', false, w, 'invalid_document');
  try { checkPosition(pos); } catch (e) { throw asDocument(e, w); }
  const title = readString(j, 'title', true, w, 'invalid_document');
  const body = readString(j, 'body', true, w, 'invalid_document');
  let kind = '';
  if (hasKey(j, 'kind')) {
    if (typeof j.kind !== 'string') throw bad(`${w}: "kind" is not a string`);
    kind = j.kind;
    try { checkFieldName(kind, 'kind'); } catch (e) { throw asDocument(e, w); }
  }
  const fields = readFields(j, w, 'invalid_document');
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
  const fieldsEmpty = [...fields.values()].every((t) => t === '');
  if (flags.removed && (title !== '' || body !== '' || !fieldsEmpty || flags.locked)) {
    throw bad(`${w}: a removed section must have no text and not be locked`);
  }
  if (!flags.locked && approvals.size > 0) throw bad(`${w}: only a locked section has approvals`);
  return makeSection({ id, pos, kind, title, body, fields, ...flags, approvals });
}
