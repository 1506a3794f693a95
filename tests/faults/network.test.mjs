// Network faults (issue #9, "Faults"): against a real jointly-server with short timeouts
// (--handshake-timeout=2, --idle-timeout=4, --message-timeout=2), at once: 500 slowloris sockets trickling an HTTP
// request, connections cut mid-handshake and mid-message, WebSockets that never answer pings,
// readers that never read and writers that send a frame a byte at a time. Every one of them
// must be closed within its timeout (plus slack); afterwards the server's file descriptors and
// RSS come back near their baseline; and a well-behaved client's submit -> ack latency during
// the attack is measured (p50/p99) against the same client with no attack.
//
//   node --test tests/faults/network.test.mjs
//   JOINTLY_LONG=1: an attack of 60 s in waves (CI: one wave, about 8 s)
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { after, describe, it } from 'node:test';

import { OP, RawWs, frame } from '../hostile/hostile_harness.mjs';
import { startServer } from '../server/server_harness.mjs';
import { LONG, WebSocket, fdCount, quantile, rssKiB, sleep } from './faults_kit.mjs';

const HANDSHAKE_S = 2;
const IDLE_S = 4;
const MESSAGE_S = 2;
const SLACK_MS = 2000;
const SLOWLORIS = 500;
const ATTACK_MS = LONG ? 60000 : 8000;

// A well-behaved client: submits one small edit at a time and times each ack.
async function latencyProbe(server, doc, ms) {
  const ws = new WebSocket(server.ws, { headers: server.headers });
  const inbox = [];
  let wake = () => {};
  ws.on('message', (d) => { inbox.push(JSON.parse(d.toString())); wake(); });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const next = async (pred) => {
    const deadline = Date.now() + 10000;
    for (;;) {
      const i = inbox.findIndex(pred);
      if (i >= 0) return inbox.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`the probe waited 10 s; got ${JSON.stringify(inbox.slice(-3))}`);
      await new Promise((resolve) => { wake = resolve; setTimeout(resolve, 50); });
    }
  };
  const client = `probe-${crypto.randomBytes(3).toString('hex')}`;
  ws.send(JSON.stringify({ type: 'hello', client }));
  ws.send(JSON.stringify({ type: 'open', doc }));
  const snap = await next((m) => m.type === 'snapshot');
  const section = snap.snapshot.sections.find((s) => !s.removed && !s.locked).id;
  let rev = snap.rev;
  const times = [];
  const until = Date.now() + ms;
  for (let seq = 1; Date.now() < until; seq++) {
    const t0 = process.hrtime.bigint();
    ws.send(JSON.stringify({ type: 'submit', doc, rev, client, seq, op: [{ edit: section, f: 'body', op: ['x'] }] }));
    const ack = await next((m) => (m.type === 'ack' || m.type === 'error') && m.seq === seq);
    if (ack.type !== 'ack') throw new Error(`the probe's submit was refused: ${ack.code}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    rev = ack.rev;
    inbox.length = 0;
    // At most ~50 edits a second: a fast typist, well inside the server's per-connection rate
    // limit (100 messages a second), which a probe at full speed on a quiet machine exceeded.
    await sleep(20);
  }
  ws.close();
  return times;
}

// Resolves with the milliseconds until the server closed the socket (or Infinity after limitMs).
function closedWithin(socket, t0, limitMs) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(Infinity), limitMs);
    socket.once('close', () => { clearTimeout(timer); resolve(Date.now() - t0); });
  });
}

// Slowloris: an HTTP request one header byte every 300 ms, never finished.
async function slowloris(server) {
  const s = net.connect(server.port, '127.0.0.1');
  s.on('error', () => {});
  await new Promise((resolve) => s.once('connect', resolve)); // timed from the TCP handshake
  const closed = closedWithin(s, Date.now(), HANDSHAKE_S * 1000 + SLACK_MS + 3000);
  s.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  const trickle = setInterval(() => { if (!s.destroyed) s.write('X'); }, 300);
  const ms = await closed;
  clearInterval(trickle);
  s.destroy();
  return ms;
}

// Half an upgrade request, then the connection reset.
async function cutMidHandshake(server) {
  const s = net.connect(server.port, '127.0.0.1');
  s.on('error', () => {});
  await new Promise((resolve) => s.once('connect', resolve));
  s.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upg`);
  await sleep(20);
  if (s.resetAndDestroy) s.resetAndDestroy(); else s.destroy();
}

// After the upgrade and hello: half a submit frame, then the connection reset.
async function cutMidMessage(server, doc) {
  const ws = await RawWs.connect(server, { headers: server.headers });
  ws.send(frame(OP.text, JSON.stringify({ type: 'hello', client: `cut-${crypto.randomBytes(3).toString('hex')}` })));
  const f = frame(OP.text, JSON.stringify({ type: 'open', doc }));
  ws.send(f.subarray(0, f.length >> 1));
  await sleep(20);
  const sock = ws.conn.socket;
  if (sock.resetAndDestroy) sock.resetAndDestroy(); else sock.destroy();
}

