// Hostile JSON over a real WebSocket: depth bombs, numbers beyond a double and beyond 2^64,
// invalid UTF-8, lone surrogates, duplicate keys, __proto__ keys, very long strings and very
// many values. Each gets the answer of PROTOCOL.md's error table (or the close its limits
// name) within a second, never a crash or a hang; after each group a normal client is served.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  OP, RawWs, caseOnConnection, closePayload, frame, normalClientWorks, startHostileServer,
} from './hostile_harness.mjs';

const ANSWER_MS = 1000;  // "never a hang": every answer comes within this
let server;
let cases = 0;

before(async () => {
  server = await startHostileServer();
});

after(async () => {
  const r = await server.stop();
  server.cleanup();
  assert.equal(r.code, 0, `the server exited with ${r.code}/${r.signal}`);
  console.log(`# hostile JSON: ${cases} cases`);
});

// Sends text (a string or bytes) and resolves with the next message, which must come in time.
async function answer(ws, text) {
  cases += 1;
  ws.send(frame(OP.text, text));
  return ws.json(ANSWER_MS);
}

async function expectError(ws, text, code) {
  const m = await answer(ws, text);
  const shown = String(text).slice(0, 80);
  assert.equal(m.type, 'error', `${shown}: ${JSON.stringify(m)}`);
  assert.equal(m.code, code, `${shown}: ${m.message}`);
  return m;
}

// A group of cases on one connection that has said hello; a normal client after it.
function group(name, body) {
  it(name, () => caseOnConnection(server, body));
}

// The document open on ws: its snapshot.
async function openDoc(ws) {
  ws.send(frame(OP.text, JSON.stringify({ type: 'open', doc: server.doc })));
  const snap = await ws.json();
  assert.equal(snap.type, 'snapshot', JSON.stringify(snap));
  return snap;
}

