// What the fault and load tests (tests/faults/*.test.mjs) share: a fleet of editing clients
// over a real jointly-server that can be killed and restarted under them, the checks that
// nothing acknowledged was lost or doubled, and readings of the server process (RSS, file
// descriptors). The server is started by tests/server/server_harness.mjs (a bootstrapped admin,
// Cookie + Origin on every request); each client is the browser client's sync core
// (client-web/src/sync.js) driven by the testkit's random Editor, over its own WebSocket, and
// follows the protocol's rule 4 (reconnect, `open` at its last revision, resubmit the in-flight
// op unchanged). Single-threaded like everything in Node: no locking needed.
//
// Environment: JOINTLY_LONG=1 asks every test for its long run; JOINTLY_SERVER_BIN and
// JOINTLY_ADMIN_BIN as in the harness.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

import { Doc } from '../../client-web/src/doc_op.js';
import { Sync } from '../../client-web/src/sync.js';
import { Editor, makeRandom } from '../../client-web/testkit/workload.mjs';
import { Client, adminBin, startServer } from '../server/server_harness.mjs';

// `ws` is installed once, for tests/server (npm ci there); resolve it from that package.
export const WebSocket = createRequire(new URL('../server/package.json', import.meta.url))('ws');
export { makeRandom };

export const LONG = process.env.JOINTLY_LONG === '1';
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Flags that keep the server's per-connection rate limit out of the way of a test that measures
// something else.
export const kNoRateLimit = ['--messages-per-second=100000', '--message-burst=100000'];

/// JSON with sorted keys: equal documents give equal strings.
export function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/// The resident set of a process in KiB (0 when it is gone).
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/// How many file descriptors a process has open (-1 when it is gone).
export function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/// The value at quantile q (0..1) of a list of numbers.
export function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/// Runs `jointly-admin check` on a data directory (the server must not run on it).
export function adminCheck(dataDir) {
  const r = spawnSync(adminBin, ['check', '--data', dataDir], { encoding: 'utf8' });
  return { ok: r.status === 0, status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/// Lines of the server's JSON log at level error (or critical).
export function errorLines(logs) {
  return logs.filter((line) => {
    try {
      const j = JSON.parse(line);
      return j.level === 'error' || j.level === 'critical';
    } catch {
      return false;
    }
  });
}

/// A jointly-server whose process may be killed and started again on the same data directory;
/// `current` is the harness's handle of the running process (null while it is down).
export class RestartableServer {
  constructor(args = []) {
    this.args = args;
    this.current = null;
    this.dataDir = null;
    this.starts = 0;
    this.logsSeen = []; // the log lines of every process started, in order
  }

  async start() {
    this.current = await startServer({ demo: false, args: this.args, ...(this.dataDir ? { dataDir: this.dataDir } : {}) });
    this.dataDir = this.current.dataDir;
    this.starts++;
    return this.current;
  }

  /// Kills the process (SIGKILL by default) and waits until it is gone.
  async stop(sig = 'SIGKILL') {
    const s = this.current;
    this.current = null;
    if (!s) return null;
    const r = await s.stop(sig);
    this.logsSeen.push(...s.logs);
    return r;
  }

  /// An HTTP request as the admin to the running server; resolves with {status, json}.
  async api(pathname, init = {}) {
    const res = await this.current.fetch(pathname, init);
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, json, text };
  }

  async createDocument(title) {
    const r = await this.api('/api/documents', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title }),
    });
    if (r.status !== 201) throw new Error(`creating a document: ${r.status} ${r.text}`);
    return r.json.id;
  }
}

