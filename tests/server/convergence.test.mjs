// Convergence against a real jointly-server: several clients, each the browser client's sync
// core (client-web/src/sync.js) over its own WebSocket (the `ws` package), make random text and
// structural edits in one document per seed, while connections are cut at random (the socket
// destroyed, whatever was in the air) and come back with `open` at the last revision and the
// in-flight op resubmitted unchanged (protocol/PROTOCOL.md, "Sync rules" 4). Several seeds run
// at once against one server process (127.0.0.1, a free port, a temporary data directory).
//
// At the end of each seed: every client's document, a freshly opened one and the HTTP API's all
// equal; nothing is pending; and every token typed is in the server's revisions exactly once or
// was reported to its client as not saved (client-web/testkit/workload.mjs), so no acknowledged
// edit is lost or doubled; and a cursor one client sends is seen exactly there by the others.
// The server's log is what a listening connection receives from revision 0 (the audit's
// reference), compared with `open` at revision 0 when the server still answers that with ops.
// Then the server is restarted on its data directory and every document must come back as the
// clients left it; and a quarter more seeds run against a server with --max-rev-lag=2, where
// submissions are refused as rev_too_old and sent again, and a client that was away reopens onto
// a snapshot and resubmits its in-flight op over it.
//
//   node --test tests/server/convergence.test.mjs
//   JOINTLY_SERVER_BIN=path/to/jointly-server   (default build/bin/jointly-server)
//   CONVERGENCE_SEEDS=N (default 200), CONVERGENCE_PARALLEL=N (default 8)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import WebSocket from 'ws';

import { createUser, freePort, kAdminEmail, kAdminPassword, login } from './server_harness.mjs';

import { Doc } from '../../client-web/src/doc_op.js';
import { Sync } from '../../client-web/src/sync.js';
import { Editor, audit, makeRandom } from '../../client-web/testkit/workload.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SERVER = process.env.JOINTLY_SERVER_BIN || process.env.JOINTLY_SERVER || path.join(ROOT, 'build/bin/jointly-server');
const SEEDS = Number(process.env.CONVERGENCE_SEEDS || 200);
const PARALLEL = Number(process.env.CONVERGENCE_PARALLEL || 8);

