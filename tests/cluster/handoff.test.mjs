// Document creation and hand-off between two real jointly-server processes (deploy/README.md
// "Scale-out"): A is the accounts primary, B its replica; each lists the other in --peers.
// A document created on the primary opens on the replica that owns it (built from the
// registry), and a hand-off moves a document with all its history: the revisions arrive
// contiguous with their authors, nothing acknowledged is lost, the old node closes its clients
// (1001 "document moved") and its copy takes no write afterwards; when a client lands on the
// old node again (the node's return), the document comes back the same way.
//
// Run: node --test tests/cluster/handoff.test.mjs (JOINTLY_SERVER_BIN as the harness).
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Client, startServer, tempDir } from '../server/server_harness.mjs';
import { freePort, Node } from './cluster_kit.mjs';

const kSecret = 'handoff test secret 0123456789abcdef';
let dir;
let secretFile;
let a;  // the primary
let b;  // a replica
let leader;  // the demo leader's login on the primary

// A client of doc on node n as the demo leader: hello, open; resolves with {c, snapshot}.
async function join(n, doc, client) {
  const c = await Client.connect(`${n.http.replace('http', 'ws')}/ws?doc=${doc}`,
    { headers: { Cookie: leader.cookie, Origin: n.http } });
  c.id = client;
  c.send({ type: 'hello', client });
  await c.nextType('welcome');
  c.send({ type: 'open', doc, rev: 0 });
  const ops = await c.next((m) => m.type === 'ops' || m.type === 'error', 10000, 'ops');
  assert.equal(ops.type, 'ops', JSON.stringify(ops));
  return { c, ops };
}

async function type(c, doc, rev, seq, section, text) {
  c.send({ type: 'submit', doc, rev, client: c.id, seq, op: [{ edit: section, f: 'body', op: [text] }] });
  const ack = await c.next((m) => (m.type === 'ack' || m.type === 'error') && m.seq === seq, 10000, `ack ${seq}`);
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  return ack.rev;
}

// GET /api/documents/:id on node n. A node that does not hold its copy yet answers 503
// document_moved at once and brings the copy in the background (its I/O threads never wait for
// a peer); asked again after 50 ms, as a client does after Retry-After, for up to 10 s.
async function document(n, doc) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const res = await fetch(`${n.http}/api/documents/${doc}`, { headers: { Cookie: leader.cookie, Origin: n.http } });
    if (res.status === 503 && Date.now() < deadline) {
      const body = await res.json();
      assert.equal(body.error.code, 'document_moved');
      assert.equal(res.headers.get('retry-after'), '1');
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    assert.equal(res.status, 200, await res.clone().text());
    return res.json();
  }
}

before(async () => {
  dir = tempDir('jointly-handoff-');
  secretFile = path.join(dir, 'secret');
  writeFileSync(secretFile, `${kSecret}\n`, { mode: 0o600 });
  const portB = await freePort();
  const bUrl = `http://127.0.0.1:${portB}`;
  a = await startServer({ args: ['--node-id', 'a', '--cluster-secret-file', secretFile, '--peers', bUrl] });
  b = new Node({ name: 'b', port: portB, dataDir: path.join(dir, 'data-b'), primary: a.http, secretFile,
    args: ['--log-level', 'info'] });
  b.peers = [a.http];
  await b.start();
  b.http = b.base;
  leader = a.users.leader;
});