/// One browser tab editing one document: a Sync over a WebSocket that reconnects (with a short
/// pause) whenever it is lost, to whichever server process is running then. Records every ack
/// it is sent: acked maps seq -> the revision the server said the op became.
export class Tab {
  constructor(server, docId, name, rnd) {
    this.server = server;
    this.docId = docId;
    this.rnd = rnd;
    this.editor = new Editor(name, rnd, `Uni ${name}`);
    this.client = `f${docId}-${name}`;
    this.ws = null;
    this.loaded = false;
    this.closed = false;
    this.problems = [];
    this.acked = new Map();
    // refused: edits the sync core gave up (onRejected); unavailable: submits refused with
    // storage_unavailable (disk below the server's reserve), kept and sent again.
    this.counts = { connects: 0, duplicateAcks: 0, refused: 0, unavailable: 0, closes: new Map() };
    this.sync = new Sync({
      doc: docId,
      client: this.client,
      send: (m) => { if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m)); },
      onRejected: (r) => { this.counts.refused++; this.editor.onRejected(r); },
      onDesync: (e) => this.problems.push(`lost sync: ${e.message}`),
    });
  }

  connect() {
    const s = this.server.current;
    if (!s) { // the server is down: try again shortly
      setTimeout(() => { if (!this.ws && !this.closed) this.connect(); }, 30);
      return;
    }
    this.counts.connects++;
    const ws = new WebSocket(s.ws, { headers: s.headers });
    this.ws = ws;
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', client: this.client }));
      ws.send(JSON.stringify(this.loaded ? { type: 'open', doc: this.docId, rev: this.sync.rev } : { type: 'open', doc: this.docId }));
    });
    ws.on('message', (data) => {
      if (ws !== this.ws) return;
      let m;
      try { m = JSON.parse(data.toString()); } catch { this.problems.push('a message that is not JSON'); return; }
      if (m.doc !== undefined && m.doc !== this.docId) return;
      if (m.type === 'snapshot') this.loaded = true;
      if (m.type === 'ack') this.recordAck(m);
      if (m.type === 'error' && m.in === 'submit' && m.code === 'storage_unavailable') {
        this.counts.unavailable++;
        setTimeout(() => this.sync.resend(), 200);
      } else if (m.type === 'error' && m.in === 'submit' && (m.code === 'rate_limited' || m.code === 'busy')) {
        setTimeout(() => this.sync.resend(), 20);
      } else if (m.type === 'error' && m.in !== 'submit' && m.in !== 'presence' && m.code !== 'storage_failed') {
        this.problems.push(`error ${m.code} for ${m.in}: ${m.message}`);
      }
      this.sync.handle(m);
    });
    ws.on('close', (code) => {
      this.counts.closes.set(code, (this.counts.closes.get(code) || 0) + 1);
      if (ws !== this.ws) return;
      this.ws = null;
      this.sync.disconnected();
      if (!this.closed) setTimeout(() => { if (!this.ws && !this.closed) this.connect(); }, this.rnd.int(10, 80));
    });
    ws.on('error', () => {}); // followed by close
  }

  recordAck(m) {
    const before = this.acked.get(m.seq);
    if (m.duplicate) this.counts.duplicateAcks++;
    if (before !== undefined && before !== m.rev) {
      this.problems.push(`seq ${m.seq} acknowledged as revision ${before} and later as ${m.rev}`);
    }
    this.acked.set(m.seq, m.rev);
  }

  /// One random local edit (sent when the sync core may).
  step() {
    if (!this.loaded) return;
    try {
      this.editor.step(this.sync);
    } catch (e) {
      this.problems.push(`a local edit failed: ${e.message}`);
    }
  }

  cut() { if (this.ws) this.ws.terminate(); }

  get idle() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.sync.connected &&
      !this.sync.waiting && this.sync.pending === 0;
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}

/// Opens a document on a connection of its own (the harness's Client) and resolves with the
/// first answer to `open` (with rev 0: every revision, each with its client and seq). Sends
/// server.current.headers (session and Origin) when it has them.
export async function openOnce(server, docId, rev) {
  const { ws, headers } = server.current;
  const c = await Client.connect(ws, headers ? { headers } : undefined);
  try {
    c.send({ type: 'hello', client: `reader-${docId}` });
    c.send(rev === undefined ? { type: 'open', doc: docId } : { type: 'open', doc: docId, rev });
    return await c.next((m) => ['snapshot', 'ops', 'error'].includes(m.type), 15000, `the answer to open of ${docId}`);
  } finally {
    c.close();
  }
}

