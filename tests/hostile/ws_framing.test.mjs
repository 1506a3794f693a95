// WebSocket framing over a raw socket, after the Autobahn test suite's case groups (1 framing,
// 2 pings/pongs, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8, 7 close handling,
// 9 limits; 12/13, compression, do not apply: the server negotiates no extension). Each case
// sends hand-made frames and asserts the RFC 6455 answer: 1002 for a protocol error, 1007 for
// text that is not UTF-8, 1009 for a message over --max-message-bytes, 1003 for a binary
// message (PROTOCOL.md), a pong echoing each ping's payload, a close echoed; and after every
// case a normal client is still served.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  OP, RawWs, caseOnConnection, closePayload, frame, normalClientWorks, startHostileServer,
} from './hostile_harness.mjs';

const MAX_MESSAGE = 65536;
let server;
let cases = 0;

before(async () => {
  server = await startHostileServer({ args: ['--max-message-bytes', String(MAX_MESSAGE)] });
});

after(async () => {
  const r = await server.stop();
  server.cleanup();
  assert.equal(r.code, 0, `the server exited with ${r.code}/${r.signal}`);
  console.log(`# websocket framing: ${cases} cases`);
});

// A JSON message the server answers (unknown_type) padded to exactly n bytes.
function jsonOfSize(n) {
  const base = '{"type":"x","p":""}';
  return Buffer.from(base.replace('""', `"${'a'.repeat(n - base.length)}"`));
}

async function answersUnknownType(ws, ms) {
  const m = await ws.json(ms);
  assert.equal(m.type, 'error', JSON.stringify(m));
  assert.equal(m.code, 'unknown_type');
}

// Runs one case on a connection that has said hello; checks a normal client afterwards.
function wsCase(name, body) {
  it(name, () => {
    cases += 1;
    return caseOnConnection(server, body);
  });
}

// The server closes with code: a close frame carrying it, which the client answers as RFC 6455
// asks (a close frame of its own, unless the server has already dropped the connection, as it
// may after a protocol error), then the server closes the TCP connection.
async function closesWith(ws, code) {
  const c = await ws.closeFrame();
  assert.equal(c.code, code, `close ${c.code} "${c.reason}", expected ${code}`);
  if (!ws.ended) ws.send(frame(OP.close, closePayload(code)));
  await ws.tcpClosed();
  assert.deepEqual(ws.protocolErrors, []);
}

