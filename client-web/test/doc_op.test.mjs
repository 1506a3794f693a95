// Unit tests of src/doc_op.js (and the small modules under it): each rule of
// protocol/PROTOCOL.md "Document operations" as a sentence. The JS and the C++ core are compared
// case by case by tests/differential/docop_differential.mjs; these say what the rules are.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  Doc, OpError, apply, check, compose, parseDocOp, positionBetween, sectionsTouched, transform,
  transformPresence, typedText,
} from '../src/doc_op.js';
import { parseTextOp, unmapPosition } from '../src/text_op.js';
import { compareCodePoints } from '../src/unicode.js';

const doc = (...sections) => Doc.fromJSON({ v: 1, sections });
const S1 = { id: 's1', pos: 'V', title: 'Vision', body: 'Joint 🎓 course' };
const S2 = { id: 's2', pos: 'k', title: 'ECTS', body: '5 ECTS' };
const LOCKED = { id: 's3', pos: 'a', title: 'Outcomes', body: 'x', locked: true,
  approvals: { 'Uni Graz': { user: 'ana', time: 1732900000000, hash: 'fnv1a:1' } } };
const GONE = { id: 's4', pos: 'z', removed: true };
const D = doc(S1, S2, LOCKED, GONE);

const codeOf = (fn) => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof OpError, `not an OpError: ${e}`);
    return e.code;
  }
  return null;
};
const run = (d, op) => apply(d, parseDocOp(op));
const body = (d, id) => d.section(id).body;

describe('text ops', () => {
  it('reads ops in canonical form, merging adjacent inserts and deletes', () => {
    assert.deepEqual(parseTextOp([1, 'a', 'b', { d: 'x' }, { d: 2 }]), [1, 'ab', { d: 3 }]);
  });
  it('accepts whole numbers written as 3.0', () => {
    assert.deepEqual(parseTextOp(JSON.parse('[3.0, "x"]')), [3, 'x']);
  });
  it('refuses what the package lets through: booleans, fractions, extra keys, lone surrogates', () => {
    assert.equal(codeOf(() => parseTextOp([1, true])), 'invalid_op');
    assert.equal(codeOf(() => parseTextOp([1.5, 'x'])), 'invalid_op');
    assert.equal(codeOf(() => parseTextOp([{ d: 1, x: 2 }])), 'invalid_op');
    assert.equal(codeOf(() => parseTextOp(['\ud800'])), 'invalid_utf8');
    assert.equal(codeOf(() => parseTextOp([2 ** 53, 'x'])), 'invalid_op');
  });
  it('refuses adjacent and trailing skips', () => {
    assert.equal(codeOf(() => parseTextOp([1, 1, 'x'])), 'invalid_op');
    assert.equal(codeOf(() => parseTextOp(['x', 3])), 'invalid_op');
  });
  it('maps a position back through an op, inserted text to its place', () => {
    assert.equal(unmapPosition(5, [2, 'abc']), 2);
    assert.equal(unmapPosition(6, [2, 'abc']), 3);
    assert.equal(unmapPosition(1, [{ d: 2 }]), 3);
  });
});

describe('positions and order', () => {
  it('makes the same first, appended and prepended keys as the C++ core', () => {
    assert.equal(positionBetween('', ''), 'V');
    assert.equal(positionBetween('V', ''), 'W');
    assert.equal(positionBetween('', 'V'), 'U');
    assert.equal(positionBetween('V', 'W'), 'VV');
    assert.equal(positionBetween('', '1'), '0V');
  });
  it('always finds a key strictly between two keys', () => {
    let lo = 'V';
    const hi = 'W';
    for (let i = 0; i < 200; i++) {
      const k = positionBetween(lo, hi);
      assert.ok(lo < k && k < hi, `${lo} < ${k} < ${hi}`);
      lo = k;
    }
  });
  it('refuses keys that are not in order', () => {
    assert.equal(codeOf(() => positionBetween('W', 'V')), 'invalid_op');
    assert.equal(codeOf(() => positionBetween('V0', '')), 'invalid_op');
  });
  it('orders live sections by key, then by id, leaving tombstones out', () => {
    const d = doc({ id: 'b', pos: 'V' }, { id: 'a', pos: 'V' }, { id: 'c', pos: 'U' }, { id: 'd', pos: 'A', removed: true });
    assert.deepEqual(d.ordered().map((s) => s.id), ['c', 'a', 'b']);
  });
  it('sorts names by code point, as UTF-8 bytes sort', () => {
    assert.equal(compareCodePoints('\uffff', '😀'), -1); // UTF-16 order would say the opposite
  });
});

