// Unit tests of src/ui/signoff.js: the section hash (the bytes of the contract, and fixed
// vectors computed with node's own crypto), role-based controls and the sign-off matrix.

import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { describe, it } from 'node:test';

import { Doc, apply } from '../../doc_op.js';
import {
  MatrixChanges, can, sectionControls, sectionHash, sectionHashInput, sha256, shortHash, signoffMatrix,
  textFieldsOf,
} from '../signoff.js';

// The contract's bytes, built independently of the code under test: for body then title, the
// name, "\n", the UTF-8 length in decimal, "\n", the UTF-8 bytes.
function contractBytes(fields) {
  const parts = [];
  for (const name of Object.keys(fields).sort()) {
    const text = Buffer.from(fields[name], 'utf8');
    parts.push(Buffer.from(`${name}\n${text.length}\n`, 'utf8'), text);
  }
  return Buffer.concat(parts);
}
const nodeHash = (fields) => `sha256:${createHash('sha256').update(contractBytes(fields)).digest('hex')}`;
const hashOf = (section) => sectionHash(section, webcrypto.subtle);

const SNAP = {
  v: 1,
  sections: [
    { id: 'a', pos: 'V', title: 'Joint vision', body: 'Needs', locked: true,
      approvals: {
        'Universität Graz': { user: 'Ana Silva', time: 1732900000000, hash: 'sha256:00' },
        'Masaryk University': { user: 'Jan Novák', time: 1732900005000, hash: 'sha256:00' },
      } },
    { id: 'b', pos: 'W', title: 'ECTS', body: '5', locked: true,
      approvals: { 'Masaryk University': { user: 'Jan Novák', time: 1732900009000, hash: 'sha256:01' } } },
    { id: 'c', pos: 'X', title: 'Draft', body: '' },
    { id: 'd', pos: 'Y', title: '', body: '', removed: true },
  ],
};
const TEAM = ['Universität Graz', 'Masaryk University'];

describe('the section hash', () => {
  it('is computed over body then title, each as name, length in UTF-8 bytes and text', () => {
    const bytes = sectionHashInput({ title: 'Vision', body: 'abc' });
    assert.equal(Buffer.from(bytes).toString('utf8'), 'body\n3\nabctitle\n6\nVision');
  });

  it('counts UTF-8 bytes, not characters, for non-ASCII text', async () => {
    const section = { title: 'Learning outcomes 🎯', body: '学习成果 ...' };
    assert.equal(Buffer.from(sectionHashInput(section)).toString('utf8'),
      'body\n16\n学习成果 ...title\n22\nLearning outcomes 🎯');
    assert.equal(await hashOf(section), nodeHash(section));
    // The vector written into protocol/PROTOCOL.md for the server's implementation.
    assert.equal(await hashOf(section), 'sha256:a5a019ad4a702d0dba5bea93f47fd317b90de1977bc9454dc6326f8221005d75');
  });

  it('has a fixed value for an empty section', async () => {
    assert.equal(await hashOf({ title: '', body: '' }),
      'sha256:1c3d2b44d10735191a7bc0e0f4126cdf4cacb677b0dcbda0ad341e23f56106e4');
  });

  it('covers named fields too, in byte order of their names', async () => {
    const section = { title: 'Unit 1', body: 'Text', fields: new Map([['prompt', 'Say what learners can do 🎯'], ['ects', '5']]) };
    const fields = { title: 'Unit 1', body: 'Text', prompt: 'Say what learners can do 🎯', ects: '5' };
    assert.equal(Buffer.from(sectionHashInput(textFieldsOf(section))).toString('utf8'),
      'body\n4\nTextects\n1\n5prompt\n29\nSay what learners can do 🎯title\n6\nUnit 1');
    assert.equal(await hashOf(section), nodeHash(fields));
    assert.equal(await hashOf({ ...section, fields: Object.fromEntries(section.fields) }), nodeHash(fields));
  });

  it('differs when a newline moves between the fields', async () => {
    const a = await hashOf({ title: 'x', body: 'y\n' });
    const b = await hashOf({ title: '\nx', body: 'y' });
    assert.notEqual(a, b);
    assert.equal(a, nodeHash({ title: 'x', body: 'y\n' }));
  });

  it('is the same without WebCrypto (a plain-http page), for lengths around the block size', async () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const section = { title: 'é'.repeat(n % 7), body: '😀x'.repeat(n) };
      assert.equal(await sectionHash(section, null), nodeHash(section), `length ${n}`);
    }
    const bytes = new TextEncoder().encode('a'.repeat(200));
    assert.equal(Buffer.from(sha256(bytes)).toString('hex'), createHash('sha256').update(bytes).digest('hex'));
  });

  it('is shown shortened', () => {
    assert.equal(shortHash('sha256:a5a019ad4a702d0dba5bea93f47fd317b90de1977bc9454dc6326f8221005d75'), 'a5a0 19ad … 5d75');
  });
});

