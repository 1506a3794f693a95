// The sync rules over a real WebSocket: ack to the sender and the op with its author to the
// others, concurrent edits transformed, catch-up from a known revision, idempotent
// resubmission after a reconnect, presence moved by later edits and cleared on leave.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Client, joinDocument, startServer, submitAndAck, waitFor } from './server_harness.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => {
  const r = await server.stop();
  assert.equal(r.code, 0);
  server.cleanup();
});

const body = (snap, id) => snap.snapshot.sections.find((s) => s.id === id).body;

it('acks the sender and broadcasts the transformed op with its author', async () => {
  // Who is on a connection comes from its session's account (the demo leader and editor).
  const { c: ana, snapshot } = await joinDocument(server, { client: 'ana', as: 'leader' });
  const { c: jan } = await joinDocument(server, { client: 'jan', as: 'editor' });
  const rev = snapshot.rev;
  assert.equal(snapshot.title, 'Demo: joint micro-credential course design');
  // Both on the same revision: Ana inserts at the start of the body, Jan too.
  ana.send({ type: 'submit', doc: 1, rev, client: 'ana', seq: 1, op: [{ edit: 'vision', f: 'body', op: ['A:'] }] });
  jan.send({ type: 'submit', doc: 1, rev, client: 'jan', seq: 1, op: [{ edit: 'vision', f: 'body', op: ['J:'] }] });
  const a1 = await ana.nextType('ack');
  const j1 = await jan.nextType('ack');
  assert.deepEqual(new Set([a1.rev, j1.rev]), new Set([rev + 1, rev + 2]));
  const seenByJan = await jan.nextType('op');
  assert.equal(seenByJan.author, 'Ana Leader');
  assert.equal(seenByJan.institution, 'Universität Graz (demo)');
  assert.equal(seenByJan.client, 'ana');
  assert.equal(seenByJan.rev, a1.rev);
  const seenByAna = await ana.nextType('op');
  assert.equal(seenByAna.author, 'Jan Editor');
  assert.equal(seenByAna.institution, 'Masaryk University (demo)');
  const doc = await server.fetch(`/api/documents/1`).then((r) => r.json());
  const text = doc.snapshot.sections.find((s) => s.id === 'vision').body;
  assert.ok(text.startsWith('A:J:') || text.startsWith('J:A:'), text);
  assert.equal(doc.rev, rev + 2);
  ana.close();
  jan.close();
});

it('catches up from a known revision and answers a resubmission with the original ack', async () => {
  const { c, snapshot } = await joinDocument(server, { client: 'resub' });
  const ack = await submitAndAck(c, { rev: snapshot.rev, seq: 1, op: [{ edit: 'team', f: 'body', op: ['R'] }] });
  assert.equal(ack.type, 'ack');
  c.terminate();  // the connection drops; the client does not know whether its op landed
  const d = await Client.connect(server.ws);
  d.send({ type: 'hello', client: 'resub', name: 'Ana', institution: 'Uni Graz' });
  await d.nextType('welcome');
  d.send({ type: 'open', doc: 1, rev: snapshot.rev });
  const ops = await d.nextType('ops');
  assert.equal(ops.from, snapshot.rev);
  assert.equal(ops.rev, ack.rev);
  assert.deepEqual(ops.ops.map((o) => [o.client, o.seq]), [['resub', 1]]);
  d.send({ type: 'submit', doc: 1, rev: snapshot.rev, client: 'resub', seq: 1, op: [{ edit: 'team', f: 'body', op: ['R'] }] });
  const again = await d.nextType('ack');
  assert.deepEqual(again, { type: 'ack', doc: 1, seq: 1, rev: ack.rev, duplicate: true });
  const doc = await server.fetch(`/api/documents/1`).then((r) => r.json());
  assert.equal(doc.rev, ack.rev, 'no second revision');
  assert.ok(body({ snapshot: doc.snapshot }, 'team').startsWith('R') && !body({ snapshot: doc.snapshot }, 'team').startsWith('RR'));
  d.close();
});