describe('1 framing', () => {
  for (const n of [19, 125, 126, 127, 128, 65535, MAX_MESSAGE]) {
    wsCase(`1.1 a text message of ${n} bytes is answered`, async (ws) => {
      ws.send(frame(OP.text, jsonOfSize(n)));
      await answersUnknownType(ws);
    });
  }
  wsCase('1.1.8 a message written one byte at a time is answered', async (ws) => {
    const bytes = frame(OP.text, jsonOfSize(300));
    for (const b of bytes) {
      ws.send(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    await answersUnknownType(ws);
  });
  wsCase('1.2 a binary message closes with 1003', async (ws) => {
    ws.send(frame(OP.binary, Buffer.from([0, 1, 2, 255])));
    await closesWith(ws, 1003);
  });
  wsCase('an unmasked client frame closes with 1002', async (ws) => {
    ws.send(frame(OP.text, jsonOfSize(40), { mask: false }));
    await closesWith(ws, 1002);
  });
  wsCase('a length in the 16-bit form below 126 (not minimal) closes with 1002', async (ws) => {
    ws.send(frame(OP.text, jsonOfSize(40), { len: 16 }));
    await closesWith(ws, 1002);
  });
  wsCase('a length in the 64-bit form below 65536 (not minimal) closes with 1002', async (ws) => {
    ws.send(frame(OP.text, jsonOfSize(300), { len: 64 }));
    await closesWith(ws, 1002);
  });
  wsCase('a 64-bit length with the top bit set closes the connection', async (ws) => {
    const head = Buffer.from([0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]);
    ws.send(head);
    const c = await ws.closeFrame();
    assert.ok([1002, 1009].includes(c.code), `close ${c.code}`);
    await ws.tcpClosed();
  });
});

describe('2 pings and pongs', () => {
  for (const [what, payload] of [
    ['no payload', Buffer.alloc(0)],
    ['a 125-byte payload', Buffer.alloc(125, 0x2a)],
    ['a binary payload', Buffer.from([0, 255, 254, 0xc0, 0x80])],
  ]) {
    wsCase(`2.x a ping with ${what} gets a pong echoing it`, async (ws) => {
      ws.send(frame(OP.ping, payload));
      const pong = await ws.next((f) => f.opcode === OP.pong, 5000, 'a pong');
      assert.ok(pong.fin);
      assert.deepEqual(pong.payload, payload);
    });
  }
  wsCase('2.5 a ping with a 126-byte payload closes with 1002', async (ws) => {
    ws.send(frame(OP.ping, Buffer.alloc(126, 0x2a)));
    await closesWith(ws, 1002);
  });
  wsCase('2.6 a ping with a 125-byte payload sent in 1-byte chunks gets its pong', async (ws) => {
    const payload = Buffer.alloc(125, 0x33);
    for (const b of frame(OP.ping, payload)) ws.send(Buffer.from([b]));
    assert.deepEqual((await ws.next((f) => f.opcode === OP.pong)).payload, payload);
  });
  wsCase('2.7 an unsolicited pong is ignored', async (ws) => {
    ws.send(frame(OP.pong, 'unsolicited'));
    ws.send(frame(OP.text, jsonOfSize(30)));
    await answersUnknownType(ws);
  });
  wsCase('2.10 ten pings get ten pongs, in order', async (ws) => {
    for (let i = 0; i < 10; i += 1) ws.send(frame(OP.ping, `ping ${i}`));
    for (let i = 0; i < 10; i += 1) {
      assert.equal((await ws.next((f) => f.opcode === OP.pong)).payload.toString(), `ping ${i}`);
    }
  });
});

describe('3 reserved bits', () => {
  for (const [rsv, opcode, name] of [
    [1, OP.text, 'text'], [2, OP.text, 'text'], [3, OP.text, 'text'], [4, OP.text, 'text'],
    [5, OP.binary, 'binary'], [6, OP.ping, 'ping'], [7, OP.close, 'close'],
  ]) {
    wsCase(`3.x RSV=${rsv} on a ${name} frame closes with 1002`, async (ws) => {
      const payload = opcode === OP.close ? closePayload(1000) : jsonOfSize(30);
      ws.send(frame(opcode, payload, { rsv }));
      await closesWith(ws, 1002);
    });
  }
  wsCase('3.x RSV=1 on a frame after a good message closes with 1002', async (ws) => {
    ws.send(frame(OP.text, jsonOfSize(30)), frame(OP.text, jsonOfSize(30), { rsv: 1 }));
    await answersUnknownType(ws);
    await closesWith(ws, 1002);
  });
});

describe('4 opcodes', () => {
  for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    wsCase(`4.x reserved opcode ${opcode} closes with 1002`, async (ws) => {
      ws.send(frame(opcode, opcode < 8 ? jsonOfSize(30) : Buffer.from('x')));
      await closesWith(ws, 1002);
    });
  }
});

describe('5 fragmentation', () => {
  wsCase('5.1 a fragmented ping closes with 1002', async (ws) => {
    ws.send(frame(OP.ping, 'frag', { fin: false }), frame(OP.cont, 'ment'));
    await closesWith(ws, 1002);
  });
  wsCase('5.2 a fragmented pong closes with 1002', async (ws) => {
    ws.send(frame(OP.pong, 'frag', { fin: false }), frame(OP.cont, 'ment'));
    await closesWith(ws, 1002);
  });
  wsCase('5.3 a text message in two fragments is answered as one', async (ws) => {
    const m = jsonOfSize(60);
    ws.send(frame(OP.text, m.subarray(0, 25), { fin: false }), frame(OP.cont, m.subarray(25)));
    await answersUnknownType(ws);
  });
  wsCase('5.6 a ping between the fragments of a message is answered, and so is the message', async (ws) => {
    const m = jsonOfSize(60);
    ws.send(frame(OP.text, m.subarray(0, 25), { fin: false }), frame(OP.ping, 'between'),
      frame(OP.cont, m.subarray(25)));
    assert.equal((await ws.next((f) => f.opcode === OP.pong)).payload.toString(), 'between');
    await answersUnknownType(ws);
  });
  wsCase('5.x a message in 200 one-byte fragments (and empty ones) is answered', async (ws) => {
    const m = jsonOfSize(200);
    const parts = [frame(OP.text, Buffer.alloc(0), { fin: false })];
    for (let i = 0; i < m.length; i += 1) parts.push(frame(OP.cont, m.subarray(i, i + 1), { fin: false }));
    parts.push(frame(OP.cont, Buffer.alloc(0)));
    ws.send(...parts);
    await answersUnknownType(ws);
  });
  wsCase('5.9 a continuation with no message started closes with 1002', async (ws) => {
    ws.send(frame(OP.cont, jsonOfSize(30)));
    await closesWith(ws, 1002);
  });
  wsCase('5.10 an unfinished continuation with no message started closes with 1002', async (ws) => {
    ws.send(frame(OP.cont, 'x', { fin: false }), frame(OP.text, jsonOfSize(30)));
    await closesWith(ws, 1002);
  });
  wsCase('5.18 a new text frame inside a fragmented message closes with 1002', async (ws) => {
    ws.send(frame(OP.text, '{"type":', { fin: false }), frame(OP.text, jsonOfSize(30)));
    await closesWith(ws, 1002);
  });
  wsCase('5.x a binary frame inside a fragmented text message closes with 1002', async (ws) => {
    ws.send(frame(OP.text, '{"type":', { fin: false }), frame(OP.binary, '"x"}'));
    await closesWith(ws, 1002);
  });
});

describe('6 UTF-8', () => {
  const invalid = {
    'a lone 0xFF byte': [0xff],
    'a lone continuation byte': [0x80],
    'an overlong NUL (C0 80)': [0xc0, 0x80],
    'an overlong slash (E0 80 AF)': [0xe0, 0x80, 0xaf],
    'an encoded surrogate (ED A0 80)': [0xed, 0xa0, 0x80],
    'a code point above U+10FFFF (F4 90 80 80)': [0xf4, 0x90, 0x80, 0x80],
    'a 5-byte form (F8 88 80 80 80)': [0xf8, 0x88, 0x80, 0x80, 0x80],
    'a sequence cut at the end (E2 82)': [0xe2, 0x82],
  };
  for (const [what, bytes] of Object.entries(invalid)) {
    wsCase(`6.x text holding ${what} closes with 1007`, async (ws) => {
      ws.send(frame(OP.text, Buffer.concat([Buffer.from('{"type":"'), Buffer.from(bytes), Buffer.from('"}')])));
      await closesWith(ws, 1007);
    });
  }
  wsCase('6.2 valid UTF-8 split inside a code point across fragments is answered', async (ws) => {
    const m = Buffer.from('{"type":"x","p":"😀 中文 é"}');
    const cut = m.indexOf(0xf0) + 2;  // inside the emoji
    ws.send(frame(OP.text, m.subarray(0, cut), { fin: false }), frame(OP.cont, m.subarray(cut)));
    await answersUnknownType(ws);
  });
  wsCase('6.x invalid UTF-8 in a later fragment closes with 1007', async (ws) => {
    ws.send(frame(OP.text, '{"type":"x","p":"', { fin: false }), frame(OP.cont, Buffer.from([0xed, 0xa0, 0x80]), { fin: false }),
      frame(OP.cont, '"}'));
    await closesWith(ws, 1007);
  });
});

describe('7 close handling', () => {
  wsCase('7.1 a close with 1000 is echoed and the TCP connection closed', async (ws) => {
    ws.send(frame(OP.close, closePayload(1000, 'bye')));
    await closesWith(ws, 1000);
  });
  wsCase('7.1 a text frame after a close is ignored', async (ws) => {
    ws.send(frame(OP.close, closePayload(1000)), frame(OP.text, jsonOfSize(30)));
    await closesWith(ws, 1000);
    assert.equal(ws.frames.filter((f) => f.opcode === OP.text).length, 0);
  });
  wsCase('7.3.1 a close without payload is answered with a close', async (ws) => {
    ws.send(frame(OP.close));
    const c = await ws.closeFrame();
    assert.ok([1000, 1005].includes(c.code), `close ${c.code}`);
    await ws.tcpClosed();
  });
  wsCase('7.3.2 a close with a 1-byte payload closes with 1002', async (ws) => {
    ws.send(frame(OP.close, Buffer.from([0x03])));
    await closesWith(ws, 1002);
  });
  wsCase('7.3.5 a close with a 123-byte reason is echoed', async (ws) => {
    ws.send(frame(OP.close, closePayload(1000, '!'.repeat(123))));
    await closesWith(ws, 1000);
  });
  wsCase('7.3.6 a close with a 124-byte reason (126-byte payload) closes with 1002', async (ws) => {
    ws.send(frame(OP.close, closePayload(1000, '!'.repeat(124))));
    await closesWith(ws, 1002);
  });
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]) {
    wsCase(`7.7 a close with the valid code ${code} is echoed`, async (ws) => {
      ws.send(frame(OP.close, closePayload(code)));
      await closesWith(ws, code);
    });
  }
  // RFC 6455 defines no code from 5000 up; Autobahn's 7.13 cases are informational. Beast treats
  // them as valid and echoes them; either answer closes the connection.
  for (const code of [5000, 65535]) {
    wsCase(`7.13 a close with the undefined code ${code} closes the connection`, async (ws) => {
      ws.send(frame(OP.close, closePayload(code)));
      const c = await ws.closeFrame();
      assert.ok([code, 1002].includes(c.code), `close ${c.code}`);
      await ws.tcpClosed();
    });
  }
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999]) {
    wsCase(`7.9 a close with the invalid code ${code} closes with 1002`, async (ws) => {
      ws.send(frame(OP.close, closePayload(code)));
      await closesWith(ws, 1002);
    });
  }
  wsCase('7.5.1 a close reason that is not UTF-8 closes with 1007', async (ws) => {
    ws.send(frame(OP.close, closePayload(1000, Buffer.from([0xce, 0xba, 0xed, 0xa0, 0x80]))));
    const c = await ws.closeFrame();
    assert.ok([1002, 1007].includes(c.code), `close ${c.code}`);
    await ws.tcpClosed();
  });
  wsCase('a TCP connection cut in the middle of a frame leaves the server serving', async (ws) => {
    ws.send(frame(OP.text, jsonOfSize(1000)).subarray(0, 500));
  });
});

