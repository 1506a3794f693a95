// Document operations: the edits of a course-design document, with exactly the semantics of the
// C++ core (protocol/document.cpp; protocol/PROTOCOL.md, "Document operations").
//
// A document operation is a list of components applied in order, all or nothing. Its value here
// is its canonical wire form, a JSON array of plain objects, one per component:
//   {edit: id, f: FIELD, op: TEXTOP}            a text edit of a section's field: 'title', 'body'
//                                               or a named field ('ects', 'prompt', ...)
//   {add: id, pos, title, body, kind?, fields?} a new section (the id never used before), with
//                                               its kind and named fields {name: text}
//   {remove: id}                                a live, unlocked section becomes a tombstone
//   {restore: id, title, body, fields?}         a removed section comes back with this text
//   {move: id, pos}                             a new position key
//   {lock: id}  {unlock: id}                    unlock also clears the approvals; a lock of a
//                                               template section with a blank body is refused
//   {approve: id, inst, user, time, hash}       one institution's approval of a locked section
// Text ops are those of ot-text-unicode (./text_op.js); positions count code points.
//
// The transform law (checked against the C++ core by tests/differential/docop_differential.mjs):
//   apply(apply(d, a), transform(b, a, 'right')) == apply(apply(d, b), transform(a, b, 'left'))
// whenever both sides apply. Values are never changed in place.

import { OpError, prefixed } from './errors.js';
import {
  Doc, checkApproval, checkFieldName, checkSectionId, fieldText, hasKey, isIncomplete, isObject,
  makeSection, readFields, readString, readTime,
} from './document.js';
import { checkPosition, compareSections, positionBetween } from './position.js';
import {
  applyText, baseLength, composeText, parseTextOp, replacement, transformPosition, transformText,
} from './text_op.js';
import { checkWellFormedJSON, codePoints } from './unicode.js';

export { Doc, OpError, positionBetween, compareSections };

/// The kinds of component, in the order the C++ core looks for them, with the other keys each
/// one takes.
const KINDS = [
  ['edit', ['f', 'op']], ['add', ['pos', 'title', 'body', 'kind', 'fields']], ['remove', []],
  ['restore', ['title', 'body', 'fields']], ['move', ['pos']], ['lock', []], ['unlock', []],
  ['approve', ['inst', 'user', 'time', 'hash']],
];

/// The kind of a component ('edit', 'add', ...).
export function kindOf(c) {
  for (const [k] of KINDS) if (hasKey(c, k)) return k;
  throw new OpError('invalid_op', 'the component names no kind');
}

/// The id of the section a component names.
export function sectionOf(c) {
  return c[kindOf(c)];
}

const where = (i, kind, id) => `component ${i} (${kind} of section "${id}")`;