/// Waits until every tab is connected, has nothing pending and stands at its document's head.
/// Returns a list of problems (empty when it got there within timeoutMs).
export async function quiesce(server, tabs, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  const byDoc = new Map();
  for (const t of tabs) byDoc.set(t.docId, [...(byDoc.get(t.docId) || []), t]);
  for (const [docId, group] of byDoc) {
    for (;;) {
      if (server.current && group.every((t) => t.idle)) {
        const r = await server.api(`/api/documents/${docId}`).catch(() => null);
        if (r && r.status === 200 && group.every((t) => t.sync.rev === r.json.rev)) break;
      }
      if (Date.now() > deadline) {
        return [`document ${docId} not quiet within ${timeoutMs} ms: ${group.map((t) => `${t.client} rev ${t.sync.rev} pending ${t.sync.pending} connected ${t.sync.connected}`).join('; ')}`];
      }
      await sleep(20);
    }
  }
  return [];
}

// Every revision of the history API's single-revision list, newest first.
async function historyRevs(server, docId) {
  const revs = [];
  let cursor = null;
  for (let page = 0; page < 10000; page++) {
    const r = await server.api(`/api/documents/${docId}/history?group=0&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (r.status !== 200) throw new Error(`history of ${docId}: ${r.status} ${r.text.slice(0, 200)}`);
    revs.push(...r.json.entries.map((e) => e.rev));
    cursor = r.json.next;
    if (cursor === null || cursor === undefined) break;
  }
  return revs;
}

/// The checks after a quiet moment, for one document and its tabs: the revisions are 1..N
/// without a gap (from `open` at 0 and from the history API), no (client, seq) is in them
/// twice, every ack a tab received names a revision that is exactly that submission, and every
/// tab's document equals the server's. Returns {problems, revisions, acked}.
export async function verifyDocument(server, docId, tabs) {
  const problems = [];
  const api = await server.api(`/api/documents/${docId}`);
  if (api.status !== 200) return { problems: [`GET document ${docId}: ${api.status}`], revisions: 0, acked: 0 };
  const head = api.json.rev;
  const log = await openOnce(server, docId, 0);
  if (log.type !== 'ops') return { problems: [`open ${docId} at 0 answered ${log.type} ${log.code || ''}`], revisions: head, acked: 0 };
  log.ops.forEach((o, i) => { if (o.rev !== i + 1) problems.push(`doc ${docId}: revision ${o.rev} at position ${i + 1}`); });
  if (log.ops.length !== head) problems.push(`doc ${docId}: ${log.ops.length} revisions in the log, head ${head}`);
  const seen = new Map();
  for (const o of log.ops) {
    const key = `${o.client} ${o.seq}`;
    if (seen.has(key)) problems.push(`doc ${docId}: submission ${key} is revision ${seen.get(key)} and ${o.rev}`);
    seen.set(key, o.rev);
  }
  const hist = await historyRevs(server, docId);
  const want = Array.from({ length: head }, (_, i) => head - i);
  if (canonical(hist) !== canonical(want)) {
    problems.push(`doc ${docId}: the history API lists ${hist.length} revisions (${hist.slice(0, 3)}…), head ${head}`);
  }
  let acked = 0;
  const expected = canonical(Doc.fromJSON(api.json.snapshot).toJSON());
  for (const t of tabs) {
    problems.push(...t.problems.map((p) => `${t.client}: ${p}`));
    for (const [seq, rev] of t.acked) {
      acked++;
      const o = log.ops[rev - 1];
      if (!o || o.client !== t.client || o.seq !== seq) {
        problems.push(`${t.client}: seq ${seq} was acknowledged as revision ${rev}, which is ${o ? `${o.client} ${o.seq}` : 'missing'}`);
      }
    }
    if (t.sync.rev !== head) problems.push(`${t.client} is at revision ${t.sync.rev}, the server at ${head}`);
    if (canonical(t.sync.doc.toJSON()) !== expected) problems.push(`${t.client}'s document differs from the server's`);
  }
  return { problems, revisions: head, acked };
}

/// Edits at random on the given tabs until stop() is called: one edit every pauseMs on a
/// random tab. Returns {stop: () => Promise, edits: () => number}.
export function editLoop(tabs, rnd, { pauseMs = [0, 8], cutRate = 0 } = {}) {
  let running = true;
  let edits = 0;
  const done = (async () => {
    while (running) {
      await sleep(rnd.int(pauseMs[0], pauseMs[1]));
      if (tabs.length === 0) continue;
      const t = rnd.pick(tabs);
      if (cutRate && rnd.chance(cutRate)) t.cut();
      t.step();
      edits++;
    }
  })();
  return { stop: async () => { running = false; await done; }, edits: () => edits };
}