describe('snapshots', () => {
  it('round-trip, sections sorted by id and flags left out when false', () => {
    const j = D.toJSON();
    assert.deepEqual(j.sections.map((s) => s.id), ['s1', 's2', 's3', 's4']);
    assert.equal('locked' in j.sections[0], false);
    assert.deepEqual(Doc.fromJSON(j).toJSON(), j);
  });
  it('refuse a tombstone with text, approvals on an unlocked section and duplicate ids', () => {
    assert.equal(codeOf(() => doc({ id: 'a', pos: 'V', removed: true, body: 'x' })), 'invalid_document');
    assert.equal(codeOf(() => doc({ id: 'a', pos: 'V', approvals: { i: { user: 'u', time: 1, hash: 'h' } } })), 'invalid_document');
    assert.equal(codeOf(() => doc({ id: 'a', pos: 'V' }, { id: 'a', pos: 'W' })), 'invalid_document');
  });
  it('refuse unknown keys and text that is not valid Unicode', () => {
    assert.equal(codeOf(() => doc({ id: 'a', pos: 'V', colour: 'red' })), 'invalid_document');
    assert.equal(codeOf(() => doc({ id: 'a', pos: 'V', title: 'x\udc00' })), 'invalid_utf8');
  });
});

describe('parsing ops', () => {
  it('fills in a left-out title and body', () => {
    assert.deepEqual(parseDocOp([{ add: 'n1', pos: 'V' }]), [{ add: 'n1', pos: 'V', title: '', body: '' }]);
  });
  it('names the component and its section in errors', () => {
    try {
      parseDocOp([{ lock: 's1' }, { edit: 's2', f: 'body', op: [0] }]);
      assert.fail('parsed');
    } catch (e) {
      assert.equal(e.code, 'invalid_op');
      assert.match(e.message, /^component 1 \(edit of section "s2"\): op\[0\] is a skip of 0/);
    }
  });
  it('refuses two kinds, unknown keys, bad ids, keys, names and hashes', () => {
    for (const bad of [
      { lock: 's1', unlock: 's1' }, { remove: 's1', x: 1 }, { lock: 'a b' }, { move: 's1', pos: 'V0' },
      { approve: 's1', inst: 'a\nb', user: 'u', time: 1, hash: 'h' },
      { approve: 's1', inst: 'i', user: 'u', time: 1.5, hash: 'h' },
      { approve: 's1', inst: 'i', user: 'u', time: 1, hash: 'a b' },
    ]) assert.equal(codeOf(() => parseDocOp([bad])), 'invalid_op', JSON.stringify(bad));
  });
});

