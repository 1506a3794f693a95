// Differential test: build/bin/jointly-docop (the C++ document model and DocOps,
// protocol/document.cpp) against client-web/src/doc_op.js (their JavaScript port in the browser
// client), answer by answer.
//
//   node tests/differential/docop_differential.mjs --bin build/bin/jointly-docop [--seed N] [--cases N]
//
// It generates random requests over documents in every state (live, removed, locked with
// approvals; text with emoji, combining marks and CJK; sections of a kind with named fields,
// template sections with a prompt): apply of ops that mostly fit and of ops that hit every
// refusal (unknown_section, unknown_field, section_exists, section_removed, section_locked,
// section_incomplete, ...),
// transform of two ops made on one document (both sides), compose of an op and one made after
// it, parsing of malformed ops and snapshots (every kind of mistake each validator names), the
// document order and position keys. The tool gets every line through one stdin; the JS answer
// is computed from the very same line (JSON.parse of it), and the two are compared: results as
// JSON (object key order aside), errors by code.
//
// Known limit of the comparison, avoided by the generator: JSON numbers that a double cannot
// hold exactly (2^53 + 1, ...) and `"v": 1.0` (JavaScript cannot tell 1.0 from 1; the C++ core
// wants the integer 1). See client-web/README.md.
//
// Prints the first 20 mismatches, a count per class and ends with
// `docop differential: N passed, N failed`; exits 1 on any failure. Node 18 or later.
// client-web/node_modules must be installed (`npm ci` in client-web): doc_op.js imports
// ot-text-unicode from there.


import { Doc, OpError, apply, compose, parseDocOp, positionBetween, transform }
  from '../../client-web/src/doc_op.js';
import { checkWellFormedJSON } from '../../client-web/src/unicode.js';
import { makeRandom, parseArgs, runTool } from './common.mjs';

// ---------------------------------------------------------------------------------------------
// Values

const PIECES = ['a', 'b', 'x', ' ', '\n', 'é', 'e\u0301', '学', '習', '🎓', '😀', '👩\u200d💻', 'ß', '"', '\\'];
const IDS = ['s0', 's1', 's2', 's3', 'n0', 'n1', 'Vision_2-a'];
const POSITIONS = ['1', 'V', 'V', 'a', 'k', 'z', 'VV', 'a1', '0V', 'zz1'];
const INSTS = ['uni-graz', 'uni-oulu', 'Universität Wien', 'Masaryk University', '東京大学'];
const USERS = ['u17', 'Ana Silva', 'Jan Novák', '😀 reviewer'];
const HASHES = ['fnv1a:9f3a', 'sha256:AbC+/=.-_', 'x'];
const FIELD_NAMES = ['prompt', 'ects', 'outcomes', 'assessment', 'eqf_level'];
const KINDS = ['course', 'unit', 'future_kind'];

const cp = (s) => [...s].length;
const cpSlice = (s, a, b) => [...s].slice(a, b).join('');

function text(rnd, max) {
  let s = '';
  const n = rnd.int(0, max);
  for (let i = 0; i < n; i++) s += rnd.pick(PIECES);
  return s;
}

function position(rnd) {
  if (rnd.chance(0.7)) return rnd.pick(POSITIONS);
  let a = rnd.pick(POSITIONS);
  let b = rnd.pick(POSITIONS);
  if (a > b) [a, b] = [b, a];
  if (rnd.chance(0.2)) a = '';
  if (rnd.chance(0.2) || a === b) b = '';
  return positionBetween(a, b);
}

function approval(rnd) {
  return {
    user: rnd.pick(USERS),
    time: rnd.pick([0, 1732900000000, 1732900000123, 2 ** 53]),
    hash: rnd.pick(HASHES),
  };
}

/// Named fields {name: text} for an add (half the time none), or, given the names a section
/// has, a subset of them for a restore. Empty texts count: a blank body and a prompt are the
/// template sections that refuse a lock.
function fieldTexts(rnd, names = null) {
  const out = {};
  if (names) {
    for (const n of names) if (rnd.chance(0.6)) out[n] = text(rnd, 3);
    return out;
  }
  if (rnd.chance(0.5)) return out;
  for (const n of FIELD_NAMES) if (rnd.chance(0.45)) out[n] = n === 'prompt' && rnd.chance(0.7) ? 'Write it' : text(rnd, 3);
  return out;
}