it('shares presence, moves it with later edits and clears it on leave', async () => {
  const { c: ana } = await joinDocument(server, { client: 'p-ana' });
  const { c: jan, snapshot } = await joinDocument(server, { client: 'p-jan' });
  // Text to stand in (the demo's policy body may still be empty, a prompt).
  const filled = await submitAndAck(jan, { rev: snapshot.rev, seq: 1, op: [{ edit: 'policy', f: 'body', op: ['abcdef'] }] });
  assert.equal(filled.type, 'ack');
  await ana.next((m) => m.type === 'op' && m.rev === filled.rev);
  ana.send({ type: 'presence', doc: 1, rev: filled.rev, section: 'policy', field: 'body', anchor: 3, head: 3 });
  const p = await jan.nextType('presence');
  assert.equal(p.client, 'p-ana');
  assert.equal(p.anchor, 3);
  const ack = await submitAndAck(jan, { rev: filled.rev, seq: 2, op: [{ edit: 'policy', f: 'body', op: ['12345'] }] });
  assert.equal(ack.type, 'ack');
  const { c: eva, snapshot: s2 } = await joinDocument(server, { client: 'p-eva' });
  const anaThere = s2.presence.find((x) => x.client === 'p-ana');
  assert.equal(anaThere.anchor, 8);
  ana.send({ type: 'leave', doc: 1 });
  await ana.nextType('left');
  const cleared = await eva.next((m) => m.type === 'presence' && m.client === 'p-ana' && m.section === null);
  assert.deepEqual(cleared, { type: 'presence', doc: 1, client: 'p-ana', section: null });
  for (const c of [ana, jan, eva]) c.close();
});

it('rejects edits of a locked section with section_locked', async () => {
  const { c, snapshot } = await joinDocument(server, { client: 'leader' });
  const lock = await submitAndAck(c, { rev: snapshot.rev, seq: 1, op: [{ lock: 'outcomes' }] });
  assert.equal(lock.type, 'ack');
  const edit = await submitAndAck(c, { rev: lock.rev, seq: 2, op: [{ edit: 'outcomes', f: 'body', op: ['x'] }] });
  assert.equal(edit.type, 'error');
  assert.equal(edit.code, 'section_locked');
  const unlock = await submitAndAck(c, { rev: lock.rev, seq: 3, op: [{ unlock: 'outcomes' }] });
  assert.equal(unlock.type, 'ack');
  c.close();
});

it('sends a group of revisions in one batch frame to a client that asks, and never to others', async () => {
  const writers = [];
  let rev0 = 0;
  for (let i = 0; i < 4; i++) {
    const { c, snapshot } = await joinDocument(server, { client: `burst${i}` });
    writers.push(c);
    rev0 = snapshot.rev;
  }
  const plain = (await joinDocument(server, { client: 'plain-watcher' })).c;
  const batched = await Client.connect(server.ws);
  batched.send({ type: 'hello', client: 'batch-watcher', batch: true });
  await batched.nextType('welcome');
  batched.send({ type: 'open', doc: 1 });
  const snap = await batched.nextType('snapshot');
  assert.equal(snap.rev, rev0);
  // 100 submits at once: storage makes them durable in groups (one sync each).
  const n = 25;
  for (const [i, w] of writers.entries()) {
    for (let seq = 1; seq <= n; seq++) {
      w.send({ type: 'submit', doc: 1, rev: rev0, client: `burst${i}`, seq, op: [{ edit: 'team', f: 'body', op: ['x'] }] });
    }
  }
  const total = 4 * n;
  const unwrap = (c) => c.received.flatMap((m) => (m.type === 'batch' ? m.messages : [m]));
  const revs = (c) => unwrap(c).filter((m) => m.type === 'op').map((m) => m.rev);
  const want = Array.from({ length: total }, (_, i) => rev0 + 1 + i);
  await waitFor(() => revs(plain).length >= total && revs(batched).length >= total, 20000, 'every op at both watchers');
  assert.deepEqual(revs(plain), want, 'the plain watcher hears of every revision once, in order');
  assert.deepEqual(revs(batched), want, 'so does the batch watcher, its batches unwrapped in order');
  assert.equal(plain.received.filter((m) => m.type === 'batch').length, 0, 'no batch without asking');
  const batches = batched.received.filter((m) => m.type === 'batch');
  assert.ok(batches.length > 0, 'a group of revisions durable together came as one frame');
  for (const b of batches) {
    assert.equal(b.doc, 1);
    assert.ok(b.messages.length >= 2);
    assert.ok(b.messages.every((m) => m.doc === 1 && m.type !== 'batch' && m.type !== 'welcome'));
  }
  console.log(`# ${total} revisions reached the batch watcher in ${batched.received.filter((m) => m.type !== 'snapshot' && m.type !== 'welcome').length} frames (${batches.length} batches)`);
  for (const w of [...writers, plain, batched]) w.close();
});
