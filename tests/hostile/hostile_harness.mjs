// The hostile-input suites' harness: starts a real jointly-server through
// tests/server/server_harness.mjs, which bootstraps an administrator into the fresh data
// directory and logs in (protocol/PROTOCOL.md, "Accounts and access"), so that every socket and
// request this folder makes carries that session's cookie and the server's own Origin.
//
// Also: a raw WebSocket client over node:net that writes frames byte by byte as the test says
// (masking, reserved bits, opcodes, fragmentation, lengths) and parses the server's frames, and
// `normalClientWorks`, the check every case ends with. Node 18+, no packages of its own (the
// server harness's `ws` comes from tests/server/node_modules).
import crypto from 'node:crypto';
import { rawConnect, startServer, waitFor } from '../server/server_harness.mjs';

export { rawConnect, waitFor };

// Starts the server (opts.args: extra flags; opts.staticDir: its --static; no demo document)
// and resolves with the harness's server plus `origin`, `cookie`, `sessionHeaders()` (Origin
// and Cookie for a request) and `doc`, a document the session leads (it created it).
export async function startHostileServer({ args = [], staticDir } = {}) {
  const server = await startServer({ args, staticDir, durability: 'none', demo: false });
  server.origin = server.http;
  server.cookie = server.users.admin.cookie;
  server.sessionHeaders = () => ({ Origin: server.origin, Cookie: server.cookie });
  const created = await fetch(`${server.http}/api/documents`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...server.sessionHeaders() },
    body: JSON.stringify({ title: 'Hostile input' }),
  });
  if (created.status !== 201) throw new Error(`creating a document failed: ${created.status}`);
  server.doc = (await created.json()).id;
  return server;
}

// ---- Frames ---------------------------------------------------------------------------------

export const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

// One frame as bytes. opts: fin (true), rsv (0..7, the three reserved bits), mask (true: a
// client frame), maskKey (4 bytes), len ('auto', or 16/64 to force a longer length form).
export function frame(opcode, payload = Buffer.alloc(0), opts = {}) {
  const { fin = true, rsv = 0, mask = true, len = 'auto' } = opts;
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const head = [(fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f)];
  const m = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len === 64 || (len === 'auto' && data.length > 0xffff)) {
    head.push(m | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(data.length));
  } else if (len === 16 || (len === 'auto' && data.length > 125)) {
    head.push(m | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(data.length);
  } else {
    head.push(m | data.length);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, data]);
  const key = opts.maskKey || crypto.randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i += 1) masked[i] = data[i] ^ key[i % 4];
  return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

// A close frame's payload: the code, then the reason (a string or bytes).
export function closePayload(code, reason = '') {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.isBuffer(reason) ? reason : Buffer.from(reason)]);
}

// A raw WebSocket connection after a successful upgrade: .send(bytes), .frames (parsed server
// frames), .next(pred, ms), .closeFrame(ms) (the server's close: {code, reason}), .ended.
export class RawWs {
  static async connect(server, { headers = server.sessionHeaders(), target = '/ws', version = 13 } = {}) {
    const conn = await rawConnect(server.port);
    const key = crypto.randomBytes(16).toString('base64');
    let req = `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n`
      + `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\n`;
    for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
    conn.socket.write(`${req}\r\n`);
    const ws = new RawWs(conn);
    await ws.until(() => ws.headerDone || conn.ended, 5000, 'the upgrade response');
    if (!ws.status || ws.status !== 101) throw new Error(`upgrade refused: ${ws.head}`);
    const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    if (!ws.head.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
      throw new Error(`wrong Sec-WebSocket-Accept in ${ws.head}`);
    }
    return ws;
  }

  constructor(conn) {
    this.conn = conn;
    this.frames = [];
    this.buf = Buffer.alloc(0);
    this.headerDone = false;
    this.status = 0;
    this.head = '';
    this.protocolErrors = [];
    this.wakers = new Set();
    conn.socket.on('data', (d) => { this.onData(d); this.wake(); });
    conn.socket.on('close', () => setImmediate(() => this.wake()));
  }

  wake() { for (const w of [...this.wakers]) w(); }

