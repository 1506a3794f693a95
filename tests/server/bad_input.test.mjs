// Bad input over a real WebSocket, each with its exact answer, while another client keeps
// editing the same document and must keep being served.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Client, joinDocument, metric, rawConnect, startServer, submitAndAck, waitFor,
} from './server_harness.mjs';

let server;
let bystander;  // keeps editing; checked after every case
let bystanderRev = 0;
let bystanderSeq = 0;

async function bystanderStillServed() {
  bystanderSeq += 1;
  const ack = await submitAndAck(bystander, {
    rev: bystanderRev, seq: bystanderSeq,
    op: [{ edit: 'team', f: 'body', op: ['.'] }],
  });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  bystanderRev = ack.rev;
}

async function hello(c, client = `c-${Math.random().toString(36).slice(2, 10)}`) {
  c.id = client;
  c.send({ type: 'hello', client, name: 'Tester', institution: 'Test U' });
  await c.nextType('welcome');
}

// Sends text and returns the error that answers it.
async function errorFor(c, text) {
  c.send(text);
  return c.nextType('error');
}

before(async () => {
  server = await startServer({
    args: ['--messages-per-second', '200', '--message-burst', '100', '--handshake-timeout', '1',
      '--max-outbound-bytes', '65536'],
  });
  ({ c: bystander } = await joinDocument(server, { client: 'bystander' }));
  const snap = await server.fetch(`/api/documents/1`).then((r) => r.json());
  bystanderRev = snap.rev;
});

after(async () => {
  bystander?.close();
  const r = await server.stop();
  assert.equal(r.code, 0);
  server.cleanup();
});