/// A random snapshot: sections in every state, a third of them with a kind and named fields
/// (then the snapshot is version 2).
function randomSnapshot(rnd) {
  const ids = IDS.filter(() => rnd.chance(0.55));
  let v2 = false;
  const sections = ids.map((id) => {
    const s = { id, pos: position(rnd) };
    const r = rnd.next();
    const structured = rnd.chance(0.35);
    if (structured) {
      v2 = true;
      if (rnd.chance(0.6)) s.kind = rnd.pick(KINDS);
      s.fields = fieldTexts(rnd);
    }
    if (r < 0.2) {
      s.removed = true;
      if (rnd.chance(0.5)) { s.title = ''; s.body = ''; }
      if (s.fields) for (const n of Object.keys(s.fields)) s.fields[n] = '';
    } else {
      s.title = text(rnd, 3);
      s.body = text(rnd, 10);
      if (r < 0.45) {
        s.locked = true;
        if (rnd.chance(0.6)) {
          s.approvals = {};
          for (const inst of INSTS) if (rnd.chance(0.3)) s.approvals[inst] = approval(rnd);
        }
      }
    }
    return s;
  });
  // Snapshot order is by id, but a reader must not depend on it.
  if (rnd.chance(0.3)) sections.reverse();
  return { v: v2 || rnd.chance(0.1) ? 2 : 1, sections };
}

/// A random text op for text, canonical (or, sometimes, with adjacent inserts and deletes that
/// the readers merge).
function textOp(rnd, doc) {
  const len = cp(doc);
  const op = [];
  let pos = 0;
  const parts = rnd.int(1, 4);
  for (let i = 0; i < parts; i++) {
    const r = rnd.next();
    if (r < 0.35 && pos < len) {
      const k = rnd.int(1, len - pos);
      if (typeof op[op.length - 1] === 'number') op[op.length - 1] += k;
      else op.push(k);
      pos += k;
    } else if (r < 0.7 || pos >= len) {
      op.push(text(rnd, 3) || '+');
    } else {
      const k = rnd.int(1, Math.min(3, len - pos));
      op.push({ d: rnd.chance(0.6) ? cpSlice(doc, pos, pos + k) : k });
      pos += k;
    }
  }
  if (typeof op[op.length - 1] === 'number') op.pop();
  if (rnd.chance(0.03)) op.push(len + 5); // does not fit (unless dropped)
  return op;
}

/// One component for the document state `doc` (a Doc); mostly one that applies.
function component(rnd, doc) {
  const id = rnd.chance(0.95) ? rnd.pick(IDS) : rnd.pick(['zz9', 'new-1']);
  const s = doc.section(id);
  const state = !s ? 'absent' : s.removed ? 'removed' : s.locked ? 'locked' : 'live';
  const wild = rnd.chance(0.12); // any kind, whatever the state
  const names = s ? [...s.fields.keys()] : [];
  const r = rnd.next();
  const field = names.length > 0 && r < 0.4 ? rnd.pick(names)
    : rnd.chance(0.03) ? rnd.pick(FIELD_NAMES) // maybe one the section does not have
      : rnd.chance(0.3) ? 'title' : 'body';
  const fieldOf = (sec) => (field === 'title' || field === 'body' ? sec[field] : sec.fields.get(field));
  const make = (kind) => {
    switch (kind) {
      case 'edit': {
        const t = s && fieldOf(s) !== undefined ? fieldOf(s) : text(rnd, 4);
        return { edit: id, f: field, op: textOp(rnd, t) };
      }
      case 'add': {
        const c = { add: id, pos: position(rnd), title: text(rnd, 3), body: text(rnd, 6) };
        if (rnd.chance(0.3)) c.kind = rnd.pick(KINDS);
        const f = fieldTexts(rnd);
        if (Object.keys(f).length || rnd.chance(0.1)) c.fields = f;
        return c;
      }
      case 'remove': return { remove: id };
      case 'restore': {
        const c = { restore: id, title: text(rnd, 3), body: text(rnd, 6) };
        const f = fieldTexts(rnd, rnd.chance(0.95) ? names : FIELD_NAMES);
        if (Object.keys(f).length) c.fields = f;
        return c;
      }
      case 'move': return { move: id, pos: position(rnd) };
      case 'lock': return { lock: id };
      case 'unlock': return { unlock: id };
      default: return { approve: id, inst: rnd.pick(INSTS), ...approval(rnd) };
    }
  };
  if (wild) return make(rnd.pick(['edit', 'add', 'remove', 'restore', 'move', 'lock', 'unlock', 'approve']));
  switch (state) {
    case 'absent': return make('add');
    case 'removed': return make(rnd.pick(['restore', 'restore', 'move', 'edit']));
    case 'locked': return make(rnd.pick(['approve', 'approve', 'unlock', 'move', 'edit']));
    default: return make(rnd.pick(['edit', 'edit', 'edit', 'edit', 'remove', 'move', 'lock', 'edit']));
  }
}

