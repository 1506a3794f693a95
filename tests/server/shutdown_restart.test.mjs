// Graceful shutdown and restart: SIGTERM closes every session with 1001 and exits 0 within
// 5 s; the restarted server reloads every acknowledged edit, and a resubmission after the
// restart gets the original ack.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { joinDocument, startServer, submitAndAck, tempDir } from './server_harness.mjs';

it('shuts down gracefully and reloads every acknowledged edit', async () => {
  const dir = tempDir();
  const dataDir = path.join(dir, 'data');
  const server = await startServer({ dataDir });
  const acked = [];
  let lastSubmit;
  try {
    const writers = [];
    for (let w = 0; w < 3; w++) writers.push((await joinDocument(server, { client: `w${w}` })).c);
    const revs = new Map();
    const start = (await server.fetch(`/api/documents/1`).then((r) => r.json())).rev;
    // Each writer appends its own marker to its own section, acks awaited one at a time.
    const sections = ['vision', 'policy', 'support'];
    await Promise.all(writers.map(async (c, w) => {
      let rev = start;
      for (let seq = 1; seq <= 20; seq++) {
        const ack = await submitAndAck(c, { rev, seq, op: [{ edit: sections[w], f: 'title', op: [`<${w}:${seq}>`] }] });
        assert.equal(ack.type, 'ack', JSON.stringify(ack));
        rev = ack.rev;
        acked.push({ w, seq, rev });
      }
      revs.set(w, rev);
    }));
    lastSubmit = { client: 'w0', seq: 20, rev: revs.get(0) };
    // One more in flight as the signal arrives: acked or not, it must not be half there.
    writers[1].send({ type: 'submit', doc: 1, rev: revs.get(1), client: 'w1', seq: 21, op: [{ edit: 'policy', f: 'title', op: ['<1:21>'] }] });
    const stopped = server.stop('SIGTERM');
    const closes = await Promise.all(writers.map((c) => c.waitClose(5000)));
    for (const cl of closes) assert.equal(cl.code, 1001);
    const r = await stopped;
    assert.equal(r.code, 0, server.logs.join('\n'));
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
    const late = writers[1].received.find((m) => m.type === 'ack' && m.seq === 21);
    if (late) acked.push({ w: 1, seq: 21, rev: late.rev });
  } finally {
    server.cleanup();
  }

  const again = await startServer({ dataDir });
  try {
    const doc = await again.fetch(`/api/documents/1`).then((r) => r.json());
    const titles = Object.fromEntries(doc.snapshot.sections.map((s) => [s.id, s.title]));
    const sections = ['vision', 'policy', 'support'];
    for (const { w, seq } of acked) {
      const marker = `<${w}:${seq}>`;
      const title = titles[sections[w]];
      assert.equal(title.split(marker).length - 1, 1, `${marker} must be in ${sections[w]} exactly once`);
    }
    assert.ok(doc.rev >= acked.length);
    // A resubmission of an acknowledged op after the restart gets the original ack.
    const { c } = await joinDocument(again, { client: 'w0' });
    const ack = await submitAndAck(c, { rev: lastSubmit.rev - 1, seq: 20, op: [{ edit: 'vision', f: 'title', op: ['<0:20>'] }] });
    assert.deepEqual(ack, { type: 'ack', doc: 1, seq: 20, rev: lastSubmit.rev, duplicate: true });
    c.close();
    const r = await again.stop('SIGINT');
    assert.equal(r.code, 0);
  } finally {
    again.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