describe('each bad message gets its exact answer', () => {
  let c;
  before(async () => {
    c = await Client.connect(server.ws);
  });
  after(() => c.close());

  it('answers anything before hello with hello_required', async () => {
    const e = await errorFor(c, JSON.stringify({ type: 'open', doc: 1 }));
    assert.deepEqual({ ...e, message: undefined },
      { type: 'error', code: 'hello_required', in: 'open', doc: 1, message: undefined });
    assert.equal(typeof e.message, 'string');
    await hello(c);
    await bystanderStillServed();
  });

  it('answers malformed JSON with invalid_json', async () => {
    for (const text of ['{', 'not json', '{"type":"open",}', '']) {
      const e = await errorFor(c, text);
      assert.equal(e.code, 'invalid_json', text);
      assert.equal(e.in, undefined);
    }
    await bystanderStillServed();
  });

  it('answers a non-object or a missing type with invalid_message', async () => {
    for (const text of ['[]', '42', '"hello"', 'null', '{"doc":1}', '{"type":3}']) {
      assert.equal((await errorFor(c, text)).code, 'invalid_message', text);
    }
  });

  it('answers an unknown type with unknown_type and does not echo it', async () => {
    const e = await errorFor(c, '{"type":"<img src=x>"}');
    assert.equal(e.code, 'unknown_type');
    assert.equal(e.in, undefined);
    assert.ok(!e.message.includes('<img'));
  });

  it('answers missing fields with missing_field naming the field', async () => {
    const cases = [
      [{ type: 'open' }, 'doc'],
      [{ type: 'submit', doc: 1, rev: 0, client: c.id, op: [] }, 'seq'],
      [{ type: 'submit', doc: 1, seq: 1, client: c.id, op: [] }, 'rev'],
      [{ type: 'submit', doc: 1, seq: 1, rev: 0, op: [] }, 'client'],
      [{ type: 'submit', doc: 1, seq: 1, rev: 0, client: c.id }, 'op'],
      [{ type: 'presence', doc: 1 }, 'section'],
      [{ type: 'leave' }, 'doc'],
    ];
    for (const [msg, field] of cases) {
      const e = await errorFor(c, JSON.stringify(msg));
      assert.equal(e.code, 'missing_field', JSON.stringify(msg));
      assert.ok(e.message.includes(`"${field}"`), e.message);
    }
    await bystanderStillServed();
  });

  it('answers wrong types with wrong_type', async () => {
    for (const msg of [
      { type: 'open', doc: '1' },
      { type: 'open', doc: 1, rev: '3' },
      { type: 'open', doc: [1] },
      { type: 'submit', doc: 1, seq: 1, rev: 0, client: c.id, op: { edit: 'x' } },
      { type: 'submit', doc: 1, seq: 1, rev: 0, client: 5, op: [] },
      { type: 'presence', doc: 1, section: 3 },
    ]) {
      assert.equal((await errorFor(c, JSON.stringify(msg))).code, 'wrong_type', JSON.stringify(msg));
    }
  });

  it('answers huge, negative and fractional numbers with invalid_value', async () => {
    // A literal beyond the range of a double is not a JSON number anyone can read.
    assert.equal((await errorFor(c, '{"type":"open","doc":1e400}')).code, 'invalid_json');
    for (const text of [
      '{"type":"open","doc":1e300}',
      '{"type":"open","doc":18446744073709551616}',
      '{"type":"open","doc":9007199254740992}',
      '{"type":"open","doc":-1}',
      '{"type":"open","doc":0}',
      '{"type":"open","doc":1.5}',
      '{"type":"open","doc":1,"rev":123456789012345678901234567890}',
    ]) {
      assert.equal((await errorFor(c, text)).code, 'invalid_value', text);
    }
    await bystanderStillServed();
  });

  it('answers deep nesting with too_deep', async () => {
    const deep = `{"type":"open","doc":1,"x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    assert.equal((await errorFor(c, deep)).code, 'too_deep');
    assert.equal((await errorFor(c, '['.repeat(100000))).code, 'too_deep');
    await bystanderStillServed();
  });

  it('answers a document that does not exist with forbidden (membership cannot be probed)', async () => {
    const e = await errorFor(c, JSON.stringify({ type: 'open', doc: 424242 }));
    assert.deepEqual({ ...e, message: undefined },
      { type: 'error', code: 'forbidden', in: 'open', doc: 424242, message: undefined });
  });

  it('answers a submit to a document not open with not_open', async () => {
    const e = await errorFor(c, JSON.stringify({ type: 'submit', doc: 1, rev: 0, seq: 1, client: c.id, op: [] }));
    assert.deepEqual({ ...e, message: undefined },
      { type: 'error', code: 'not_open', in: 'submit', doc: 1, seq: 1, message: undefined });
  });

  it('answers an invalid op with invalid_op, and a future revision with rev_in_future', async () => {
    c.send({ type: 'open', doc: 1 });
    const snap = await c.nextType('snapshot');
    const e1 = await errorFor(c, JSON.stringify({
      type: 'submit', doc: 1, rev: snap.rev, seq: 1, client: c.id,
      op: [{ edit: 'vision', f: 'body', op: [0, 'x'] }],
    }));
    assert.equal(e1.code, 'invalid_op');
    assert.equal(e1.seq, 1);
    const e2 = await errorFor(c, JSON.stringify({
      type: 'submit', doc: 1, rev: snap.rev + 1000, seq: 2, client: c.id,
      op: [{ edit: 'vision', f: 'body', op: ['x'] }],
    }));
    assert.equal(e2.code, 'rev_in_future');
    assert.equal(e2.seq, 2);
    const e3 = await errorFor(c, JSON.stringify({
      type: 'submit', doc: 1, rev: snap.rev, seq: 3, client: 'someone-else',
      op: [{ edit: 'vision', f: 'body', op: ['x'] }],
    }));
    assert.equal(e3.code, 'client_mismatch');
    const e4 = await errorFor(c, JSON.stringify({
      type: 'submit', doc: 1, rev: snap.rev, seq: 4, client: c.id,
      op: [{ edit: 'vision', f: 'body', op: [100000, 'x'] }],
    }));
    assert.equal(e4.code, 'out_of_range');
    const e5 = await errorFor(c, JSON.stringify({ type: 'hello', client: c.id, name: 'x', institution: 'y' }));
    assert.equal(e5.code, 'duplicate_hello');
    await bystanderStillServed();
  });
});

describe('abuse closes the connection with the right code', () => {
  it('closes an oversize message with 1009', async () => {
    const c = await Client.connect(server.ws);
    c.send('x'.repeat(300 * 1024));
    const closed = await c.waitClose();
    assert.equal(closed.code, 1009);
    await bystanderStillServed();
  });

  it('closes a binary frame with 1003', async () => {
    const c = await Client.connect(server.ws);
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const closed = await c.waitClose();
    assert.equal(closed.code, 1003);
    await bystanderStillServed();
  });

  it('answers a flood with rate_limited, then closes it with 1008', async () => {
    const c = await Client.connect(server.ws);
    await hello(c);
    for (let i = 0; i < 1000; i++) c.send({ type: 'leave', doc: 1 });
    const closed = await c.waitClose(10000);
    assert.equal(closed.code, 1008);
    const codes = new Set(c.received.filter((m) => m.type === 'error').map((m) => m.code));
    assert.ok(codes.has('rate_limited'), [...codes].join());
    await bystanderStillServed();
  });

  it('disconnects a client that never finishes the handshake', async () => {
    const silent = await rawConnect(server.port);
    const partial = await rawConnect(server.port);
    partial.socket.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    await waitFor(() => silent.ended && partial.ended, 4000, 'the server to drop both');
    await bystanderStillServed();
  });

  it('closes a slow reader instead of buffering without bound', async () => {
    // A WebSocket that opens the document and then stops reading.
    const slow = await joinDocument(server, { client: 'slow' });
    const sock = slow.c.ws._socket;
    sock.pause();
    const closedBefore = await metric(server, 'jointly_closed_connections_total{code="1008"}');
    // Someone writes big edits, replacing a section's text again and again.
    const { c: writer, snapshot } = await joinDocument(server, { client: 'writer' });
    let rev = snapshot.rev;
    const big = 'y'.repeat(100 * 1024);
    let len = [...snapshot.snapshot.sections.find((s) => s.id === 'outcomes').body].length;
    let seq = 0;
    const deadline = Date.now() + 30000;
    while ((await metric(server, 'jointly_closed_connections_total{code="1008"}')) === closedBefore) {
      assert.ok(Date.now() < deadline, 'the slow reader was never closed');
      seq += 1;
      const ack = await submitAndAck(writer, {
        rev, seq, op: [{ edit: 'outcomes', f: 'body', op: [{ d: len }, big] }],
      });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      rev = ack.rev;
      len = big.length;
      // Read what others broadcast so that the writer itself is not slow.
      writer.received.length = 0;
    }
    sock.resume();
    await slow.c.waitClose(10000);
    // The server's queue for it is gone.
    await waitFor(async () => (await metric(server, 'jointly_outbound_queue_bytes')) < 65536, 5000,
      'the outbound queue to drain');
    writer.close();
    bystanderRev = rev;
    await bystanderStillServed();
  });
});