// Upgraded, says hello, then never answers a ping: resolves with {ms, pinged}.
async function neverPongs(server) {
  const ws = await RawWs.connect(server, { headers: server.headers });
  const t0 = Date.now();
  ws.send(frame(OP.text, JSON.stringify({ type: 'hello', client: `mute-${crypto.randomBytes(3).toString('hex')}` })));
  const ms = await closedWithin(ws.conn.socket, t0, IDLE_S * 1000 + SLACK_MS + 3000);
  const pinged = ws.frames.some((x) => x.opcode === OP.ping);
  ws.destroy();
  return { ms, pinged };
}

// Upgraded, opens a busy document, then stops reading (the socket paused) until the idle
// timeout and the slack have passed; then reads again: resolves true when what the server sent
// ends with the connection closed (a paused socket cannot see the close while it happens).
async function neverReads(server, doc) {
  const ws = await RawWs.connect(server, { headers: server.headers });
  ws.send(frame(OP.text, JSON.stringify({ type: 'hello', client: `deaf-${crypto.randomBytes(3).toString('hex')}` })),
    frame(OP.text, JSON.stringify({ type: 'open', doc })));
  ws.conn.socket.pause();
  await sleep(IDLE_S * 1000 + SLACK_MS);
  const closed = closedWithin(ws.conn.socket, Date.now(), 1000);
  ws.conn.socket.resume();
  const ms = await closed;
  ws.destroy();
  return ms !== Infinity;
}

// Upgraded, then a 2,000-byte message one byte every 250 ms (it would take 500 s). Resolves
// with the milliseconds until the server dropped the connection and the code of the close frame
// it sent first (0: none).
async function slowWriter(server) {
  const ws = await RawWs.connect(server, { headers: server.headers });
  const t0 = Date.now();
  const f = frame(OP.text, JSON.stringify({ type: 'hello', client: 'slow', pad: 'p'.repeat(2000) }));
  let i = 0;
  const trickle = setInterval(() => { if (!ws.conn.socket.destroyed && i < f.length) ws.send(f.subarray(i, ++i)); }, 250);
  const ms = await closedWithin(ws.conn.socket, t0, IDLE_S * 1000 + SLACK_MS + 3000);
  clearInterval(trickle);
  const close = ws.frames.find((x) => x.opcode === OP.close);
  ws.destroy();
  return { ms, code: close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 0 };
}