describe('9 limits', () => {
  wsCase(`9.x a message of --max-message-bytes (${MAX_MESSAGE}) in 64 fragments is answered`, async (ws) => {
    const m = jsonOfSize(MAX_MESSAGE);
    const step = MAX_MESSAGE / 64;
    const parts = [];
    for (let i = 0; i < 64; i += 1) {
      parts.push(frame(i === 0 ? OP.text : OP.cont, m.subarray(i * step, (i + 1) * step), { fin: i === 63 }));
    }
    ws.send(...parts);
    await answersUnknownType(ws, 10000);
  });
  wsCase('9.x one byte over the limit in one frame closes with 1009', async (ws) => {
    ws.send(frame(OP.text, jsonOfSize(MAX_MESSAGE + 1)));
    await closesWith(ws, 1009);
  });
  wsCase('9.x one byte over the limit in fragments closes with 1009', async (ws) => {
    const m = jsonOfSize(MAX_MESSAGE + 1);
    ws.send(frame(OP.text, m.subarray(0, MAX_MESSAGE / 2), { fin: false }), frame(OP.cont, m.subarray(MAX_MESSAGE / 2)));
    await closesWith(ws, 1009);
  });
  wsCase('9.x a frame header announcing 2^40 bytes closes with 1009 before any payload', async (ws) => {
    const head = Buffer.from([0x81, 0x80 | 127, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    ws.send(head);
    await closesWith(ws, 1009);
  });
  wsCase('9.x 150 small messages in one write are all answered in order', async (ws) => {
    const n = 150;  // under the default burst of 200
    const parts = [];
    for (let i = 0; i < n; i += 1) parts.push(frame(OP.text, JSON.stringify({ type: 'open', doc: 0, seq: i })));
    ws.send(...parts);
    for (let i = 0; i < n; i += 1) assert.equal((await ws.json()).code, 'invalid_value');
  });
});

describe('the handshake', () => {
  it('refuses an upgrade with a bad Sec-WebSocket-Version', async () => {
    cases += 1;
    await assert.rejects(RawWs.connect(server, { version: 8 }));
    assert.ok(await normalClientWorks(server));
  });
  it('refuses an upgrade without a session cookie with 401', async () => {
    cases += 1;
    await assert.rejects(RawWs.connect(server, { headers: { Origin: server.origin } }), /401/);
    await assert.rejects(RawWs.connect(server, { headers: { Origin: server.origin, Cookie: 'jointly_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } }), /401/);
    await assert.rejects(RawWs.connect(server, { headers: { Origin: server.origin, Cookie: `${server.cookie}; ${server.cookie}` } }), /401/);
    assert.ok(await normalClientWorks(server));
  });
  it('refuses an upgrade without Origin with 403', async () => {
    cases += 1;
    await assert.rejects(RawWs.connect(server, { headers: { Cookie: server.cookie } }), /403/);
    await assert.rejects(RawWs.connect(server, { headers: { Cookie: server.cookie, Origin: 'null' } }), /403/);
    assert.ok(await normalClientWorks(server));
  });
  it('refuses an upgrade from another origin with 403', async () => {
    cases += 1;
    await assert.rejects(RawWs.connect(server, { headers: { ...server.sessionHeaders(), Origin: 'http://evil.example' } }), /403/);
    assert.ok(await normalClientWorks(server));
  });
});