describe('apply', () => {
  it('edits a field, counting code points', () => {
    assert.equal(body(run(D, [{ edit: 's1', f: 'body', op: [7, ' joint'] }]), 's1'), 'Joint 🎓 joint course');
  });
  it('lets an op add a section and then edit it', () => {
    const d = run(D, [{ add: 'n1', pos: 'b', body: 'ab' }, { edit: 'n1', f: 'body', op: [2, 'c'] }]);
    assert.equal(body(d, 'n1'), 'abc');
  });
  it('drops an edit of a removed section', () => {
    assert.deepEqual(run(D, [{ edit: 's4', f: 'body', op: [9, 'x'] }]).toJSON(), D.toJSON());
  });
  it('refuses an edit of a locked section, but not an empty one', () => {
    assert.equal(codeOf(() => run(D, [{ edit: 's3', f: 'body', op: ['x'] }])), 'section_locked');
    assert.deepEqual(run(D, [{ edit: 's3', f: 'body', op: [] }]).toJSON(), D.toJSON());
  });
  it('refuses a text op longer than its field', () => {
    assert.equal(codeOf(() => run(D, [{ edit: 's2', f: 'body', op: [6, { d: 1 }] }])), 'out_of_range');
  });
  it('is all or nothing', () => {
    assert.equal(codeOf(() => run(D, [{ edit: 's1', f: 'body', op: ['x'] }, { lock: 's3' }])), 'section_locked');
    assert.equal(body(D, 's1'), S1.body);
  });
  it('empties a removed section and restores it with the text given', () => {
    const d = run(D, [{ remove: 's1' }]);
    assert.equal(d.section('s1').body, '');
    assert.equal(d.section('s1').removed, true);
    assert.equal(run(d, [{ restore: 's1', body: 'back' }]).section('s1').body, 'back');
  });
  it('clears the approvals on unlock', () => {
    assert.equal(run(D, [{ unlock: 's3' }]).section('s3').approvals.size, 0);
  });
  it('answers each refusal with its code', () => {
    const cases = [
      [[{ lock: 'nope' }], 'unknown_section'], [[{ add: 's4', pos: 'V' }], 'section_exists'],
      [[{ remove: 's4' }], 'section_removed'], [[{ restore: 's1' }], 'section_not_removed'],
      [[{ remove: 's3' }], 'section_locked'], [[{ lock: 's3' }], 'section_locked'],
      [[{ unlock: 's1' }], 'section_not_locked'],
      [[{ approve: 's1', inst: 'i', user: 'u', time: 1, hash: 'h' }], 'section_not_locked'],
    ];
    for (const [op, code] of cases) assert.equal(check(D, parseDocOp(op))?.code, code, JSON.stringify(op));
  });
  it('never changes the document it was given', () => {
    const before = JSON.stringify(D.toJSON());
    run(D, [{ edit: 's1', f: 'title', op: ['A '] }, { remove: 's2' }, { move: 's4', pos: 'A' }]);
    assert.equal(JSON.stringify(D.toJSON()), before);
  });
});

describe('transform', () => {
  const T = (a, b, side) => transform(parseDocOp(a), parseDocOp(b), side);
  it('lets components on different sections pass each other unchanged', () => {
    assert.deepEqual(T([{ lock: 's1' }], [{ remove: 's2' }], 'left'), [{ lock: 's1' }]);
  });
  it('puts the left side\'s insert first', () => {
    const a = [{ edit: 's1', f: 'body', op: [1, 'X'] }];
    const b = [{ edit: 's1', f: 'body', op: [1, 'Y'] }];
    assert.deepEqual(T(a, b, 'left'), a);
    assert.deepEqual(T(a, b, 'right'), [{ edit: 's1', f: 'body', op: [2, 'X'] }]);
  });
  it('drops an edit of a section the other side removed', () => {
    assert.deepEqual(T([{ edit: 's1', f: 'body', op: ['x'] }], [{ remove: 's1' }], 'left'), []);
  });
  it('keeps an edit of a section the other side locked, so that apply refuses it', () => {
    assert.deepEqual(T([{ edit: 's1', f: 'body', op: ['x'] }], [{ lock: 's1' }], 'left'), [{ edit: 's1', f: 'body', op: ['x'] }]);
  });
  it('lets the left move, lock-or-unlock and approval win', () => {
    assert.deepEqual(T([{ move: 's1', pos: 'a' }], [{ move: 's1', pos: 'b' }], 'left'), [{ move: 's1', pos: 'a' }]);
    assert.deepEqual(T([{ move: 's1', pos: 'a' }], [{ move: 's1', pos: 'b' }], 'right'), []);
    assert.deepEqual(T([{ unlock: 's3' }], [{ lock: 's3' }], 'right'), []);
  });
  it('turns the left of two restores into edits replacing the other\'s text', () => {
    assert.deepEqual(T([{ restore: 's4', title: 'A' }], [{ restore: 's4', title: 'B' }], 'left'),
      [{ edit: 's4', f: 'title', op: [{ d: 'B' }, 'A'] }]);
    assert.deepEqual(T([{ restore: 's4', title: 'A' }], [{ restore: 's4', title: 'B' }], 'right'), []);
  });
  it('converges: a then b\' equals b then a\' for random ops on one document', () => {
    const ops = [
      [{ edit: 's1', f: 'body', op: [3, 'ab'] }], [{ edit: 's1', f: 'body', op: [{ d: 'Joi' }, 'J'] }],
      [{ remove: 's2' }], [{ edit: 's2', f: 'title', op: ['New '] }], [{ move: 's2', pos: 'A' }],
      [{ move: 's2', pos: 'B' }], [{ unlock: 's3' }], [{ approve: 's3', inst: 'Uni Graz', user: 'b', time: 2, hash: 'h' }],
      [{ restore: 's4', body: 'one' }], [{ restore: 's4', body: 'two' }],
      [{ edit: 's1', f: 'body', op: [7, 'x'] }, { lock: 's1' }], [{ add: 'n1', pos: 'b', body: 'new' }],
    ].map((op) => parseDocOp(op));
    for (const a of ops) {
      for (const b of ops) {
        const left = check(apply(D, b), transform(a, b, 'left')) ? null : apply(apply(D, b), transform(a, b, 'left'));
        const right = check(apply(D, a), transform(b, a, 'right')) ? null : apply(apply(D, a), transform(b, a, 'right'));
        if (left && right) assert.deepEqual(left.toJSON(), right.toJSON(), `${JSON.stringify(a)} / ${JSON.stringify(b)}`);
      }
    }
  });
});