const STATS = new Map(); // how often the interesting paths ran
const count = (k, n = 1) => STATS.set(k, (STATS.get(k) || 0) + n);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function request(port, method, target, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request({
      host: '127.0.0.1', port, method, path: target,
      headers: {
        ...(server.headers || {}),
        ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// The server process for the whole file.
const server = { proc: null, port: 0, dir: null, log: [] };

// What each seed's document ended as: docId -> {rev, snapshot (canonical JSON)}.
const finals = new Map();

async function startServer(extra = []) {
  if (!server.dir) {
    server.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jointly-convergence-'));
    // The user every tab of this file works as: it creates the documents, so it leads them.
    createUser(path.join(server.dir, 'data'), { email: kAdminEmail, name: 'Convergence',
      institution: 'Test University', admin: true, password: kAdminPassword });
  }
  server.port = await freePort();
  server.proc = spawn(SERVER, [
    `--listen=127.0.0.1:${server.port}`, `--data=${path.join(server.dir, 'data')}`,
    '--messages-per-second=100000', '--message-burst=100000', '--log-level=warn', ...extra,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [server.proc.stdout, server.proc.stderr]) {
    stream.on('data', (d) => {
      server.log.push(d.toString());
      if (server.log.length > 200) server.log.shift();
    });
  }
  const exited = new Promise((resolve) => server.proc.on('exit', (code, signal) => resolve({ code, signal })));
  for (let i = 0; i < 200; i++) {
    const up = await Promise.race([
      request(server.port, 'GET', '/healthz').then((r) => r.status === 200, () => false),
      exited.then((e) => { throw new Error(`jointly-server exited (${e.code ?? e.signal}): ${server.log.join('')}`); }),
    ]);
    if (up) {
      const base = `http://127.0.0.1:${server.port}`;
      server.headers = { Cookie: (await login(base, kAdminEmail, kAdminPassword)).cookie, Origin: base };
      return;
    }
    await sleep(50);
  }
  throw new Error(`jointly-server did not answer /healthz: ${server.log.join('')}`);
}

async function stopServer({ keepData = false } = {}) {
  if (server.proc && server.proc.exitCode === null) {
    const done = new Promise((resolve) => server.proc.on('exit', resolve));
    server.proc.kill('SIGTERM');
    const timer = new Promise((resolve) => setTimeout(resolve, 5000).unref());
    await Promise.race([done, timer]);
    if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL');
  }
  if (server.dir && !keepData) {
    fs.rmSync(server.dir, { recursive: true, force: true });
    server.dir = null;
  }
}

// One browser tab: a Sync over a WebSocket that can be cut and reconnected.
class Tab {
  constructor(docId, name, rnd) {
    this.docId = docId;
    this.name = name;
    this.rnd = rnd;
    this.editor = new Editor(name, rnd, `Uni ${name}`);
    this.ws = null;
    this.loaded = false;
    this.problems = [];
    this.presenceErrors = [];
    this.presenceSeen = [];
    this.closed = false;
    this.sync = new Sync({
      doc: docId,
      client: `t${docId}-${name}`,
      send: (m) => { if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m)); },
      onRejected: (r) => { count(`reports (${r.code})`); this.editor.onRejected(r); },
      onDesync: (e) => this.problems.push(`lost sync: ${e.message}`),
    });
  }

  connect() {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers: server.headers });
    this.ws = ws;
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', client: this.sync.client, name: `User ${this.name}`, institution: `Uni ${this.name}` }));
      const open = { type: 'open', doc: this.docId };
      if (this.loaded) open.rev = this.sync.rev;
      ws.send(JSON.stringify(open));
    });
    ws.on('message', (data) => {
      if (ws !== this.ws) return;
      let m;
      try { m = JSON.parse(data.toString()); } catch { this.problems.push('the server sent something that is not JSON'); return; }
      if (m.doc !== undefined && m.doc !== this.docId) return;
      if (m.type === 'presence') this.presenceSeen.push(JSON.stringify(m));
      if (m.type === 'snapshot' && this.loaded) count('snapshots after a reconnect');
      if (m.type === 'snapshot') this.loaded = true;
      if (m.type === 'ack' && m.duplicate) count('duplicate acks');
      if (m.type === 'ops') count('own revisions found after a reconnect', m.ops.filter((o) => o.client === this.sync.client).length);
      if (m.type === 'ops' && this.sync.inflight && !m.ops.some((o) => o.client === this.sync.client && o.seq === this.sync.inflight.seq)) {
        count('in-flight ops resubmitted');
      }
      if (m.type === 'error' && m.in === 'submit') count(`refusals (${m.code})`);
      if (m.type === 'error') {
        if (m.in === 'submit' && (m.code === 'rate_limited' || m.code === 'busy')) {
          setTimeout(() => this.sync.resend(), 20);
        } else if (m.in === 'presence') {
          this.presenceErrors.push(`${m.code}: ${m.message}`);
        } else if (m.in !== 'submit') {
          this.problems.push(`error ${m.code} for ${m.in}: ${m.message}`);
        }
      }
      this.sync.handle(m);
    });
    ws.on('close', () => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.sync.disconnected();
      if (!this.closed) setTimeout(() => { if (!this.ws && !this.closed) this.connect(); }, this.rnd.int(0, 60));
    });
    ws.on('error', () => {}); // followed by close
  }

  // Cuts the connection the hard way: no close handshake, whatever is in the air may be lost.
  cut() {
    count('connections cut');
    if (this.ws) this.ws.terminate();
  }

  get idle() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.sync.connected &&
      !this.sync.waiting && this.sync.pending === 0;
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}