describe('hostile JSON', () => {
  group('depth bombs are too_deep, up to 100,000 levels, arrays and objects', async (ws) => {
    const nest = (n, open, close) => `{"type":"open","doc":1,"x":${open.repeat(n)}${close.repeat(n)}}`;
    await expectError(ws, nest(40, '[', ']'), 'too_deep');
    await expectError(ws, nest(40, '{"a":', '}'), 'too_deep');
    await expectError(ws, '['.repeat(100000), 'too_deep');
    await expectError(ws, '{"a":'.repeat(40000), 'too_deep');
    await expectError(ws, `${'['.repeat(50000)}${']'.repeat(50000)}`, 'too_deep');
    // 31 levels inside the message (32 with it) is not too deep: the message itself is read.
    const m = await answer(ws, `{"type":"open","doc":0,"x":${'['.repeat(30)}${']'.repeat(30)}}`);
    assert.equal(m.code, 'invalid_value', JSON.stringify(m));
  });

  group('numbers beyond a double are invalid_json; beyond 2^53 and 2^64 invalid_value', async (ws) => {
    for (const lit of ['1e400', '-1e400', '1e999999999', `1${'0'.repeat(400)}`]) {
      await expectError(ws, `{"type":"open","doc":${lit}}`, 'invalid_json');
    }
    for (const lit of ['18446744073709551616', '18446744073709551615', '9223372036854775808',
      '-9223372036854775809', '9007199254740992', '1e300', '-1', '-0.5', '0', '1.5', '4.9e-324']) {
      await expectError(ws, `{"type":"open","doc":${lit}}`, 'invalid_value');
    }
    for (const lit of ['NaN', 'Infinity', '-Infinity', '0x10', '01', '+1', '1.', '.5', '1e']) {
      await expectError(ws, `{"type":"open","doc":${lit}}`, 'invalid_json');
    }
  });

  group('numbers beyond 2^53 inside an op are invalid_op', async (ws) => {
    const snap = await openDoc(ws);
    const id = snap.snapshot.sections[0].id;
    for (const lit of ['18446744073709551616', '9007199254740992', '1e300', '1.5', '-1', '0']) {
      await expectError(ws, `{"type":"submit","doc":${server.doc},"rev":${snap.rev},"client":"${ws.client}","seq":1,`
        + `"op":[{"edit":"${id}","f":"body","op":[${lit},"x"]}]}`, 'invalid_op');
    }
  });

  group('text that is not UTF-8 closes the connection with 1007 before any JSON is read', async (ws) => {
    cases += 1;
    ws.send(frame(OP.text, Buffer.concat([Buffer.from('{"type":"hello","client":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])));
    const c = await ws.closeFrame(ANSWER_MS);
    assert.equal(c.code, 1007);
  });

  group('lone surrogate escapes are invalid_json, a valid pair is read', async (ws) => {
    for (const esc of ['\\ud800', '\\udc00', '\\ud83d\\u0041', '\\ude00\\ud83d', '\\ud83d']) {
      await expectError(ws, `{"type":"open","doc":1,"x":"${esc}"}`, 'invalid_json');
    }
    const snap = await openDoc(ws);
    const id = snap.snapshot.sections[0].id;
    await expectError(ws, JSON.stringify({ type: 'submit', doc: server.doc, rev: snap.rev, client: 'x', seq: 1, op: [] })
      .replace('"op":[]', `"op":[{"edit":"${id}","f":"body","op":["\\ud800"]}]`), 'invalid_json');
    const m = await answer(ws, `{"type":"open","doc":0,"x":"\\ud83d\\ude00"}`);
    assert.equal(m.code, 'invalid_value');
  });

  group('duplicate keys: the message is read one way, consistently (the last value wins)', async (ws) => {
    await expectError(ws, '{"type":"open","doc":1,"doc":0}', 'invalid_value');
    await expectError(ws, '{"type":"open","type":"bogus","doc":1}', 'unknown_type');
    const m = await answer(ws, '{"type":"bogus","type":"open","doc":0}');
    assert.equal(m.code, 'invalid_value');
  });

  group('__proto__ keys and ids are plain data', async (ws) => {
    const m1 = await answer(ws, '{"type":"open","doc":0,"__proto__":{"doc":1}}');
    assert.equal(m1.code, 'invalid_value');
    const m2 = await answer(ws, '{"__proto__":{"type":"open"},"doc":1}');
    assert.equal(m2.code, 'invalid_message');
    await expectError(ws, '{"type":"__proto__"}', 'unknown_type');
    await expectError(ws, '{"type":"constructor"}', 'unknown_type');
    await expectError(ws, '{"type":"toString"}', 'unknown_type');
  });

  group('very long strings and very many values are answered at once', async (ws) => {
    await expectError(ws, JSON.stringify({ type: 'x'.repeat(200000) }), 'unknown_type');
    await expectError(ws, JSON.stringify({ type: 'open', doc: 0, pad: 'y'.repeat(250000) }), 'invalid_value');
    const fresh = await RawWs.connect(server);
    try {
      await expectError(fresh, JSON.stringify({ type: 'hello', client: 'c'.repeat(100000), name: 'n', institution: 'i' }),
        'invalid_value');
    } finally {
      fresh.destroy();
    }
    const many = `{"type":"open","doc":0,"a":[${Array(60000).fill(0).join(',')}]}`;
    await expectError(ws, many, 'invalid_value');
    const keys = `{"type":"open","doc":0,${Array.from({ length: 15000 }, (_, i) => `"k${i}":0`).join(',')}}`;
    await expectError(ws, keys, 'invalid_value');
    await expectError(ws, `"${'\\u0000'.repeat(40000)}"`, 'invalid_message');
  });

  group('a very long op is answered (applied or refused) at once', async (ws) => {
    const snap = await openDoc(ws);
    const section = snap.snapshot.sections.find((s) => !s.removed);
    const client = 'c-long';
    const ws2 = await RawWs.connect(server);
    try {
      ws2.send(frame(OP.text, JSON.stringify({ type: 'hello', client, name: 'L', institution: 'L U' })));
      assert.equal((await ws2.json()).type, 'welcome');
      ws2.send(frame(OP.text, JSON.stringify({ type: 'open', doc: server.doc })));
      const s2 = await ws2.json();
      const big = '€'.repeat(60000);  // 180,000 bytes
      ws2.send(frame(OP.text, JSON.stringify({ type: 'submit', doc: server.doc, rev: s2.rev, client, seq: 1,
        op: [{ edit: section.id, f: 'body', op: [big] }] })));
      const ack = await ws2.json(5000);
      assert.equal(ack.type, 'ack', JSON.stringify(ack).slice(0, 200));
      // 20,000 components: a valid op of alternating inserts and skips.
      const comps = [];
      for (let i = 0; i < 10000; i += 1) comps.push(1, 'x');
      ws2.send(frame(OP.text, JSON.stringify({ type: 'submit', doc: server.doc, rev: ack.rev, client, seq: 2,
        op: [{ edit: section.id, f: 'body', op: comps }] })));
      const ack2 = await ws2.json(5000);
      assert.equal(ack2.type, 'ack', JSON.stringify(ack2).slice(0, 200));
      ws2.send(frame(OP.close, closePayload(1000)));
    } finally {
      ws2.destroy();
    }
  });

  group('a message over --max-message-bytes closes with 1009', async (ws) => {
    cases += 1;
    ws.send(frame(OP.text, JSON.stringify({ type: 'open', doc: 1, pad: 'z'.repeat(300000) })));
    const c = await ws.closeFrame(ANSWER_MS * 2);
    assert.equal(c.code, 1009);
  });

  group('garbage around JSON is invalid_json', async (ws) => {
    for (const text of ['{"type":"open","doc":1} x', '{"type":"open","doc":1}{}', '\u0000', '{"type":"open","doc":1,}',
      "{'type':'open'}", '{"type":"open","doc":1', '[', '"unterminated', '{"a":tru}', '/* c */{}']) {
      await expectError(ws, text, 'invalid_json');
    }
  });
});

describe('hostile JSON bodies over HTTP', () => {
  // POST /api/documents: the JSON errors of the HTTP API (400 invalid_json / invalid_request),
  // never a 500, never a hang.
  async function post(body) {
    cases += 1;
    const res = await fetch(`${server.http}/api/documents`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...server.sessionHeaders() },
      body,
      signal: AbortSignal.timeout(ANSWER_MS * 2),
    });
    return { status: res.status, body: await res.json() };
  }

  it('answers each hostile body with 400 and its code', async () => {
    const cases400 = [
      [`{"title":${'['.repeat(100000)}`, 'invalid_json'],
      ['{"title":1e400}', 'invalid_json'],
      ['{"title":18446744073709551616}', 'invalid_request'],
      [Buffer.concat([Buffer.from('{"title":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), 'invalid_json'],
      ['{"title":"\\ud800"}', 'invalid_json'],
      ['{"title":"x","template":"__proto__"}', 'invalid_request'],
      ['{"__proto__":{"title":"x"}}', 'invalid_request'],
      [JSON.stringify({ title: 't'.repeat(201) }), 'invalid_request'],
      ['', 'invalid_json'],
      ['[]', 'invalid_request'],
    ];
    for (const [body, code] of cases400) {
      const r = await post(body);
      assert.equal(r.status, 400, `${String(body).slice(0, 60)}: ${r.status} ${JSON.stringify(r.body)}`);
      if (code) assert.equal(r.body.error.code, code, String(body).slice(0, 60));
    }
  });

  it('answers a body nested 500,000 deep (1 MB) at once, without a 5xx', async () => {
    // The HTTP API documents no depth limit: the unknown key is ignored, as long as it is JSON.
    const n = 500000;
    const r = await post(`{"title":"deep","t":${'['.repeat(n)}${']'.repeat(n)}}`);
    assert.ok([201, 400, 413].includes(r.status), `${r.status} ${JSON.stringify(r.body)}`);
    assert.ok(await normalClientWorks(server));
  });

  it('reads duplicate keys one way (the last wins) and keeps __proto__ titles as text', async () => {
    const dup = await post('{"title":"first","title":"second"}');
    assert.equal(dup.status, 201);
    assert.equal(dup.body.title, 'second');
    const proto = await post(JSON.stringify({ title: '__proto__' }));
    assert.equal(proto.status, 201);
    assert.equal(proto.body.title, '__proto__');
    assert.ok(await normalClientWorks(server));
  });
});