describe('compose and the rest', () => {
  it('composes adjacent edits of one field into one', () => {
    const c = compose(parseDocOp([{ edit: 's1', f: 'body', op: ['a'] }]), parseDocOp([{ edit: 's1', f: 'body', op: [1, 'b'] }]));
    assert.deepEqual(c, [{ edit: 's1', f: 'body', op: ['ab'] }]);
  });
  it('keeps an edit that composes to nothing, as the C++ core does', () => {
    const c = compose(parseDocOp([{ edit: 's1', f: 'body', op: ['a'] }]), parseDocOp([{ edit: 's1', f: 'body', op: [{ d: 1 }] }]));
    assert.deepEqual(c, [{ edit: 's1', f: 'body', op: [] }]);
  });
  it('applies a composition like the two ops in turn', () => {
    const a = parseDocOp([{ add: 'n1', pos: 'b' }, { edit: 's1', f: 'title', op: [6, '!'] }]);
    const b = parseDocOp([{ edit: 's1', f: 'title', op: [{ d: 1 }] }, { lock: 'n1' }]);
    assert.deepEqual(apply(D, compose(a, b)).toJSON(), apply(apply(D, a), b).toJSON());
  });
  it('lists the sections an op touches', () => {
    assert.deepEqual(sectionsTouched(parseDocOp([{ lock: 's2' }, { remove: 's1' }, { unlock: 's2' }])), ['s1', 's2']);
  });
  it('moves a cursor with edits of its field and clears it when its section goes', () => {
    const p = { section: 's1', field: 'body', anchor: 2, head: 5 };
    assert.deepEqual(transformPresence(p, parseDocOp([{ edit: 's1', f: 'body', op: ['ab'] }])), { ...p, anchor: 4, head: 7 });
    assert.deepEqual(transformPresence(p, parseDocOp([{ edit: 's1', f: 'title', op: ['ab'] }])), p);
    assert.equal(transformPresence(p, parseDocOp([{ remove: 's1' }])), null);
  });
  it('finds the text a user typed in an op', () => {
    assert.deepEqual(typedText(parseDocOp([{ edit: 's1', f: 'body', op: [2, 'hi'] }, { add: 'n', pos: 'V', title: 'T' }])),
      [{ section: 's1', field: 'body', text: 'hi' }, { section: 'n', field: 'title', text: 'T' }]);
  });
});