function parseComponent(j, i) {
  const at = `component ${i}`;
  if (!isObject(j)) throw new OpError('invalid_op', `${at} is not an object`);
  let kind = null;
  for (const k of KINDS) {
    if (hasKey(j, k[0])) {
      if (kind) {
        throw new OpError('invalid_op', `${at} has both "${kind[0]}" and "${k[0]}"; a component does one thing`);
      }
      kind = k;
    }
  }
  if (!kind) {
    throw new OpError('invalid_op', `${at} names no kind (edit, add, remove, restore, move, lock, unlock, approve)`);
  }
  const [k, allowed] = kind;
  for (const key of Object.keys(j).sort()) {
    if (key !== k && !allowed.includes(key)) {
      throw new OpError('invalid_op', `${at} ("${k}") has an unknown key "${key}"`);
    }
  }
  const id = j[k];
  if (typeof id !== 'string') throw new OpError('invalid_op', `${at}: "${k}" must be a section id string`);
  try { checkSectionId(id); } catch (e) { throw prefixed(e, at); }
  const w = where(i, k, id);
  const position = () => {
    const pos = readString(j, 'pos', false, w, 'invalid_op');
    try { checkPosition(pos); } catch (e) { throw prefixed(e, w); }
    return pos;
  };
  const texts = () => ({
    title: readString(j, 'title', true, w, 'invalid_op'),
    body: readString(j, 'body', true, w, 'invalid_op'),
  });
  switch (k) {
    case 'edit': {
      if (typeof j.f !== 'string') {
        throw new OpError('invalid_op', `${w}: "f" must be "title", "body" or a field name string`);
      }
      if (j.f !== 'title' && j.f !== 'body') {
        try { checkFieldName(j.f); } catch (e) { throw prefixed(e, `${w}: "f"`); }
      }
      if (!hasKey(j, 'op')) throw new OpError('invalid_op', `${w}: "op" is missing`);
      let op;
      try { op = parseTextOp(j.op); } catch (e) { throw prefixed(e, w); }
      return { edit: id, f: j.f, op };
    }
    case 'add': {
      const pos = position();
      const { title, body } = texts();
      const c = { add: id, pos, title, body };
      if (hasKey(j, 'kind')) {
        if (typeof j.kind !== 'string') throw new OpError('invalid_op', `${w}: "kind" is not a string`);
        try { checkFieldName(j.kind, 'kind'); } catch (e) { throw prefixed(e, w); }
        c.kind = j.kind;
      }
      const fields = readFields(j, w, 'invalid_op');
      if (fields.size > 0) c.fields = Object.fromEntries(fields);
      return c;
    }
    case 'remove': return { remove: id };
    case 'restore': {
      const { title, body } = texts();
      const c = { restore: id, title, body };
      const fields = readFields(j, w, 'invalid_op');
      if (fields.size > 0) c.fields = Object.fromEntries(fields);
      return c;
    }
    case 'move': return { move: id, pos: position() };
    case 'lock': return { lock: id };
    case 'unlock': return { unlock: id };
    default: {
      const inst = readString(j, 'inst', false, w, 'invalid_op');
      const user = readString(j, 'user', false, w, 'invalid_op');
      const hash = readString(j, 'hash', false, w, 'invalid_op');
      if (!hasKey(j, 'time')) throw new OpError('invalid_op', `${w}: "time" is missing`);
      const time = readTime(j.time);
      if (time === null) {
        throw new OpError('invalid_op', `${w}: "time" must be a whole number of milliseconds in 0..2^53, not ${JSON.stringify(j.time)}`);
      }
      try { checkApproval(inst, { user, time, hash }); } catch (e) { throw prefixed(e, w); }
      return { approve: id, inst, user, time, hash };
    }
  }
}

/// Reads and validates a document operation from its wire form (a JSON array of components),
/// checking everything that can be checked without the document: kinds, keys, ids, position
/// keys, text ops, names, times and hashes. Returns the canonical op (text ops canonical,
/// optional title/body filled in). Throws OpError `invalid_op` or `invalid_utf8` (a string
/// anywhere in it with a lone surrogate, as the server's JSON reader refuses the whole message).
export function parseDocOp(json) {
  checkWellFormedJSON(json, (w) => { throw new OpError('invalid_utf8', `${w}: invalid Unicode`); }, 'the op');
  if (!Array.isArray(json)) throw new OpError('invalid_op', 'a document operation is a JSON array');
  return json.map(parseComponent);
}

// ---------------------------------------------------------------------------------------------
// Apply

const unknownSection = (w) => new OpError('unknown_section', `${w}: no such section in the document`);
const sectionRemoved = (w) => new OpError('section_removed', `${w}: the section is removed`);
const sectionLocked = (w) => new OpError('section_locked', `${w}: the section is locked`);
const sectionNotLocked = (w) => new OpError('section_not_locked', `${w}: the section is not locked`);
const unknownField = (w, name) => new OpError('unknown_field', `${w}: the section has no field "${name}"`);

/// Applies op to doc and returns the new document; all or nothing (doc is a value and never
/// changes). REQUIRES: op came from parseDocOp or from this module. Rules, per component:
///   edit     of a removed section: dropped; of a locked section: section_locked (unless its
///            text op is empty); the text op must fit its field (out_of_range).
///   add      section_exists when the id is in the document (removed or not).
///   remove   section_removed, section_locked.        restore  section_not_removed.
///   move     allowed on live, removed and locked sections.
///   lock     section_removed, section_locked, section_incomplete (a template section: a
///            non-empty prompt field and a blank body).
///   unlock   section_removed, section_not_locked.
///   approve  section_removed, section_not_locked.
/// Any other component naming a section not in the document: unknown_section; an edit or
/// restore naming a field the section does not have: unknown_field.
/// Throws OpError with these codes; the message names the component and the section.
export function apply(doc, op) {
  const sections = new Map(doc.sections);
  op.forEach((c, i) => applyComponent(sections, c, i));
  return new Doc(sections);
}

/// Whether op applies to doc: null, or the OpError apply would throw.
export function check(doc, op) {
  try {
    apply(doc, op);
    return null;
  } catch (e) {
    if (e instanceof OpError) return e;
    throw e;
  }
}