describe('controls by role', () => {
  const doc = Doc.fromJSON(SNAP);
  const locked = doc.section('a');
  const open = doc.section('c');

  it('lets only a leader lock and unlock', () => {
    assert.deepEqual(['viewer', 'reviewer', 'editor', 'leader'].map((r) => sectionControls(open, r, 'X').lock),
      [false, false, false, true]);
    assert.deepEqual(['viewer', 'reviewer', 'editor', 'leader'].map((r) => sectionControls(locked, r, 'X').unlock),
      [false, false, false, true]);
    assert.equal(sectionControls(locked, 'leader', 'X').lock, false);
  });

  it('lets reviewers, editors and leaders approve a locked section only', () => {
    assert.deepEqual(['viewer', 'reviewer', 'editor', 'leader'].map((r) => sectionControls(locked, r, 'X').approve),
      [false, true, true, true]);
    assert.equal(sectionControls(open, 'leader', 'X').approve, false);
  });

  it('shows the approval of the member\'s own institution', () => {
    assert.equal(sectionControls(locked, 'reviewer', 'Masaryk University').approved.user, 'Jan Novák');
    assert.equal(sectionControls(locked, 'reviewer', 'Open Universiteit').approved, null);
  });

  it('makes text editable for editors and leaders on unlocked sections only', () => {
    assert.deepEqual(['viewer', 'reviewer', 'editor', 'leader'].map((r) => sectionControls(open, r, 'X').editable),
      [false, false, true, true]);
    assert.equal(sectionControls(locked, 'leader', 'X').editable, false);
    assert.equal(can('leader', 'manage'), true);
    assert.equal(can('editor', 'manage'), false);
    assert.equal(can('nobody', 'read'), false);
  });
});

describe('the sign-off matrix', () => {
  it('has a row per live section and a cell per team institution, sorted by name', () => {
    const m = signoffMatrix(Doc.fromJSON(SNAP), TEAM);
    assert.deepEqual(m.institutions, ['Masaryk University', 'Universität Graz']);
    assert.deepEqual(m.rows.map((r) => r.id), ['a', 'b', 'c']);
    assert.deepEqual(m.rows[1].cells.map((c) => c.approval && c.approval.user), ['Jan Novák', null]);
  });

  it('says a section is approved when every institution of the team approved it', () => {
    const m = signoffMatrix(Doc.fromJSON(SNAP), TEAM);
    assert.deepEqual(m.rows.map((r) => [r.approved, r.count]), [[true, 2], [false, 1], [false, 0]]);
    // A new institution in the team makes it pending again.
    const bigger = signoffMatrix(Doc.fromJSON(SNAP), [...TEAM, 'Open Universiteit']);
    assert.equal(bigger.rows[0].approved, false);
    assert.equal(signoffMatrix(Doc.fromJSON(SNAP), []).rows[0].approved, false);
  });

  it('follows the document: an unlock clears the row', () => {
    const after = apply(Doc.fromJSON(SNAP), [{ unlock: 'a' }]);
    const row = signoffMatrix(after, TEAM).rows[0];
    assert.deepEqual([row.locked, row.approved, row.count], [false, false, 0]);
  });
});

describe('the sign-off matrix\'s changes', () => {
  const approve = (inst, user, time) => ({ approve: 'b', inst, user, time, hash: 'sha256:00' });
  // The snapshot's document, once drawn by a new MatrixChanges.
  const drawn = () => {
    const changes = new MatrixChanges();
    const doc = Doc.fromJSON(SNAP);
    return { changes, doc, first: changes.update(doc, TEAM) };
  };

  it('draws every row first, then none while nothing it shows changed', () => {
    const { changes, doc, first } = drawn();
    assert.equal(first.columnsChanged, true);
    assert.deepEqual(first.changed, signoffMatrix(doc, TEAM).rows);
    assert.deepEqual(first.order, ['a', 'b', 'c']);
    const again = changes.update(doc, [...TEAM].reverse());
    assert.deepEqual([again.columnsChanged, again.changed, again.removed], [false, [], []]);
    // Typing in a body makes a new section value but the same row.
    const typed = apply(doc, [{ edit: 'c', f: 'body', op: ['more'] }]);
    assert.deepEqual(changes.update(typed, TEAM).changed, []);
  });

  it('gives only the row an approval, a lock or a title changed, and the rows removed', () => {
    const { changes, doc: start } = drawn();
    let doc = start;
    doc = apply(doc, [approve('Universität Graz', 'Ana Silva', 1732900000999)]);
    const approved = changes.update(doc, TEAM);
    assert.deepEqual(approved.changed.map((r) => r.id), ['b']);
    assert.deepEqual(approved.changed[0], signoffMatrix(doc, TEAM).rows[1]);
    assert.equal(approved.changed[0].approved, true);
    doc = apply(doc, [{ edit: 'c', f: 'title', op: [5, '!'] }, { unlock: 'a' }]);
    assert.deepEqual(changes.update(doc, TEAM).changed.map((r) => r.id), ['a', 'c']);
    doc = apply(doc, [{ lock: 'c' }]);
    assert.deepEqual(changes.update(doc, TEAM).changed.map((r) => [r.id, r.locked]), [['c', true]]);
    doc = apply(doc, [{ unlock: 'c' }, { remove: 'c' }]);
    const gone = changes.update(doc, TEAM);
    assert.deepEqual([gone.changed, gone.removed, gone.order], [[], ['c'], ['a', 'b']]);
  });

  it('draws every row again when the team changes, and names approvers outside it', () => {
    const { changes, doc: start } = drawn();
    let doc = start;
    doc = apply(doc, [approve('Open Universiteit', 'Kim Berg', 1732900001000)]);
    const joined = changes.update(doc, TEAM);
    assert.deepEqual(joined.changed, []); // no column of the matrix shows it yet
    assert.deepEqual(joined.unknown, ['Open Universiteit']);
    const bigger = changes.update(doc, [...TEAM, 'Open Universiteit']);
    assert.equal(bigger.columnsChanged, true);
    assert.deepEqual(bigger.institutions, ['Masaryk University', 'Open Universiteit', 'Universität Graz']);
    assert.deepEqual(bigger.changed.map((r) => r.id), ['a', 'b', 'c']);
    assert.deepEqual(bigger.unknown, []);
  });
});