  // Resolves once pred() holds, checked on every event of the socket; rejects after ms.
  until(pred, ms, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        clearTimeout(timer);
        this.wakers.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.wakers.delete(check);
        reject(new Error(`timed out waiting for ${what}; frames: ${this.describe()}`));
      }, ms);
      this.wakers.add(check);
      check();
    });
  }

  get ended() { return this.conn.ended; }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.headerDone) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.head = this.buf.subarray(0, end).toString('latin1');
      this.status = Number(this.head.split(' ')[1]);
      this.buf = this.buf.subarray(end + 4);
      this.headerDone = true;
    }
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0];
      const b1 = this.buf[1];
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (b1 & 0x80) this.protocolErrors.push('the server masked a frame');
      if (this.buf.length < off + len) return;
      const payload = Buffer.from(this.buf.subarray(off, off + len));
      this.buf = this.buf.subarray(off + len);
      this.frames.push({ fin: !!(b0 & 0x80), rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, payload });
    }
  }

  send(...buffers) { this.conn.socket.write(Buffer.concat(buffers)); }

  // Resolves with (and removes) the first frame matching pred.
  async next(pred = () => true, ms = 5000, what = 'a frame') {
    let found;
    await this.until(() => {
      const i = this.frames.findIndex(pred);
      if (i >= 0) [found] = this.frames.splice(i, 1);
      return found !== undefined || this.ended;
    }, ms, what);
    if (found === undefined) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) [found] = this.frames.splice(i, 1);
    }
    if (found === undefined) throw new Error(`connection ended before ${what}; frames: ${this.describe()}`);
    return found;
  }

  // The next text message's JSON.
  async json(ms) { return JSON.parse((await this.next((f) => f.opcode === OP.text, ms, 'a text frame')).payload.toString()); }

  // The server's close frame: {code, reason} (code 1005 when it had no payload).
  async closeFrame(ms = 5000) {
    const f = await this.next((x) => x.opcode === OP.close, ms, 'a close frame');
    if (f.payload.length === 0) return { code: 1005, reason: '' };
    return { code: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString() };
  }

  // Resolves once the server has closed the TCP connection.
  async tcpClosed(ms = 5000) { await this.until(() => this.ended, ms, 'the server to close the TCP connection'); }

  describe() {
    return JSON.stringify(this.frames.map((f) => ({ op: f.opcode, fin: f.fin, len: f.payload.length, text: f.payload.subarray(0, 60).toString() })));
  }

  destroy() { this.conn.socket.destroy(); }
}

// hello. name and institution were required before accounts and are ignored since (PROTOCOL.md),
// so sending them suits both.
export function helloMessage(server, client = `c-${crypto.randomBytes(4).toString('hex')}`) {
  return JSON.stringify({ type: 'hello', client, name: 'Tester', institution: 'Test U' });
}

// A well-behaved client on a fresh connection: hello, open the document, submit an edit, get
// its ack. Throws when the server does not serve it.
export async function normalClientWorks(server) {
  const ws = await RawWs.connect(server);
  try {
    const client = `c-${crypto.randomBytes(4).toString('hex')}`;
    ws.send(frame(OP.text, helloMessage(server, client)));
    const welcome = await ws.json();
    if (welcome.type !== 'welcome') throw new Error(`no welcome: ${JSON.stringify(welcome)}`);
    ws.send(frame(OP.text, JSON.stringify({ type: 'open', doc: server.doc })));
    const snap = await ws.json();
    if (snap.type !== 'snapshot') throw new Error(`no snapshot: ${JSON.stringify(snap)}`);
    const section = snap.snapshot.sections.find((s) => !s.removed);
    const op = section
      ? [{ edit: section.id, f: 'body', op: ['.'] }]
      : [{ add: `s${crypto.randomBytes(4).toString('hex')}`, pos: 'V', title: 'x', body: '' }];
    ws.send(frame(OP.text, JSON.stringify({ type: 'submit', doc: server.doc, rev: snap.rev, client, seq: 1, op })));
    const ack = await ws.json();
    if (ack.type !== 'ack') throw new Error(`no ack: ${JSON.stringify(ack)}`);
    ws.send(frame(OP.close, closePayload(1000)));
    const c = await ws.closeFrame();
    if (c.code !== 1000) throw new Error(`close answered with ${c.code}`);
    return true;
  } finally {
    ws.destroy();
  }
}

// A connection that has said hello (ready for messages); .client is its client id.
export async function helloWs(server) {
  const ws = await RawWs.connect(server);
  ws.client = `c-${crypto.randomBytes(4).toString('hex')}`;
  ws.send(frame(OP.text, helloMessage(server, ws.client)));
  const welcome = await ws.json();
  if (welcome.type !== 'welcome') throw new Error(`no welcome: ${JSON.stringify(welcome)}`);
  return ws;
}

// Runs body(ws) on a new connection that has said hello, closes it, then checks that a normal
// client is still served (throws otherwise): the shape of every case in this folder.
export async function caseOnConnection(server, body) {
  const ws = await helloWs(server);
  try {
    await body(ws);
  } finally {
    ws.destroy();
  }
  if (!(await normalClientWorks(server))) throw new Error('a normal client is not served');
}