/// An op of 0..4 components made for doc, following its state through the op.
function docOp(rnd, doc, max = 4) {
  const out = [];
  let state = doc;
  const n = rnd.int(rnd.chance(0.05) ? 0 : 1, max);
  for (let i = 0; i < n; i++) {
    const c = component(rnd, state);
    out.push(c);
    try { state = apply(state, parseDocOp([c])); } catch { /* keep the state */ }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Malformed input: one mistake each

// A number written exactly so in the line (3.0, 1e3, ...): JSON.stringify cannot.
const raw = (text) => ({ $raw: text });

const BAD_COMPONENTS = [
  ['not an object', () => 5], ['an array', () => []], ['null', () => null], ['a string', () => 'edit'],
  ['no kind', () => ({ f: 'body', op: [] })],
  ['two kinds', () => ({ lock: 's1', unlock: 's1' })],
  ['unknown key', () => ({ remove: 's1', why: 'x' })],
  ['key of another kind', () => ({ move: 's1', pos: 'V', title: 'x' })],
  ['id not a string', (r) => ({ lock: r.pick([5, null, ['s1'], true]) })],
  ['id empty', () => ({ lock: '' })],
  ['id with a space', () => ({ lock: 's 1' })],
  ['id with a non-ASCII letter', () => ({ lock: 'sé' })],
  ['id of 65 characters', () => ({ lock: 'a'.repeat(65) })],
  ['id of 64 characters', () => ({ lock: 'a'.repeat(64) })], // valid: unknown_section on apply
  ['edit without f', () => ({ edit: 's1', op: [] })],
  ['edit with a bad f', (r) => ({ edit: 's1', f: r.pick(['Body', 'Text', '', '2x', 'a-b', 'x'.repeat(33), 1, null]), op: [] })],
  ['edit of a named field (valid)', (r) => ({ edit: 's1', f: r.pick(['text', 'ects', 'x'.repeat(32)]), op: ['x'] })],
  ['add with a bad kind', (r) => ({ add: 'n9', pos: 'V', kind: r.pick(['', 'Course', 'a b', 5, null, 'é', 'k'.repeat(33)]) })],
  ['add with bad fields', (r) => ({ add: 'n9', pos: 'V', fields: r.pick([
    [], 'x', null, 5, { ects: 5 }, { ECTS: 'x' }, { title: 'x' }, { body: '' }, { '': 'x' }, { 'é': 'x' },
    { ects: null }, Object.fromEntries([...Array(33).keys()].map((i) => [`f${i}`, ''])),
  ]) })],
  ['add with 32 fields (valid)', () => ({ add: 'n9', pos: 'V', fields: Object.fromEntries([...Array(32).keys()].map((i) => [`f${i}`, ''])) })],
  ['restore with a kind', () => ({ restore: 's1', kind: 'unit' })],
  ['restore with bad fields', (r) => ({ restore: 's1', fields: r.pick([[], { Ects: '' }, { ects: 1 }]) })],
  ['edit without op', () => ({ edit: 's1', f: 'body' })],
  ['edit with a bad text op', (r) => ({ edit: 's1', f: 'body', op: r.pick([
    5, 'x', {}, null, [0], [1, 1, 'x'], ['x', 3], [3], [''], [{ d: 0 }], [{ d: '' }], [true],
    [1.5, 'x'], [{ d: 1, x: 2 }], [{ d: null }], [-1, 'x'], [2 ** 53, 'x'], [2 ** 52, { d: 2 ** 52 }],
    [[1]], [null],
  ]) })],
  ['edit with an op written with 3.0', () => ({ edit: 's1', f: 'body', op: [raw('1.0'), 'x', { d: raw('1e0') }] })],
  ['add without pos', () => ({ add: 'n9' })],
  ['add with a bad pos', (r) => ({ add: 'n9', pos: r.pick(['', 'V0', '0', 'a b', 'V!', 'é', 5, null, 'z'.repeat(257)]) })],
  ['add with a pos of 256 digits', () => ({ add: 'n9', pos: 'z'.repeat(256) })],
  ['add with a title not a string', (r) => ({ add: 'n9', pos: 'V', title: r.pick([1, null, []]) })],
  ['restore with a body not a string', () => ({ restore: 's1', body: 7 })],
  ['move without pos', () => ({ move: 's1' })],
  ['approve without inst', () => ({ approve: 's1', user: 'u', time: 1, hash: 'h' })],
  ['approve without user', () => ({ approve: 's1', inst: 'i', time: 1, hash: 'h' })],
  ['approve without hash', () => ({ approve: 's1', inst: 'i', user: 'u', time: 1 })],
  ['approve without time', () => ({ approve: 's1', inst: 'i', user: 'u', hash: 'h' })],
  ['approve with a bad time', (r) => ({ approve: 's1', inst: 'i', user: 'u', hash: 'h',
    time: r.pick([-1, 2.5, '5', null, 2 ** 53 + 2, 1e300, raw('-1.5'), raw('1e20')]) })],
  ['approve with a time written 3.0 or 1e3', (r) => ({ approve: 's1', inst: 'i', user: 'u', hash: 'h',
    time: raw(r.pick(['3.0', '1e3', '-0', '0.0', '9007199254740992'])) })],
  ['approve with a bad name', (r) => {
    const bad = r.pick(['', 'a\nb', 'tab\there', 'del\x7f', 'é'.repeat(65), 'x'.repeat(129)]);
    return r.chance(0.5) ? { approve: 's1', inst: bad, user: 'u', time: 1, hash: 'h' }
      : { approve: 's1', inst: 'i', user: bad, time: 1, hash: 'h' };
  }],
  ['approve with a C1 control or 128 bytes (valid)', (r) => ({ approve: 's1',
    inst: r.pick(['a\u0085b', 'é'.repeat(64), 'x'.repeat(128)]), user: 'u', time: 1, hash: 'h' })],
  ['approve with a bad hash', (r) => ({ approve: 's1', inst: 'i', user: 'u', time: 1,
    hash: r.pick(['', 'a b', 'é', 'x'.repeat(129), 5]) })],
  ['a lone surrogate in a text', (r) => r.pick([
    { add: 'n9', pos: 'V', title: 'a\ud800' },
    { edit: 's1', f: 'body', op: ['\udc00x'] },
    { add: 'n9', pos: 'V', fields: { ects: '5\ud800' } },
    { approve: 's1', inst: '\ud83d', user: 'u', time: 1, hash: 'h' },
  ])],
];

function badOp(rnd, doc) {
  const [name, make] = rnd.pick(BAD_COMPONENTS);
  if (rnd.chance(0.05)) {
    return [`op not an array`, rnd.pick([{}, 'x', null, 5, { edit: 's1' }])];
  }
  const good = docOp(rnd, doc, 2);
  const at = rnd.int(0, good.length);
  good.splice(at, 0, make(rnd));
  return [name, good];
}

const BAD_SNAPSHOTS = [
  ['not an object', () => (d, r) => r.pick([[], 'x', null, 1])],
  ['unknown top key', () => (d) => ({ ...d, w: 1 })],
  ['bad version', () => (d, r) => ({ ...d, v: r.pick([3, '1', '2', null, 0, 1.5]) })],
  ['no version', () => (d) => ({ sections: d.sections })],
  ['sections not an array', () => (d, r) => ({ v: 1, sections: r.pick([{}, null, 'x']) })],
  ['section not an object', () => (d, r) => ({ v: 1, sections: [...d.sections, r.pick([1, null, []])] })],
  ['section with an unknown key', () => (d) => withSection(d, (s) => ({ ...s, colour: 'red' }))],
  ['section without id', () => (d) => withSection(d, ({ id, ...s }) => s)],
  ['section with a bad id', () => (d, r) => withSection(d, (s) => ({ ...s, id: r.pick(['', 'a b', 5, 'x'.repeat(65)]) }))],
  ['section without pos', () => (d) => withSection(d, ({ pos, ...s }) => s)],
  ['section with a bad pos', () => (d, r) => withSection(d, (s) => ({ ...s, pos: r.pick(['', 'a0', '-', null]) }))],
  ['section with a title not a string', () => (d) => withSection(d, (s) => ({ ...s, title: 5 }))],
  ['section with removed not a boolean', () => (d, r) => withSection(d, (s) => ({ ...s, removed: r.pick([1, 'true', null]) }))],
  ['removed section with text', () => (d) => withSection(d, (s) => ({ id: s.id, pos: s.pos, removed: true, body: 'x' }))],
  ['removed and locked section', () => (d) => withSection(d, (s) => ({ id: s.id, pos: s.pos, removed: true, locked: true }))],
  ['approvals on an unlocked section', () => (d) => withSection(d, (s) => ({ id: s.id, pos: s.pos, approvals: { i: { user: 'u', time: 1, hash: 'h' } } }))],
  ['empty approvals on an unlocked section (valid)', () => (d) => withSection(d, (s) => ({ id: s.id, pos: s.pos, approvals: {} }))],
  ['approvals not an object', () => (d) => withSection(d, (s) => ({ id: s.id, pos: s.pos, locked: true, approvals: [] }))],
  ['a bad approval', () => (d, r) => withSection(d, (s) => ({ id: s.id, pos: s.pos, locked: true,
    approvals: r.pick([{ i: 5 }, { i: { user: 'u', time: 1 } }, { i: { user: 'u', time: -1, hash: 'h' } },
      { i: { user: 'u', time: 1, hash: 'h', x: 1 } }, { '': { user: 'u', time: 1, hash: 'h' } },
      { 'a\tb': { user: 'u', time: 1, hash: 'h' } }, { i: { user: '', time: 1, hash: 'h' } },
      { i: { user: 'u', time: raw('2.0'), hash: 'h' } }, { i: { user: 'u', hash: 'h' } }]) }))],
  ['duplicate id', () => (d) => (d.sections.length ? { v: 1, sections: [...d.sections, { ...d.sections[0] }] } : { v: 1, sections: [{ id: 'a', pos: 'V' }, { id: 'a', pos: 'W' }] })],
  ['a lone surrogate', () => (d) => withSection(d, (s) => ({ id: s.id, pos: s.pos, title: 'x\udbff' }))],
  ['kind or fields in version 1', () => (d, r) => ({ v: 1, sections: withSection(d, (s) => (r.chance(0.5) ? { id: s.id, pos: s.pos, kind: 'unit' } : { id: s.id, pos: s.pos, fields: {} })).sections })],
  ['version 2 with a bad kind', () => (d, r) => ({ v: 2, sections: withSection(d, (s) => ({ id: s.id, pos: s.pos, kind: r.pick(['', 'Unit', 3]) })).sections })],
  ['version 2 with bad fields', () => (d, r) => ({ v: 2, sections: withSection(d, (s) => ({ id: s.id, pos: s.pos, fields: r.pick([[], { x: 1 }, { title: '' }, { X: '' }, null]) })).sections })],
  ['version 2 tombstone with field text', () => (d) => ({ v: 2, sections: withSection(d, (s) => ({ id: s.id, pos: s.pos, removed: true, fields: { ects: '5' } })).sections })],
  ['version 2 tombstone with empty fields (valid)', () => (d) => ({ v: 2, sections: withSection(d, (s) => ({ id: s.id, pos: s.pos, removed: true, kind: 'unit', fields: { ects: '' } })).sections })],
];

function withSection(d, f) {
  const sections = d.sections.length ? d.sections.slice() : [{ id: 'a', pos: 'V' }];
  const i = Math.floor(sections.length / 2);
  sections[i] = f(sections[i]);
  return { v: d.v, sections };
}

// ---------------------------------------------------------------------------------------------
// Cases: each is { cls, line } and the JS answer is computed from the line itself.

function stringify(req) {
  const raws = [];
  const s = JSON.stringify(req, (k, v) => {
    if (v && typeof v === 'object' && typeof v.$raw === 'string') {
      raws.push(v.$raw);
      return `@@RAW${raws.length - 1}@@`;
    }
    return v;
  });
  return s.replace(/"@@RAW(\d+)@@"/g, (m, i) => raws[Number(i)]);
}

function generate(rnd) {
  const snap = randomSnapshot(rnd);
  const doc = Doc.fromJSON(snap);
  const r = rnd.next();
  if (r < 0.32) {
    return { cls: 'apply', req: { op: 'apply', doc: snap, a: docOp(rnd, doc) } };
  }
  if (r < 0.55) {
    const a = docOp(rnd, doc);
    const b = docOp(rnd, doc);
    return { cls: 'transform', req: { op: 'transform', a, b, side: rnd.pick(['left', 'right']) } };
  }
  if (r < 0.60) {
    // transform then apply: the op as the server would apply it after another.
    const a = docOp(rnd, doc);
    const b = docOp(rnd, doc);
    let after;
    try { after = apply(doc, parseDocOp(b)).toJSON(); } catch { after = snap; }
    let a2;
    try { a2 = transform(parseDocOp(a), parseDocOp(b), rnd.pick(['left', 'right'])); } catch { a2 = a; }
    return { cls: 'apply after transform', req: { op: 'apply', doc: after, a: a2 } };
  }
  if (r < 0.72) {
    const a = docOp(rnd, doc);
    let mid = doc;
    try { mid = apply(doc, parseDocOp(a)); } catch { /* b on the original */ }
    const b = docOp(rnd, mid);
    if (rnd.chance(0.3)) {
      // compose, then apply the composition
      let c;
      try { c = compose(parseDocOp(a), parseDocOp(b)); } catch { c = a; }
      return { cls: 'apply of a composition', req: { op: 'apply', doc: snap, a: c } };
    }
    return { cls: 'compose', req: { op: 'compose', a, b } };
  }
  if (r < 0.84) {
    const [name, op] = badOp(rnd, doc);
    const kind = rnd.pick(['parse', 'apply', 'transform', 'compose']);
    const other = docOp(rnd, doc);
    const [a, b] = rnd.chance(0.5) ? [op, other] : [other, op];
    const req = kind === 'parse' ? { op: kind, a: op }
      : kind === 'apply' ? { op: kind, doc: snap, a: op }
        : kind === 'transform' ? { op: kind, a, b, side: 'left' } : { op: kind, a, b };
    return { cls: `malformed op: ${name}`, req };
  }
  if (r < 0.92) {
    const [name, make] = rnd.pick(BAD_SNAPSHOTS);
    const bad = make()(snap, rnd);
    return { cls: `snapshot: ${name}`, req: rnd.chance(0.5) ? { op: 'document', doc: bad }
      : { op: 'apply', doc: bad, a: docOp(rnd, doc) } };
  }
  if (r < 0.96) {
    return { cls: rnd.chance(0.5) ? 'document' : 'ordered', req: { op: rnd.chance(0.5) ? 'document' : 'ordered', doc: snap } };
  }
  // position keys: valid pairs, reversed pairs, invalid keys, long keys
  let before = rnd.chance(0.3) ? '' : rnd.pick([...POSITIONS, 'zzz', '01', '001', '0001', 'V1', 'Vz']);
  let after = rnd.chance(0.3) ? '' : rnd.pick([...POSITIONS, 'zzz', '01', '001', 'V1', 'Vz', 'V01']);
  if (rnd.chance(0.05)) before = rnd.pick(['V0', 'a b', '0']);
  if (rnd.chance(0.03)) after = 'z'.repeat(256);
  if (rnd.chance(0.03)) { before = '0'.repeat(254) + '1'; after = '0'.repeat(255) + '1'; }
  if (rnd.chance(0.5) && before && after && before > after) [before, after] = [after, before];
  return { cls: 'position_between', req: { op: 'position_between', before, after } };
}

// The JS side of every request, as jointly-docop answers it.
function jsAnswer(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return { error: { code: 'invalid_json' } };
  }
  const err = (code, message) => ({ error: { code, message } });
  try {
    // The tool's JSON reader refuses a line with a lone surrogate escape anywhere.
    checkWellFormedJSON(req, (w) => { throw new OpError('invalid_utf8', w); });
    if (req === null || typeof req !== 'object' || Array.isArray(req)) return err('invalid_request', 'not an object');
    const has = (k) => Object.prototype.hasOwnProperty.call(req, k);
    const docOf = () => {
      if (!has('doc')) throw new OpError('invalid_request', 'no doc');
      return Doc.fromJSON(req.doc);
    };
    const opOf = (k) => {
      if (!has(k)) throw new OpError('invalid_request', `no ${k}`);
      return parseDocOp(req[k]);
    };
    switch (req.op) {
      case 'apply': {
        const doc = docOf();
        return { result: apply(doc, opOf('a')).toJSON() };
      }
      case 'transform': {
        if (req.side !== 'left' && req.side !== 'right') return err('invalid_request', 'side');
        const a = opOf('a');
        const b = opOf('b');
        return { result: transform(a, b, req.side) };
      }
      case 'compose': {
        const a = opOf('a');
        const b = opOf('b');
        return { result: compose(a, b) };
      }
      case 'parse': return { result: opOf('a') };
      case 'document': return { result: docOf().toJSON() };
      case 'ordered': return { result: docOf().ordered().map((s) => s.id) };
      case 'position_between':
        if (typeof req.before !== 'string' || typeof req.after !== 'string') return err('invalid_request', 'keys');
        return { result: positionBetween(req.before, req.after) };
      default:
        return err('invalid_request', 'unknown op');
    }
  } catch (e) {
    if (e instanceof OpError) return err(e.code, e.message);
    return err('js_exception', String(e && e.stack || e));
  }
}

// JSON with object keys sorted, for comparing values whatever their key order.
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function compare(js, answer) {
  let got;
  try {
    got = JSON.parse(answer);
  } catch {
    return `the answer is not JSON: ${answer.slice(0, 200)}`;
  }
  if (js.error) {
    if (!got.error) return `JS says error ${js.error.code} (${js.error.message}), C++ says ${canonical(got.result).slice(0, 300)}`;
    if (got.error.code !== js.error.code) {
      return `JS says error ${js.error.code} (${js.error.message}), C++ says error ${got.error.code} (${got.error.message})`;
    }
    return null;
  }
  if (got.error) return `JS says ${canonical(js.result).slice(0, 300)}, C++ says error ${got.error.code} (${got.error.message})`;
  const a = canonical(js.result);
  const b = canonical(got.result);
  return a === b ? null : `JS says ${a.slice(0, 400)}\n  C++ says ${b.slice(0, 400)}`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2), { script: 'docop_differential.mjs', cases: 30000 });
  const rnd = makeRandom(args.seed);
  const cases = [];
  for (let i = 0; i < args.cases; i++) {
    const c = generate(rnd);
    c.line = stringify(c.req);
    cases.push(c);
  }

  const { answers, code, signal } = await runTool(args.bin, cases.map((c) => c.line));

  let passed = 0;
  let failed = 0;
  const mismatches = [];
  const byClass = new Map();
  const outcomes = new Map();
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    const js = jsAnswer(c.line);
    const problem = i < answers.length ? compare(js, answers[i]) : 'no answer';
    const stat = byClass.get(c.cls) || { passed: 0, failed: 0 };
    const outcome = js.error ? js.error.code : 'result';
    outcomes.set(outcome, (outcomes.get(outcome) || 0) + 1);
    if (problem === null) { passed++; stat.passed++; }
    else {
      failed++; stat.failed++;
      if (mismatches.length < 20) mismatches.push(`case ${i} [${c.cls}]: ${problem}\n  request: ${c.line.slice(0, 600)}`);
    }
    byClass.set(c.cls, stat);
  }
  if (answers.length > cases.length) {
    failed++;
    mismatches.push(`${answers.length - cases.length} answers more than requests`);
  }
  if (code !== 0) {
    failed++;
    mismatches.push(`jointly-docop exited with ${signal ? `signal ${signal}` : `code ${code}`}`);
  }
  for (const m of mismatches) console.log(m);
  console.log('cases by class (passed/failed):');
  for (const k of [...byClass.keys()].sort()) console.log(`  ${k}: ${byClass.get(k).passed}/${byClass.get(k).failed}`);
  console.log('answers by outcome: ' + [...outcomes.entries()].sort().map(([k, n]) => `${k} ${n}`).join(', '));
  console.log(`docop differential: ${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(`docop differential: ${e.stack || e}`);
  console.log('docop differential: 0 passed, 1 failed');
  process.exitCode = 1;
});