// Opens the document on a new connection and returns the first answer to `open` (a snapshot
// without rev, the revisions after rev with it).
function openOnce(docId, rev) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers: server.headers });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('no answer to open')); }, 10000);
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', client: `reader-${docId}`, name: 'Reader', institution: 'Test' }));
      ws.send(JSON.stringify(rev === undefined ? { type: 'open', doc: docId } : { type: 'open', doc: docId, rev }));
    });
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'snapshot' || m.type === 'ops' || m.type === 'error') {
        clearTimeout(timer);
        ws.close();
        resolve(m);
      }
    });
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

// A connection that only listens, from revision 0, and keeps every revision broadcast: the
// server's log, whatever its revision window (open with rev 0 would answer a snapshot once the
// document is past it).
class Recorder {
  constructor(docId) {
    this.ops = [];
    this.problems = [];
    this.ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers: server.headers });
    this.ready = new Promise((resolve, reject) => {
      this.ws.on('open', () => {
        this.ws.send(JSON.stringify({ type: 'hello', client: `recorder-${docId}`, name: 'Recorder', institution: 'Test' }));
        this.ws.send(JSON.stringify({ type: 'open', doc: docId }));
      });
      this.ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.type === 'snapshot') {
          if (m.rev !== 0) this.problems.push(`the recorder's snapshot is at revision ${m.rev}, not 0`);
          resolve();
        } else if (m.type === 'op') {
          if (m.rev !== this.ops.length + 1) this.problems.push(`the recorder got revision ${m.rev} after ${this.ops.length}`);
          this.ops.push(m);
        }
      });
      this.ws.on('error', reject);
      this.ws.on('close', () => this.problems.push('the recorder\'s connection closed'));
    });
  }

  close() {
    this.ws.removeAllListeners('close');
    this.ws.close();
  }
}

// Replaces the template's text (not tokens) with tokens of the author `init`, so that every
// character in the document can be audited, and waits for the ack.
function tokenize(docId, snapshot, rev) {
  let n = 0;
  const op = [];
  for (const s of snapshot.sections) {
    if (s.removed) continue;
    for (const f of ['title', 'body']) {
      const text = s[f] || '';
      op.push({ edit: s.id, f, op: text ? [{ d: text }, `<init.${n++}é😀>`] : [`<init.${n++}é😀>`] });
    }
  }
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers: server.headers });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('no ack for the setup op')); }, 10000);
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', client: `setup-${docId}`, name: 'Setup', institution: 'Test' }));
      ws.send(JSON.stringify({ type: 'open', doc: docId }));
      ws.send(JSON.stringify({ type: 'submit', doc: docId, rev, client: `setup-${docId}`, seq: 1, op }));
    });
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'ack' || m.type === 'error') {
        clearTimeout(timer);
        ws.close();
        if (m.type === 'ack') resolve(m.rev);
        else reject(new Error(`the setup op was refused: ${m.code} ${m.message}`));
      }
    });
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

const canonical = (v) => {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
};