function applyComponent(sections, c, i) {
  const k = kindOf(c);
  const id = c[k];
  const s = sections.get(id);
  const w = where(i, k, id);
  const set = (changes) => sections.set(id, makeSection({ ...s, ...changes }));
  switch (k) {
    case 'edit': {
      const we = `${w}, ${c.f} field`;
      if (!s) throw unknownSection(we);
      const before = fieldText(s, c.f);
      if (before === undefined) throw unknownField(w, c.f);
      if (s.removed || c.op.length === 0) return;
      if (s.locked) throw sectionLocked(we);
      let text;
      try { text = applyText(before, c.op); } catch (e) { throw prefixed(e, we); }
      if (c.f === 'title' || c.f === 'body') {
        set({ [c.f]: text });
      } else {
        set({ fields: new Map(s.fields).set(c.f, text) });
      }
      return;
    }
    case 'add':
      if (s) {
        throw new OpError('section_exists',
          `${w}: the document already has a section "${id}"${s.removed ? ' (removed)' : ''}`);
      }
      sections.set(id, makeSection({
        id, pos: c.pos, kind: c.kind || '', title: c.title, body: c.body,
        fields: new Map(Object.entries(c.fields || {})),
      }));
      return;
    case 'remove':
      if (!s) throw unknownSection(w);
      if (s.removed) throw sectionRemoved(`${w} already`);
      if (s.locked) throw sectionLocked(w);
      set({ removed: true, title: '', body: '', fields: new Map([...s.fields.keys()].map((k) => [k, ''])) });
      return;
    case 'restore': {
      if (!s) throw unknownSection(w);
      const given = c.fields || {};
      for (const name of Object.keys(given).sort()) if (!s.fields.has(name)) throw unknownField(w, name);
      if (!s.removed) throw new OpError('section_not_removed', `${w}: the section is not removed`);
      const fields = new Map([...s.fields.keys()].map((k) => [k, hasKey(given, k) ? given[k] : '']));
      set({ removed: false, title: c.title, body: c.body, fields });
      return;
    }
    case 'move':
      if (!s) throw unknownSection(w);
      set({ pos: c.pos });
      return;
    case 'lock':
      if (!s) throw unknownSection(w);
      if (s.removed) throw sectionRemoved(w);
      if (s.locked) throw sectionLocked(`${w} already`);
      if (isIncomplete(s)) {
        throw new OpError('section_incomplete',
          `${w}: the section's text is still to be written (its body is empty and it has a prompt)`);
      }
      set({ locked: true });
      return;
    case 'unlock':
      if (!s) throw unknownSection(w);
      if (s.removed) throw sectionRemoved(w);
      if (!s.locked) throw sectionNotLocked(w);
      set({ locked: false, approvals: new Map() });
      return;
    default: {
      if (!s) throw unknownSection(w);
      if (s.removed) throw sectionRemoved(w);
      if (!s.locked) throw sectionNotLocked(w);
      const approvals = new Map(s.approvals);
      approvals.set(c.inst, Object.freeze({ user: c.user, time: c.time, hash: c.hash }));
      set({ approvals });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Transform

const other = (side) => (side === 'left' ? 'right' : 'left');

// The components x becomes when rewritten to apply after y (both apply to the same state).
function transformComponent(x, y, side) {
  const kx = kindOf(x);
  const ky = kindOf(y);
  if (x[kx] !== y[ky]) return [x];
  const left = side === 'left';
  switch (kx) {
    case 'edit': {
      if (ky === 'remove' || ky === 'restore') return [];
      if (ky === 'edit' && y.f === x.f) {
        const op = transformText(x.op, y.op, side);
        return op.length === 0 ? [] : [{ edit: x.edit, f: x.f, op }];
      }
      return [x];
    }
    case 'remove':
      return ky === 'remove' ? [] : [x];
    case 'restore': {
      if (ky !== 'restore') return [x];
      if (!left) return [];
      // Both restored the section: the left side's text wins over what y restored.
      const out = [];
      if (y.title !== x.title) out.push({ edit: x.restore, f: 'title', op: replacement(y.title, x.title) });
      if (y.body !== x.body) out.push({ edit: x.restore, f: 'body', op: replacement(y.body, x.body) });
      // Named fields, in name order; a field one restore leaves out comes back empty.
      const xf = x.fields || {};
      const yf = y.fields || {};
      for (const name of [...new Set([...Object.keys(xf), ...Object.keys(yf)])].sort()) {
        const from = hasKey(yf, name) ? yf[name] : '';
        const to = hasKey(xf, name) ? xf[name] : '';
        if (from !== to) out.push({ edit: x.restore, f: name, op: replacement(from, to) });
      }
      return out;
    }
    case 'move':
      return ky !== 'move' || left ? [x] : [];
    case 'lock':
      if (ky === 'lock') return [];
      if (ky === 'unlock' && !left) return [];
      return [x];
    case 'unlock':
      if (ky === 'unlock') return [];
      if (ky === 'lock' && !left) return [];
      return [x];
    case 'approve':
      if (ky === 'unlock') return []; // it approved the locked state
      if (ky === 'approve' && y.inst === x.inst && !left) return [];
      return [x];
    default:
      return [x]; // add vs add of one id: apply refuses the later (section_exists)
  }
}

// The grid: [a after b, b after a] for component lists applying to the same state.
function transformLists(a, b, side) {
  if (a.length === 0 || b.length === 0) return [a, b];
  if (a.length === 1 && b.length === 1) {
    return [transformComponent(a[0], b[0], side), transformComponent(b[0], a[0], other(side))];
  }
  if (a.length > 1) {
    const [a0, b1] = transformLists(a.slice(0, 1), b, side);
    const [rest, b2] = transformLists(a.slice(1), b1, side);
    return [a0.concat(rest), b2];
  }
  const [a1, b0] = transformLists(a, b.slice(0, 1), side);
  const [a2, rest] = transformLists(a1, b.slice(1), side);
  return [a2, b0.concat(rest)];
}

/// a rewritten to apply after b, where a and b apply to the same document. `side` ('left' or
/// 'right') breaks ties: text inserts at one place, move vs move, lock vs unlock, approve vs
/// approve of one institution, restore vs restore: the left side wins. An edit of a section b
/// removed is dropped; an edit that lands on a section b locked stays (apply refuses it).
/// Total: always returns an op.
export function transform(a, b, side) {
  if (side !== 'left' && side !== 'right') throw new OpError('invalid_op', `side ${side} must be 'left' or 'right'`);
  return transformLists(a, b, side)[0];
}

/// Both at once: [transform(a, b, side), transform(b, a, other side)].
export function transformX(a, b, side) {
  return transformLists(a, b, side);
}

/// One op that applies like a then b: the components of a then b, adjacent edits of the same
/// section and field composed into one (its text op possibly empty).
export function compose(a, b) {
  const out = [];
  for (const c of [...a, ...b]) {
    const last = out[out.length - 1];
    if (last && hasKey(last, 'edit') && hasKey(c, 'edit') && last.edit === c.edit && last.f === c.f) {
      out[out.length - 1] = { edit: last.edit, f: last.f, op: composeText(last.op, c.op) };
    } else {
      out.push(c);
    }
  }
  return out;
}

/// The ids of the sections op names, sorted, without duplicates.
export function sectionsTouched(op) {
  return [...new Set(op.map(sectionOf))].sort();
}

/// Whether op changes nothing (no components).
export const isNoop = (op) => op.length === 0;

// ---------------------------------------------------------------------------------------------
// Presence

/// Where a cursor or selection {section, field, anchor, head} (code points) ends up after op:
/// moved by the text edits of its field, null when its section is removed.
export function transformPresence(p, op) {
  if (!p) return p;
  let { anchor, head } = p;
  for (const c of op) {
    if (sectionOf(c) !== p.section) continue;
    if (hasKey(c, 'remove')) return null;
    if (hasKey(c, 'restore')) { anchor = 0; head = 0; }
    if (hasKey(c, 'edit') && c.f === p.field) {
      anchor = transformPosition(anchor, c.op);
      head = transformPosition(head, c.op);
    }
  }
  return { ...p, anchor, head };
}

/// The text a user typed in op: [{section, field, text}] for every insert, add and restore
/// (what to show when an edit cannot be saved).
export function typedText(op) {
  const out = [];
  for (const c of op) {
    if (hasKey(c, 'edit')) {
      for (const t of c.op) if (typeof t === 'string') out.push({ section: c.edit, field: c.f, text: t });
    } else if (hasKey(c, 'add') || hasKey(c, 'restore')) {
      const id = sectionOf(c);
      if (c.title) out.push({ section: id, field: 'title', text: c.title });
      if (c.body) out.push({ section: id, field: 'body', text: c.body });
      for (const [name, text] of Object.entries(c.fields || {})) {
        if (text) out.push({ section: id, field: name, text });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers for making ops

/// An edit component of a section's field from a text op.
export const edit = (section, field, op) => ({ edit: section, f: field, op: parseTextOp(op) });

/// The length of a section's field ('title', 'body' or a named field) in code points.
export const fieldLength = (doc, section, field) => codePoints(fieldText(doc.section(section), field));

export { baseLength };