after(async () => {
  if (b) await b.stop();
  if (a) {
    await a.stop();
    a.cleanup();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a document created on the primary opens on the replica that owns it', async () => {
  const res = await fetch(`${a.http}/api/documents`, {
    method: 'POST',
    headers: { Cookie: leader.cookie, Origin: a.http, 'Content-Type': 'application/json' },
    body: JSON.stringify({ title: 'Made on the primary', template: 'course' }),
  });
  assert.equal(res.status, 201);
  const made = await res.json();
  assert.ok(made.id > 0 && made.id <= Number.MAX_SAFE_INTEGER);
  assert.notEqual(made.id, 2, 'a random id, not the next of a counter');
  assert.equal(made.role, 'leader');
  // B owns it: the first use builds it there from the registry.
  const doc = await document(b, made.id);
  assert.equal(doc.title, 'Made on the primary');
  assert.equal(doc.rev, 0);
  assert.ok(doc.snapshot.sections.length > 0, 'the course template');
  const { c } = await join(b, made.id, 'c-made');
  c.close();
  // It is listed on both nodes.
  for (const n of [a, b]) {
    const list = await (await fetch(`${n.http}/api/documents`, { headers: { Cookie: leader.cookie, Origin: n.http } })).json();
    assert.ok(list.documents.some((d) => d.id === made.id && d.title === 'Made on the primary'));
  }
});

test('a hand-off moves a document with all its history, and back', async () => {
  const res = await fetch(`${a.http}/api/documents`, {
    method: 'POST',
    headers: { Cookie: leader.cookie, Origin: a.http, 'Content-Type': 'application/json' },
    body: JSON.stringify({ title: 'Moving', template: 'course' }),
  });
  const { id } = await res.json();
  // Held on A: ten acknowledged revisions.
  const onA = await join(a, id, 'c-a');
  const sections = (await document(a, id)).snapshot.sections;
  const section = (sections.find((s) => s.id === 'vision') || sections[0]).id;
  let rev = 0;
  for (let i = 1; i <= 10; i++) rev = await type(onA.c, id, rev, i, section, `a${i} `);
  assert.equal(rev, 10);
  // A client lands on B (a ring change): B takes the document from A.
  const onB = await join(b, id, 'c-b');
  assert.deepEqual(onB.ops.ops.map((o) => o.rev), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.ok(onB.ops.ops.every((o) => o.client === 'c-a' && o.author));
  const closed = await onA.c.waitClose(3000);
  assert.equal(closed.code, 1001);
  assert.equal(closed.reason, 'document moved');
  // B serves it on; A's copy stays at 10 (it takes no write: asking A again shows the same).
  for (let i = 1; i <= 5; i++) rev = await type(onB.c, id, rev, i, section, `b${i} `);
  assert.equal(rev, 15);
  const again = await fetch(`${a.http}/internal/documents/${id}/handoff?have=10`,
    { method: 'POST', headers: { 'X-Jointly-Cluster-Secret': kSecret } });
  assert.equal(again.status, 200);
  assert.equal((await again.json()).last_rev, 10);
  // The client resubmits on A after the move: A takes it back from B with B's revisions.
  const back = await join(a, id, 'c-a');
  assert.deepEqual(back.ops.ops.map((o) => o.rev), Array.from({ length: 15 }, (_, i) => i + 1));
  const dup = await type(back.c, id, 15, 10, section, 'a10 ');  // seq 10 was acknowledged as rev 10
  assert.equal(dup, 10);
  assert.equal((await onB.c.waitClose(3000)).code, 1001);
  rev = await type(back.c, id, 15, 11, section, 'a11 ');
  assert.equal(rev, 16);
  const body = (await document(a, id)).snapshot.sections.find((s) => s.id === section).body;
  for (const w of ['a1 ', 'a10 ', 'a11 ', 'b1 ', 'b5 ']) assert.ok(body.includes(w), `${w} in ${body}`);
  back.c.close();
});

test('a peer that does not answer leaves a document unavailable, never rebuilt without it', async () => {
  const res = await fetch(`${a.http}/api/documents`, {
    method: 'POST',
    headers: { Cookie: leader.cookie, Origin: a.http, 'Content-Type': 'application/json' },
    body: JSON.stringify({ title: 'Somewhere', template: 'blank' }),
  });
  const { id } = await res.json();
  // C's peers: A, and a node that is down (it might hold the document).
  const c = new Node({ name: 'c', port: await freePort(), dataDir: path.join(dir, 'data-c'), primary: a.http,
    secretFile, args: ['--log-level', 'info'] });
  c.peers = [a.http, `http://127.0.0.1:${await freePort()}`];
  await c.start();
  try {
    const api = await fetch(`${c.base}/api/documents/${id}`, { headers: { Cookie: leader.cookie, Origin: c.base } });
    assert.equal(api.status, 503);
    assert.equal((await api.json()).error.code, 'document_moved');
    assert.equal(api.headers.get('retry-after'), '1');
    const ws = await Client.connect(`${c.base.replace('http', 'ws')}/ws?doc=${id}`,
      { headers: { Cookie: leader.cookie, Origin: c.base } });
    ws.id = 'c-unavailable';
    ws.send({ type: 'hello', client: ws.id });
    await ws.nextType('welcome');
    ws.send({ type: 'open', doc: id });
    const err = await ws.next((m) => m.type === 'error', 10000, 'the error');
    assert.equal(err.code, 'document_moved');
    const closed = await ws.waitClose(3000);
    assert.equal(closed.code, 1001);
    assert.equal(closed.reason, 'document moved');
  } finally {
    await c.stop();
  }
  // A, which asks only B (up), builds it as before.
  assert.equal((await document(a, id)).rev, 0);
});