async function runSeed(seed) {
  const rnd = makeRandom(seed);
  const created = await request(server.port, 'POST', '/api/documents', { title: `convergence seed ${seed}` });
  if (created.status !== 201) return [`creating the document: ${created.status} ${created.text}`];
  const docId = created.json.id;
  const recorder = new Recorder(docId);
  await recorder.ready;
  const first = await openOnce(docId);
  await tokenize(docId, first.snapshot, first.rev);
  const tabs = [];
  const n = rnd.int(2, 4);
  for (let i = 0; i < n; i++) tabs.push(new Tab(docId, `c${i}`, rnd));
  for (const t of tabs) t.connect();
  const cutRate = rnd.pick([0, 0.04, 0.1]);
  const burst = rnd.chance(0.25); // edits faster than the round trip: the buffer composes
  const steps = rnd.int(20, 60);
  for (let i = 0; i < steps; i++) {
    await sleep(burst ? rnd.int(0, 2) : rnd.int(0, 12));
    const t = rnd.pick(tabs);
    if (!t.loaded) continue; // the first snapshot has not arrived yet
    if (rnd.chance(cutRate)) t.cut(); // before the edit: it waits offline
    try {
      t.editor.step(t.sync);
      if (rnd.chance(0.1) && t.sync.connected) {
        const live = t.sync.doc.ordered();
        if (live.length) t.sync.setPresence(rnd.pick(live).id, 'body', 0);
      }
    } catch (e) {
      t.problems.push(`a local edit failed: ${e.message}`);
    }
    // Right after the edit: its submission may or may not have reached the server.
    if (rnd.chance(cutRate)) setTimeout(() => t.cut(), rnd.int(0, 3));
  }
  await sleep(10); // the last cuts scheduled just after an edit have happened
  // Quiet down: wait until every tab is connected, has nothing pending and is at the head.
  const deadline = Date.now() + 30000;
  let head = -1;
  let api = null;
  for (;;) {
    if (tabs.every((t) => t.idle)) {
      api = await request(server.port, 'GET', `/api/documents/${docId}`);
      head = api.json && api.json.rev;
      if (tabs.every((t) => t.sync.rev === head)) break;
    }
    if (Date.now() > deadline) {
      for (const t of tabs) t.close();
      recorder.close();
      return [`not quiet after 30 s: ${tabs.map((t) => `${t.name} rev ${t.sync.rev} pending ${t.sync.pending} waiting ${t.sync.waiting} connected ${t.sync.connected}`).join('; ')}; head ${head}`];
    }
    await sleep(20);
  }
  // Presence: one tab puts its cursor somewhere; every other tab must see it exactly there.
  const problems = [];
  const live = tabs[0].sync.doc.ordered();
  if (live.length) {
    const s = rnd.pick(live);
    const len = [...s.body].length;
    const anchor = rnd.int(0, len);
    const head = rnd.int(0, len);
    tabs[0].sync.setPresence(s.id, 'body', anchor, head);
    const seen = () => tabs.slice(1).every((t) => t.sync.others().some((p) =>
      p.client === tabs[0].sync.client && p.section === s.id && p.anchor === anchor && p.head === head));
    const until = Date.now() + 5000;
    while (!seen() && Date.now() < until) await sleep(10);
    count('presence checks');
    if (!seen()) {
      problems.push(`presence at ${s.id} ${anchor}..${head} (rev ${tabs[0].sync.rev}) from ${tabs[0].name} seen as ${JSON.stringify(tabs.slice(1).map((t) => t.sync.others()))}; ` +
        `errors to ${tabs[0].name}: ${JSON.stringify(tabs[0].presenceErrors.slice(-3))}; ` +
        `last presence messages: ${JSON.stringify(tabs.slice(1).map((t) => [t.sync.rev, t.presenceSeen.slice(-2)]))}`);
    }
  }
  for (const t of tabs) t.close();

  const expected = canonical(Doc.fromJSON(api.json.snapshot).toJSON());
  finals.set(docId, { rev: head, snapshot: expected });
  for (const t of tabs) {
    problems.push(...t.problems.map((p) => `${t.name}: ${p}`));
    if (canonical(t.sync.doc.toJSON()) !== expected) {
      problems.push(`${t.name}'s document differs from the server's:\n    ${canonical(t.sync.doc.toJSON())}\n    ${expected}`);
    }
  }
  const fresh = await openOnce(docId);
  if (fresh.type !== 'snapshot') problems.push(`a fresh open answered ${JSON.stringify(fresh)}`);
  else {
    if (fresh.rev !== head) problems.push(`a fresh open is at revision ${fresh.rev}, the API at ${head}`);
    if (canonical(Doc.fromJSON(fresh.snapshot).toJSON()) !== expected) problems.push('a fresh open differs from the API\'s document');
  }
  const recorded = Date.now() + 5000;
  while (recorder.ops.length < head && Date.now() < recorded) await sleep(10);
  recorder.close();
  problems.push(...recorder.problems);
  count('revisions', recorder.ops.length);
  if (recorder.ops.length !== head) problems.push(`the recorder saw ${recorder.ops.length} revisions, the head is ${head}`);
  const history = await openOnce(docId, 0);
  if (history.type === 'ops') {
    count('full histories compared');
    if (canonical(history.ops.map((o) => o.op)) !== canonical(recorder.ops.map((o) => o.op))) {
      problems.push('open at revision 0 and the broadcasts disagree about the revisions');
    }
  }
  const log = recorder.ops.map((o) => ({ op: o.op }));
  problems.push(...audit(Doc.fromJSON(api.json.snapshot), log, tabs.map((t) => t.editor)));
  const perSubmission = new Set();
  for (const o of recorder.ops) {
    const key = `${o.client} ${o.seq}`;
    if (perSubmission.has(key)) problems.push(`submission ${key} is in the log twice`);
    perSubmission.add(key);
  }
  return problems;
}