// The value of a labelled counter in the server's /metrics (0 when absent).
async function metric(server, name, label) {
  const text = await (await fetch(`${server.http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${label}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('jointly-server under network faults', () => {
  let server;
  after(() => server && server.cleanup());

  it(`closes ${SLOWLORIS} slowloris sockets, cut, mute, deaf and slow connections within the timeouts; fds and RSS recover; p99 reported`, { timeout: 600000 }, async () => {
    server = await startServer({
      demo: false,
      args: [`--handshake-timeout=${HANDSHAKE_S}`, `--idle-timeout=${IDLE_S}`, `--message-timeout=${MESSAGE_S}`,
        '--max-connections=5000'],
    });
    const pid = server.proc.pid;
    const created = await server.fetch('/api/documents', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'network' }),
    });
    assert.equal(created.status, 201);
    const doc = (await created.json()).id;
    await latencyProbe(server, doc, 1000); // warm up
    await sleep(300);
    const fdBase = fdCount(pid);
    const rssBase = rssKiB(pid);
    const calm = await latencyProbe(server, doc, 3000);

    const attackStart = Date.now();
    const results = { slowloris: [], mute: [], deaf: [], cuts: 0 };
    let peakFds = fdBase;
    const sampler = setInterval(() => { peakFds = Math.max(peakFds, fdCount(pid)); }, 100);
    const waves = async () => {
      do {
        const wave = [];
        for (let i = 0; i < SLOWLORIS; i++) wave.push(slowloris(server).then((ms) => results.slowloris.push(ms)));
        for (let i = 0; i < 20; i++) wave.push(neverPongs(server).then((r) => results.mute.push(r)));
        for (let i = 0; i < 20; i++) wave.push(neverReads(server, doc).then((ok) => results.deaf.push(ok)));
        for (let i = 0; i < 100; i++) {
          wave.push((i % 2 ? cutMidHandshake(server) : cutMidMessage(server, doc)).then(() => { results.cuts++; }));
        }
        await Promise.all(wave);
      } while (Date.now() - attackStart < ATTACK_MS - 8000);
    };
    const [attacked] = await Promise.all([
      latencyProbe(server, doc, ATTACK_MS),
      waves(),
    ]);
    clearInterval(sampler);

    // Back near the baseline once the attackers are gone.
    let fdAfter = fdCount(pid);
    for (let i = 0; i < 100 && fdAfter > fdBase + 4; i++) { await sleep(100); fdAfter = fdCount(pid); }
    const rssAfter = rssKiB(pid);
    const health = await fetch(`${server.http}/healthz`);

    const max = (xs) => Math.max(...xs);
    const line = `network: ${results.slowloris.length} slowloris closed in max ${max(results.slowloris)} ms ` +
      `(handshake timeout ${HANDSHAKE_S} s), ${results.mute.length} never-pong max ${max(results.mute.map((r) => r.ms))} ms, ` +
      `${results.deaf.filter(Boolean).length}/${results.deaf.length} never-read closed by ${IDLE_S * 1000 + SLACK_MS} ms ` +
      `(idle timeout ${IDLE_S} s), ${results.cuts} cut mid-handshake/mid-message; fds ${fdBase} -> peak ${peakFds} -> ${fdAfter}; ` +
      `RSS ${(rssBase / 1024).toFixed(1)} -> ${(rssAfter / 1024).toFixed(1)} MiB; probe p50/p99 calm ${quantile(calm, 0.5).toFixed(1)}/${quantile(calm, 0.99).toFixed(1)} ms ` +
      `(${calm.length} acks), under attack ${quantile(attacked, 0.5).toFixed(1)}/${quantile(attacked, 0.99).toFixed(1)} ms (${attacked.length} acks)`;
    console.log(line);

    assert.ok(max(results.slowloris) <= HANDSHAKE_S * 1000 + SLACK_MS, 'a slowloris socket outlived the handshake timeout');
    assert.ok(max(results.mute.map((r) => r.ms)) <= IDLE_S * 1000 + SLACK_MS, 'a client that never answers pings outlived the idle timeout');
    assert.ok(results.mute.every((r) => r.pinged), 'the server did not ping a silent client');
    assert.ok(results.deaf.every(Boolean), 'a client that never reads outlived the idle timeout');
    assert.ok(fdAfter <= fdBase + 4, `file descriptors ${fdBase} before, ${fdAfter} after`);
    assert.ok(rssAfter <= rssBase * 1.5 + 32 * 1024, `RSS ${rssBase} KiB before, ${rssAfter} KiB after`);
    assert.ok(quantile(attacked, 0.99) < 1000, 'the well-behaved client waited over a second for an ack at p99');
    assert.equal(health.status, 200);
  });

  // PROTOCOL.md: a message must arrive whole within --message-timeout of its first bytes. The
  // idle timer alone counts bytes, not messages: one byte every 250 ms kept a connection (and up
  // to --max-message-bytes of buffer) for as long as the writer liked. Its frame header (8 bytes)
  // takes 2 s, then the message's deadline runs, then the close frame and the drop half a
  // second later: closed well within the idle timeout.
  it('closes writers that trickle a frame a byte at a time within the message timeout (1008, counted)', { timeout: 60000 }, async () => {
    const before = await metric(server, 'jointly_rejected_messages_total', 'code="message_timeout"');
    const fdBase = fdCount(server.proc.pid);
    const results = await Promise.all(Array.from({ length: 5 }, () => slowWriter(server)));
    const times = results.map((r) => r.ms);
    console.log(`network: 5 slow writers (a byte every 250 ms) closed after ${times.join(', ')} ms with ${results.map((r) => r.code).join(', ')} (message timeout ${MESSAGE_S} s, idle ${IDLE_S} s)`);
    assert.ok(Math.max(...times) <= IDLE_S * 1000 + SLACK_MS, 'a writer trickling one frame outlived the idle timeout');
    assert.ok(Math.min(...times) >= MESSAGE_S * 1000, 'a writer was closed before its message timeout');
    assert.deepEqual(results.map((r) => r.code), [1008, 1008, 1008, 1008, 1008]);
    assert.equal(await metric(server, 'jointly_rejected_messages_total', 'code="message_timeout"') - before, 5);
    let fds = fdCount(server.proc.pid);
    for (let i = 0; i < 50 && fds > fdBase; i++) { await sleep(100); fds = fdCount(server.proc.pid); }
    assert.ok(fds <= fdBase, `file descriptors ${fdBase} before, ${fds} after`);
  });

  it('keeps a connection whose messages arrive in time, however slowly they follow each other', { timeout: 60000 }, async () => {
    // Two messages 3 s apart (over the message timeout, under the idle timeout), each in two
    // halves 1 s apart (under the message timeout): nothing is closed.
    const ws = await RawWs.connect(server, { headers: server.headers });
    const hello = frame(OP.text, JSON.stringify({ type: 'hello', client: 'patient' }));
    ws.send(hello.subarray(0, 10));
    await sleep(1000);
    ws.send(hello.subarray(10));
    await ws.until(() => ws.frames.some((x) => x.opcode === OP.text), 5000, 'the welcome');
    await sleep(3000);
    const open = frame(OP.text, JSON.stringify({ type: 'open', doc: 999999 }));
    ws.send(open.subarray(0, 10));
    await sleep(1000);
    ws.send(open.subarray(10));
    await ws.until(() => ws.frames.filter((x) => x.opcode === OP.text).length >= 2, 5000, 'the answer to open');
    assert.ok(!ws.frames.some((x) => x.opcode === OP.close), 'the server closed a connection whose messages came in time');
    assert.ok(!ws.ended);
    ws.destroy();
  });
});
