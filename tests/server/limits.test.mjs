// The configurable limits over real sockets: idle timeout with ping/pong, connections, message
// size, document size, documents per connection.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import {
  Client, joinDocument, metric, rawHttp, startServer, submitAndAck, waitFor,
} from './server_harness.mjs';

let server;
before(async () => {
  server = await startServer({
    args: ['--idle-timeout', '1', '--max-connections', '6', '--max-message-bytes', '2048',
      '--max-document-bytes', '4000', '--max-documents-per-connection', '2', '--unload-after', '0.3'],
  });
});
after(async () => {
  const r = await server.stop();
  assert.equal(r.code, 0);
  server.cleanup();
});

it('pings an idle connection and closes one that does not answer', async () => {
  const answering = await Client.connect(server.ws);
  const mute = await Client.connect(server.ws, { autoPong: false });
  const t0 = Date.now();
  await mute.waitClose(5000);
  assert.ok(Date.now() - t0 >= 900, `closed after ${Date.now() - t0} ms`);
  // The connection that answers pings is still open, idle for longer than the timeout.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(answering.closed, null);
  answering.close();
});

it('refuses connections beyond --max-connections with 503', async () => {
  const held = [];
  for (let i = 0; i < 6; i++) held.push(await Client.connect(server.ws));
  const r = await rawHttp(server.port, 'GET', '/healthz');
  assert.equal(r.status, 503);
  assert.equal(JSON.parse(r.body).error.code, 'too_many_connections');
  for (const c of held) c.close();
  await Promise.all(held.map((c) => c.waitClose()));
  await waitFor(async () => (await rawHttp(server.port, 'GET', '/healthz')).status === 200, 5000,
    'connections to be freed');
});

it('closes a message over --max-message-bytes with 1009', async () => {
  const c = await Client.connect(server.ws);
  c.send(JSON.stringify({ type: 'open', doc: 1, pad: 'x'.repeat(1900) }));  // under: answered
  await c.nextType('error');
  c.send(JSON.stringify({ type: 'open', doc: 1, pad: 'x'.repeat(3000) }));
  assert.equal((await c.waitClose()).code, 1009);
});

it('refuses an edit that would make the document too large', async () => {
  const { c, snapshot } = await joinDocument(server, { client: 'big' });
  // Every text counts: titles, bodies and named fields (the demo course has some).
  const bytes = snapshot.snapshot.sections.reduce((n, s) => n + Buffer.byteLength(s.title) +
    Buffer.byteLength(s.body) + Object.values(s.fields || {}).reduce((m, t) => m + Buffer.byteLength(t), 0), 0);
  const n = 4000 - bytes - 200;  // fits, leaving 200 bytes (later tests still edit); 400 more do not
  assert.ok(n > 0, `demo has ${bytes} bytes`);
  const first = await submitAndAck(c, { rev: snapshot.rev, seq: 1, op: [{ edit: 'team', f: 'body', op: ['x'.repeat(n)] }] });
  assert.equal(first.type, 'ack');
  const second = await submitAndAck(c, { rev: first.rev, seq: 2, op: [{ edit: 'team', f: 'body', op: ['y'.repeat(400)] }] });
  assert.equal(second.type, 'error');
  assert.equal(second.code, 'document_too_large');
  assert.equal(second.seq, 2);
  c.close();
});

it('refuses opening more than --max-documents-per-connection documents', async () => {
  for (let i = 0; i < 2; i++) {
    const r = await server.fetch(`/api/documents`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title: `D${i}` }),
    });
    assert.equal(r.status, 201);
  }
  const c = await Client.connect(server.ws);
  c.send({ type: 'hello', client: 'many', name: 'N', institution: 'I' });
  await c.nextType('welcome');
  for (const doc of [1, 2]) {
    c.send({ type: 'open', doc });
    await c.nextType('snapshot');
  }
  c.send({ type: 'open', doc: 3 });
  const e = await c.nextType('error');
  assert.equal(e.code, 'too_many_documents');
  c.send({ type: 'leave', doc: 2 });
  await c.nextType('left');
  c.send({ type: 'open', doc: 3 });
  assert.equal((await c.nextType('snapshot')).doc, 3);
  c.close();
});

it('unloads an idle document and reloads it transparently', async () => {
  const { c, snapshot } = await joinDocument(server, { client: 'unload' });
  const ack = await submitAndAck(c, { rev: snapshot.rev, seq: 1, op: [{ edit: 'policy', f: 'title', op: ['[kept] '] }] });
  assert.equal(ack.type, 'ack');
  c.close();
  await c.waitClose();
  await waitFor(async () => (await metric(server, 'jointly_documents_open')) === 0, 5000,
    'the document to unload');
  const again = await joinDocument(server, { client: 'unload-2' });
  assert.equal(again.snapshot.rev, ack.rev);
  assert.ok(again.snapshot.snapshot.sections.find((s) => s.id === 'policy').title.startsWith('[kept] '));
  assert.equal(await metric(server, 'jointly_documents_open'), 1);
  again.c.close();
});