// Runs seeds first..last, PARALLEL at a time; returns the failures.
async function runSeeds(first, last) {
  const failures = [];
  let next = first;
  const worker = async () => {
    while (next <= last) {
      const seed = next++;
      let problems;
      try {
        problems = await runSeed(seed);
      } catch (e) {
        problems = [`threw: ${e.stack || e}`];
      }
      if (problems.length) failures.push(`seed ${seed}:\n  ${problems.slice(0, 5).join('\n  ')}`);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return failures;
}

describe('jointly-server with several clients cutting and resuming connections', () => {
  before(() => startServer());
  after(() => stopServer());

  it(`converges on ${SEEDS} seeds, every acknowledged edit there exactly once`, { timeout: 600000 }, async () => {
    const failures = [];
    let next = 1;
    const worker = async () => {
      while (next <= SEEDS) {
        const seed = next++;
        let problems;
        try {
          problems = await runSeed(seed);
        } catch (e) {
          problems = [`threw: ${e.stack || e}`];
        }
        if (problems.length) failures.push(`seed ${seed}:\n  ${problems.slice(0, 5).join('\n  ')}`);
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    console.log(`convergence: ${SEEDS} seeds in ${((Date.now() - started) / 1000).toFixed(1)} s, ${failures.length} failed`);
    console.log(`paths taken: ${[...STATS.entries()].sort().map(([k, n]) => `${k} ${n}`).join(', ')}`);
    assert.deepEqual(failures.slice(0, 5), []);
  });

  it('has every document as the clients left it after a restart', { timeout: 120000 }, async () => {
    await stopServer({ keepData: true });
    await startServer();
    const problems = [];
    for (const [docId, want] of finals) {
      const got = await request(server.port, 'GET', `/api/documents/${docId}`);
      if (got.status !== 200) problems.push(`document ${docId}: ${got.status} ${got.text.slice(0, 200)}`);
      else if (got.json.rev !== want.rev) problems.push(`document ${docId} is at revision ${got.json.rev}, was ${want.rev}`);
      else if (canonical(Doc.fromJSON(got.json.snapshot).toJSON()) !== want.snapshot) problems.push(`document ${docId} differs after the restart`);
    }
    console.log(`restart: ${finals.size} documents reloaded, ${problems.length} differ`);
    assert.deepEqual(problems.slice(0, 5), []);
  });

  const lagged = Math.max(1, Math.round(SEEDS / 4));
  it(`converges on ${lagged} more seeds with a window of 2 revisions (--max-rev-lag=2)`, { timeout: 600000 }, async () => {
    // Submissions made 3 revisions back are refused as rev_too_old and sent again; a client
    // that was away reopens onto a snapshot and resubmits its in-flight op over it.
    await stopServer();
    await startServer(['--max-rev-lag=2']);
    const started = Date.now();
    const failures = await runSeeds(SEEDS + 1, SEEDS + lagged);
    console.log(`convergence with --max-rev-lag=2: ${lagged} seeds in ${((Date.now() - started) / 1000).toFixed(1)} s, ${failures.length} failed`);
    console.log(`paths taken (all runs): ${[...STATS.entries()].sort().map(([k, n]) => `${k} ${n}`).join(', ')}`);
    assert.deepEqual(failures.slice(0, 5), []);
  });
});
