// Unit tests of src/sync.js, the client state machine, one behaviour per sentence. The
// simulation in sync_sim.test.mjs runs it against a server model over many seeds.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Sync } from '../src/sync.js';

const SNAP = {
  v: 1,
  sections: [
    { id: 's1', pos: 'V', title: 'Vision', body: 'abc' },
    { id: 's2', pos: 'W', title: 'ECTS', body: '5' },
  ],
};

// A Sync at revision 10, connected, that records what it sends and reports.
function client(extra = {}) {
  const sent = [];
  const rejected = [];
  const changes = [];
  const desyncs = [];
  const sync = new Sync({
    doc: 1, client: 'me', snapshot: SNAP, rev: 10,
    send: (m) => sent.push(m),
    onRejected: (r) => rejected.push(r),
    onChange: (c) => changes.push(c),
    onDesync: (e) => desyncs.push(e.message),
    paranoid: true,
    ...extra,
  });
  sync.catchUp({ from: 10, rev: 10, ops: [] });
  return { sync, sent, rejected, changes, desyncs };
}

const ins = (id, at, text, f = 'body') => [{ edit: id, f, op: at ? [at, text] : [text] }];
const body = (sync, id = 's1') => sync.doc.section(id).body;

describe('the sync core', () => {
  it('sends the first edit at once and buffers the later ones, composed', () => {
    const { sync, sent } = client();
    sync.edit(ins('s1', 3, 'd'));
    sync.edit(ins('s1', 4, 'e'));
    sync.edit(ins('s1', 5, 'f'));
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0], { type: 'submit', doc: 1, rev: 10, client: 'me', seq: 1, op: ins('s1', 3, 'd') });
    assert.deepEqual(sync.buffer.op, ins('s1', 4, 'ef'));
    assert.equal(body(sync), 'abcdef');
  });

  it('counts pending edits until the server acknowledges them', () => {
    const { sync, sent } = client();
    sync.edit(ins('s1', 0, 'x'));
    sync.edit(ins('s1', 0, 'y'));
    assert.equal(sync.pending, 2);
    sync.handle({ type: 'ack', doc: 1, seq: 1, rev: 11 });
    assert.equal(sync.pending, 1);
    assert.equal(sync.rev, 11);
    assert.deepEqual(sent[1], { type: 'submit', doc: 1, rev: 11, client: 'me', seq: 2, op: ins('s1', 0, 'y') });
    sync.handle({ type: 'ack', doc: 1, seq: 2, rev: 12 });
    assert.equal(sync.pending, 0);
    assert.equal(sync.confirmed.section('s1').body, 'yxabc');
  });

  it('puts a concurrent remote insert after its own at the same place, as the server does', () => {
    const { sync } = client();
    sync.edit(ins('s1', 1, 'A'));
    sync.handle({ type: 'op', doc: 1, rev: 11, op: ins('s1', 1, 'B'), client: 'other', seq: 1 });
    assert.equal(body(sync), 'aABbc');
    assert.equal(sync.rev, 11);
    assert.deepEqual(sync.inflight.current, ins('s1', 1, 'A'));
  });

  it('transforms a remote op past both the in-flight op and the buffer', () => {
    const { sync, changes } = client();
    sync.edit(ins('s1', 0, 'X'));
    sync.edit(ins('s1', 4, 'Y')); // buffered: XabcY
    sync.handle({ type: 'op', doc: 1, rev: 11, op: ins('s1', 2, '-'), client: 'other', seq: 1 });
    assert.equal(body(sync), 'Xab-cY');
    assert.deepEqual(changes.at(-1).op, ins('s1', 3, '-'));
    assert.deepEqual(sync.buffer.op, ins('s1', 5, 'Y'));
  });

  it('does not send while offline, and sends the buffer when back', () => {
    const { sync, sent } = client();
    sync.disconnected();
    sync.edit(ins('s1', 0, 'x'));
    assert.equal(sent.length, 0);
    assert.equal(sync.pending, 1);
    sync.catchUp({ from: 10, rev: 10, ops: [] });
    assert.equal(sent.length, 1);
  });

  it('resubmits the in-flight op unchanged after a reconnect', () => {
    const { sync, sent } = client();
    sync.edit(ins('s1', 0, 'x'));
    sync.disconnected();
    sync.catchUp({ from: 10, rev: 11, ops: [{ rev: 11, op: ins('s2', 0, 'z'), client: 'other', seq: 4 }] });
    assert.deepEqual(sent[1], sent[0]);
    assert.equal(body(sync, 's2'), 'z5');
    sync.handle({ type: 'ack', doc: 1, seq: 1, rev: 12 });
    assert.equal(sync.pending, 0);
  });

  it('takes its own op among the missed revisions as the ack, without transforming against it', () => {
    const { sync, sent } = client();
    sync.edit(ins('s1', 0, 'x'));
    sync.disconnected();
    sync.edit(ins('s1', 0, 'y'));
    sync.catchUp({ from: 10, rev: 11, ops: [{ rev: 11, op: ins('s1', 0, 'x'), client: 'me', seq: 1 }] });
    assert.equal(sync.rev, 11);
    assert.equal(sync.confirmed.section('s1').body, 'xabc');
    assert.equal(body(sync), 'yxabc');
    assert.deepEqual(sent.at(-1), { type: 'submit', doc: 1, rev: 11, client: 'me', seq: 2, op: ins('s1', 0, 'y') });
  });

  it('applies the op an ack carries: an approval shows the server\'s time, user and institution', () => {
    const locked = { v: 1, sections: [{ id: 's1', pos: 'V', title: 'Vision', body: 'abc', locked: true }] };
    const { sync, changes, desyncs } = client({ snapshot: locked });
    sync.edit([{ approve: 's1', inst: 'Mine', user: 'me', time: 1, hash: 'h' }]);
    const server = [{ approve: 's1', inst: 'Uni Graz', user: 'Ana Silva', time: 1732900000123, hash: 'h' }];
    assert.equal(sync.handle({ type: 'ack', doc: 1, seq: 1, rev: 11, op: server }), true);
    assert.deepEqual(desyncs, []);
    assert.equal(sync.rev, 11);
    assert.equal(sync.pending, 0);
    const expected = { user: 'Ana Silva', time: 1732900000123, hash: 'h' };
    assert.deepEqual({ ...sync.confirmed.section('s1').approvals.get('Uni Graz') }, expected);
    assert.equal(sync.confirmed.section('s1').approvals.has('Mine'), false);
    assert.deepEqual({ ...sync.doc.section('s1').approvals.get('Uni Graz') }, expected);
    assert.equal(changes.at(-1).origin, 'rebuild');
  });

  it('ignores a duplicate ack of an op it already counted', () => {
    const { sync, desyncs } = client();
    sync.edit(ins('s1', 0, 'x'));
    sync.handle({ type: 'ack', doc: 1, seq: 1, rev: 11 });
    sync.handle({ type: 'ack', doc: 1, seq: 1, rev: 11, duplicate: true });
    assert.equal(sync.rev, 11);
    assert.deepEqual(desyncs, []);
  });

  it('takes a refused op out of the document and reports it with its text and reason', () => {
    const { sync, rejected, sent } = client();
    sync.edit(ins('s1', 0, 'typed'));
    sync.edit(ins('s1', 0, 'more')); // on top of it: goes too
    sync.edit(ins('s2', 0, 'kept')); // another section: stays
    sync.handle({ type: 'error', in: 'submit', doc: 1, seq: 1, code: 'section_locked', message: 'locked' });
    assert.equal(body(sync), 'abc');
    assert.equal(body(sync, 's2'), 'kept5');
    assert.deepEqual(rejected.map((r) => [r.code, r.texts.map((t) => t.text)]),
      [['section_locked', ['typed']], ['depends_on_rejected', ['more']]]);
    assert.deepEqual(sync.suggestionsFor('s1').map((x) => x.texts[0].text), ['typed']);
    assert.deepEqual(sent.at(-1).op, ins('s2', 0, 'kept'));
    assert.equal(sent.at(-1).seq, 2);
  });

  it('keeps text refused because its section was locked as a suggestion on that section', () => {
    const suggestions = [];
    const { sync, rejected, sent } = client({ onSuggestions: (list) => suggestions.push(list.length) });
    sync.edit(ins('s1', 0, 'typed é😀 '));
    sync.edit(ins('s1', 0, 'more ')); // buffered, on top of it: a suggestion too
    sync.handle({ type: 'op', doc: 1, rev: 11, op: [{ lock: 's1' }], client: 'lead', seq: 1 });
    sync.handle({ type: 'error', in: 'submit', doc: 1, seq: 1, code: 'section_locked', message: 'section "s1" is locked' });
    assert.equal(body(sync), 'abc');
    assert.equal(sync.pending, 0);
    // In one piece, as it would have read: the buffered edit was made on top of the other.
    assert.deepEqual(sync.suggestionsFor('s1').map((s) => [s.code, s.texts]),
      [['section_locked', [{ field: 'body', text: 'more typed é😀 ' }]]]);
    assert.deepEqual(sync.suggestionsFor('s2'), []);
    assert.deepEqual(suggestions, [1]);
    // Still reported, once, so that every refused text is accounted for.
    assert.deepEqual(rejected.map((r) => [r.code, r.texts.map((t) => t.text)]), [['section_locked', ['more typed é😀 ']]]);
    assert.equal(sent.length, 1);
  });

  it('sends again the parts of an op refused for a lock that are on other sections', () => {
    const { sync, sent, desyncs } = client();
    sync.edit([...ins('s1', 0, 'locked out '), ...ins('s2', 0, 'fine ')]);
    sync.edit(ins('s2', 0, 'later ')); // buffered, on an unlocked section
    sync.handle({ type: 'op', doc: 1, rev: 11, op: [{ lock: 's1' }, ...ins('s2', 1, '!')], client: 'lead', seq: 1 });
    sync.handle({ type: 'error', in: 'submit', doc: 1, seq: 1, code: 'section_locked', message: 'locked' });
    assert.deepEqual(sent.at(-1), { type: 'submit', doc: 1, rev: 11, client: 'me', seq: 2, op: ins('s2', 0, 'later fine ') });
    assert.equal(body(sync, 's2'), 'later fine 5!');
    assert.equal(sync.suggestionsFor('s1')[0].texts[0].text, 'locked out ');
    sync.handle({ type: 'ack', doc: 1, seq: 2, rev: 12 });
    assert.equal(sync.confirmed.section('s2').body, 'later fine 5!');
    assert.equal(sync.pending, 0);
    assert.deepEqual(desyncs, []);
  });

  it('keeps suggestions across a page reload until they are dismissed', () => {
    const { sync } = client();
    sync.keepSuggestions([{ section: 's2', field: 'title', text: 'Credits' }, { section: 's2', field: 'body', text: '' }]);
    const state = JSON.parse(JSON.stringify(sync.saveState()));
    const again = client();
    again.sync.restoreState(state);
    const [kept] = again.sync.suggestionsFor('s2');
    assert.deepEqual(kept.texts, [{ field: 'title', text: 'Credits' }]);
    again.sync.dismissSuggestion(kept.id);
    assert.deepEqual(again.sync.suggestions, []);
    // A snapshot (a resync) does not drop them either.
    sync.handle({ type: 'snapshot', doc: 1, rev: 30, snapshot: SNAP });
    assert.equal(sync.suggestions.length, 1);
  });

  for (const code of ['rate_limited', 'busy', 'storage_unavailable']) {
    it(`keeps an op refused with ${code} and sends it again on resend`, () => {
      const { sync, sent, rejected } = client();
      sync.edit(ins('s1', 0, 'x'));
      sync.handle({ type: 'error', in: 'submit', doc: 1, seq: 1, code, message: 'not now' });
      assert.equal(sync.pending, 1);
      sync.resend();
      assert.deepEqual(sent[1], sent[0]);
      assert.deepEqual(rejected, []);
    });
  }

  it('sends an op refused as too old again, on the current revision with a new seq', () => {
    const { sync, sent, rejected } = client();
    sync.edit(ins('s1', 0, 'x'));
    sync.handle({ type: 'op', doc: 1, rev: 11, op: ins('s1', 0, 'A'), client: 'other', seq: 1 });
    sync.handle({ type: 'error', in: 'submit', doc: 1, seq: 1, code: 'rev_too_old', message: 'too old' });
    assert.deepEqual(sent.at(-1), { type: 'submit', doc: 1, rev: 11, client: 'me', seq: 2, op: ins('s1', 0, 'x') });
    assert.deepEqual(rejected, []);
    assert.equal(body(sync), 'xAabc');
  });

  it('keeps an op refused because the document was not open, and resubmits it on catchUp', () => {
    const { sync, sent, rejected } = client();
    sync.edit(ins('s1', 0, 'x'));
    sync.handle({ type: 'error', in: 'submit', doc: 1, seq: 1, code: 'not_open', message: 'open it first' });
    sync.disconnected();
    sync.catchUp({ from: 10, rev: 10, ops: [] });
    assert.deepEqual(sent[1], sent[0]);
    assert.deepEqual(rejected, []);
  });

  it('moves others\' cursors with its own edits', () => {
    const { sync } = client();
    sync.handle({ type: 'presence', doc: 1, rev: 10, client: 'c2', section: 's1', field: 'body', anchor: 2, head: 2 });
    sync.edit(ins('s1', 0, 'xy'));
    assert.deepEqual(sync.others().map((p) => p.anchor), [4]);
  });

  it('reports text typed into a section someone removed meanwhile', () => {
    const { sync, rejected } = client();
    sync.edit(ins('s1', 0, 'lost?'));
    sync.handle({ type: 'op', doc: 1, rev: 11, op: [{ remove: 's1' }], client: 'other', seq: 1 });
    assert.equal(sync.doc.section('s1').removed, true);
    assert.deepEqual(rejected.map((r) => [r.code, r.texts[0].text]), [['section_removed', 'lost?']]);
    assert.deepEqual(sync.inflight.current, []);
  });

  it('shows a section locked meanwhile as the server has it until the server decides', () => {
    const { sync, rejected } = client();
    sync.edit(ins('s1', 0, 'x'));
    sync.handle({ type: 'op', doc: 1, rev: 11, op: [{ lock: 's1' }], client: 'lead', seq: 1 });
    assert.equal(body(sync), 'abc');
    assert.deepEqual([...sync.suspended], ['s1']);
    // Unlocked again before the server reached the edit: it is accepted after all.
    sync.handle({ type: 'op', doc: 1, rev: 12, op: [{ unlock: 's1' }], client: 'lead', seq: 2 });
    assert.equal(body(sync), 'xabc');
    sync.handle({ type: 'ack', doc: 1, seq: 1, rev: 13 });
    assert.equal(sync.confirmed.section('s1').body, 'xabc');
    assert.deepEqual(rejected, []);
  });

  it('refuses an edit of a section whose pending edit waits, until the server answers', () => {
    const { sync } = client();
    sync.edit(ins('s1', 0, 'x'));
    sync.handle({ type: 'op', doc: 1, rev: 11, op: [{ lock: 's1' }, { unlock: 's1' }, { lock: 's1' }], client: 'lead', seq: 1 });
    assert.throws(() => sync.edit([{ unlock: 's1' }]), { code: 'section_suspended' });
    sync.edit(ins('s2', 0, 'fine')); // other sections stay editable
    assert.equal(body(sync, 's2'), 'fine5');
  });

  it('keeps its pending edits across a page reload, and resubmits the in-flight one unchanged', () => {
    const { sync, sent } = client();
    sync.edit(ins('s1', 0, 'x'));
    sync.edit(ins('s1', 1, 'y'));
    sync.disconnected();
    const state = JSON.parse(JSON.stringify(sync.saveState()));
    const again = client();
    again.sync.disconnected();
    again.sync.restoreState(state);
    assert.equal(body(again.sync), 'xyabc');
    assert.equal(again.sync.pending, 2);
    again.sync.catchUp({ from: 10, rev: 10, ops: [] });
    assert.deepEqual(again.sent.at(-1), sent[0]);
  });

  it('over a snapshot, reports in-flight text the snapshot does not show as unconfirmed', () => {
    const { sync, rejected } = client();
    sync.edit(ins('s1', 0, 'typed'));
    sync.disconnected();
    sync.handle({ type: 'snapshot', doc: 1, rev: 90, snapshot: SNAP }); // s1 holds no "typed"
    sync.handle({ type: 'ack', doc: 1, seq: 1, rev: 11, duplicate: true });
    assert.deepEqual(rejected.map((r) => [r.code, r.texts[0].text]), [['unconfirmed', 'typed']]);
  });

  it('throws, changing nothing, for a local edit that does not apply', () => {
    const { sync } = client();
    assert.throws(() => sync.edit(ins('s1', 9, 'x')), { code: 'out_of_range' });
    assert.equal(sync.pending, 0);
  });

  it('asks for a reload when a revision is missing', () => {
    const { sync, desyncs } = client();
    sync.handle({ type: 'op', doc: 1, rev: 12, op: [], client: 'other', seq: 1 });
    assert.equal(desyncs.length, 1);
    assert.equal(sync.connected, false);
  });

  it('over a snapshot, resubmits its in-flight op and counts a duplicate ack as saved', () => {
    const { sync, sent, rejected } = client();
    sync.edit(ins('s1', 0, 'x'));
    sync.disconnected();
    sync.edit(ins('s1', 0, 'y')); // buffered: cannot be carried over a snapshot
    const snap = { v: 1, sections: [{ id: 's1', pos: 'V', title: 'Vision', body: 'xabc!' }] };
    sync.handle({ type: 'snapshot', doc: 1, rev: 90, snapshot: snap });
    assert.deepEqual(sent.at(-1), sent[0]);
    assert.deepEqual(rejected.map((r) => [r.code, r.texts[0].text]), [['resync', 'y']]);
    assert.equal(body(sync), 'xabc!');
    sync.handle({ type: 'ack', doc: 1, seq: 1, rev: 11, duplicate: true });
    assert.equal(sync.pending, 0);
    assert.equal(sync.rev, 90);
    assert.equal(rejected.length, 1);
  });

  it('over a snapshot, reports its in-flight op when the server refuses it as too old', () => {
    const { sync, rejected } = client();
    sync.edit(ins('s1', 0, 'x'));
    sync.disconnected();
    sync.handle({ type: 'snapshot', doc: 1, rev: 90, snapshot: SNAP });
    sync.handle({ type: 'error', in: 'submit', doc: 1, seq: 1, code: 'rev_too_old', message: 'too old' });
    assert.deepEqual(rejected.map((r) => [r.code, r.texts[0].text]), [['rev_too_old', 'x']]);
    assert.equal(body(sync), 'abc');
    assert.equal(sync.pending, 0);
  });

  it('moves others\' cursors through its pending edits and remote ops', () => {
    const { sync } = client();
    sync.edit(ins('s1', 0, '12'));
    sync.handle({ type: 'presence', doc: 1, rev: 10, client: 'c2', section: 's1', field: 'body', anchor: 1, head: 3 });
    assert.deepEqual(sync.others().map((p) => [p.anchor, p.head]), [[3, 5]]);
    sync.handle({ type: 'op', doc: 1, rev: 11, op: ins('s1', 0, 'Z'), client: 'c3', seq: 1 });
    assert.deepEqual(sync.others().map((p) => [p.anchor, p.head]), [[4, 6]]);
    sync.handle({ type: 'presence', doc: 1, client: 'c2', section: null });
    assert.deepEqual(sync.others(), []);
  });

  it('says its cursor again after a reconnect, moved by what happened meanwhile', () => {
    const { sync, sent } = client();
    sync.setPresence('s1', 'body', 1);
    sync.disconnected();
    sync.catchUp({ from: 10, rev: 11, ops: [{ rev: 11, op: ins('s1', 0, 'Z'), client: 'c3', seq: 1 }] });
    assert.deepEqual(sent.at(-1), { type: 'presence', doc: 1, rev: 11, section: 's1', field: 'body', anchor: 2, head: 2 });
  });

  it('sends its own cursor at the server\'s revision', () => {
    const { sync, sent } = client();
    sync.edit(ins('s1', 0, '12')); // local 12abc; the server has abc
    const m = sync.setPresence('s1', 'body', 4);
    assert.deepEqual(m, { type: 'presence', doc: 1, rev: 10, section: 's1', field: 'body', anchor: 2, head: 2 });
    assert.deepEqual(sent.at(-1), m);
  });
});