describe('kinds and named fields', () => {
  const COURSE = { id: 'c', pos: 'V', title: 'Course', body: '', kind: 'course', fields: { ects: '5', outcomes: 'LO1: plan' } };
  const TEMPLATE = { id: 't', pos: 'k', title: 'Joint vision', body: '', fields: { prompt: 'Which needs?' } };
  const C = Doc.fromJSON({ v: 2, sections: [COURSE, TEMPLATE] });

  it('adds a section with a kind and named fields and edits them live', () => {
    const d = run(Doc.fromJSON({ v: 1, sections: [] }), [{ add: 'u1', pos: 'V', title: 'Unit 1', kind: 'unit', fields: { ects: '2' } }]);
    assert.equal(d.section('u1').kind, 'unit');
    const e = run(d, [{ edit: 'u1', f: 'ects', op: [1, ',5'] }]);
    assert.equal(e.section('u1').fields.get('ects'), '2,5');
    assert.deepEqual(e.toJSON().sections[0].fields, { ects: '2,5' });
    assert.equal(e.toJSON().v, 2);
  });
  it('refuses an edit of a field the section does not have with unknown_field', () => {
    assert.equal(codeOf(() => run(C, [{ edit: 't', f: 'ects', op: ['5'] }])), 'unknown_field');
    assert.equal(codeOf(() => parseDocOp([{ edit: 't', f: 'Ects', op: [] }])), 'invalid_op');
  });
  it('refuses a lock of a template section whose body is blank with section_incomplete', () => {
    assert.equal(codeOf(() => run(C, [{ lock: 't' }])), 'section_incomplete');
    assert.equal(codeOf(() => run(C, [{ edit: 't', f: 'body', op: [' \n'] }, { lock: 't' }])), 'section_incomplete');
    assert.ok(run(C, [{ edit: 't', f: 'body', op: ['Needs'] }, { lock: 't' }]).section('t').locked);
    assert.ok(run(C, [{ lock: 'c' }]).section('c').locked); // no prompt: no rule
  });
  it('empties every field on remove and brings listed ones back on restore', () => {
    const gone = run(C, [{ remove: 'c' }]);
    assert.deepEqual([...gone.section('c').fields.values()], ['', '']);
    assert.equal(gone.section('c').kind, 'course');
    const back = run(gone, [{ restore: 'c', fields: { ects: '6' } }]);
    assert.equal(back.section('c').fields.get('ects'), '6');
    assert.equal(back.section('c').fields.get('outcomes'), '');
    assert.equal(codeOf(() => run(gone, [{ restore: 'c', fields: { eqf: '6' } }])), 'unknown_field');
  });
  it('keeps version 1 snapshots as they were and refuses kinds in them', () => {
    assert.equal(D.toJSON().v, 1);
    assert.equal(codeOf(() => Doc.fromJSON({ v: 1, sections: [{ id: 'a', pos: 'V', kind: 'unit' }] })), 'invalid_document');
    assert.deepEqual(Doc.fromJSON(C.toJSON()).toJSON(), C.toJSON());
  });
  it('transforms edits of one named field as text and lets edits of others pass', () => {
    const a = parseDocOp([{ edit: 'c', f: 'ects', op: ['1'] }]);
    const b = parseDocOp([{ edit: 'c', f: 'ects', op: ['2'] }]);
    const x = apply(apply(C, a), transform(b, a, 'right'));
    const y = apply(apply(C, b), transform(a, b, 'left'));
    assert.deepEqual(x.toJSON(), y.toJSON());
    const other = parseDocOp([{ edit: 'c', f: 'outcomes', op: ['x'] }]);
    assert.deepEqual(transform(a, other, 'left'), a);
    assert.equal(compose(a, other).length, 2);
  });
  it('lists the text typed into named fields of an add', () => {
    assert.deepEqual(typedText([{ add: 'u', pos: 'V', title: '', body: '', fields: { ects: '5' } }]),
      [{ section: 'u', field: 'ects', text: '5' }]);
  });
});
