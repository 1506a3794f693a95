// Starts a real jointly-server on 127.0.0.1 (a free port, a temp data dir) and speaks to it:
// a WebSocket client that queues what it receives, raw TCP and HTTP helpers. Shared by the
// integration tests in this folder (node:test, Node 18+).
//
// Accounts: before the server starts, `jointly-admin create-user` bootstraps an administrator
// (admin@test.jointly, password kAdminPassword); with --demo the server creates the demo
// leader, editor and reviewer (members of document 1). The harness logs in as the admin and as
// each demo user, and sends the session Cookie and the server's Origin on every WebSocket
// (Client.connect and joinDocument) and on server.fetch: by default as the demo leader.
//
// The binaries: $JOINTLY_SERVER_BIN, else build/bin/jointly-server from the repository root;
// jointly-admin from $JOINTLY_ADMIN_BIN, else next to jointly-server.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const serverBin =
  process.env.JOINTLY_SERVER_BIN || path.join(repoRoot, 'build', 'bin', 'jointly-server');
export const adminBin =
  process.env.JOINTLY_ADMIN_BIN || path.join(path.dirname(serverBin), 'jointly-admin');
export const kAdminEmail = 'admin@test.jointly';
export const kAdminPassword = 'admin password for tests';

// Headers sent on WebSockets to a server's /ws, by URL (set by startServer).
const wsHeaders = new Map();

// Creates a user with jointly-admin (the server must not be running on dataDir).
export function createUser(dataDir, { email, name, institution, country = 'AT', admin = false, password }) {
  const args = ['create-user', '--data', dataDir, '--email', email, '--name', name,
    '--institution', institution, '--country', country, ...(admin ? ['--admin'] : [])];
  const r = spawnSync(adminBin, args, { input: `${password}\n`, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`jointly-admin create-user failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

// Logs in over HTTP on a connection of its own that is closed after the answer (so that it
// holds no connection slot of the server); resolves with {cookie, user, setCookie}, or throws.
export function login(base, email, password, origin = base) {
  const body = JSON.stringify({ email, password });
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/api/login`, {
      method: 'POST',
      agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Origin: origin, Connection: 'close' },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`login of ${email}: HTTP ${res.statusCode} ${text}`));
        const setCookie = res.headers['set-cookie'][0];
        resolve({ cookie: setCookie.split(';')[0], user: JSON.parse(text).user, setCookie });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A free TCP port on 127.0.0.1 (bound and released; bind it soon after): for a server that
// must know its port before it starts, e.g. a cluster node named in the others' flags.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'jointly-test-') {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Starts the server; resolves once it listens. opts.args: extra flags; opts.dataDir: reuse a
// data directory (restart); opts.demo: create the demo document (default true).
export async function startServer(opts = {}) {
  const dataDir = opts.dataDir || path.join(tempDir(), 'data');
  if (!existsSync(dataDir) || readdirSync(dataDir).length === 0) {  // a new store
    createUser(dataDir, { email: kAdminEmail, name: 'Test Admin', institution: 'Test University',
      country: 'AT', admin: true, password: kAdminPassword });
  }
  const args = ['--listen', '127.0.0.1:0', '--data', dataDir, '--threads', '2',
    '--durability', opts.durability || 'sync', '--static', opts.staticDir || path.join(dataDir, 'no-static'),
    ...(opts.demo === false ? [] : ['--demo']), ...(opts.args || [])];
  const proc = spawn(serverBin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const logs = [];
  let buffered = '';
  let onListening;
  const listening = new Promise((resolve, reject) => {
    onListening = resolve;
    proc.on('exit', (code) => reject(new Error(`jointly-server exited (${code}) before listening:\n${logs.join('\n')}`)));
    proc.on('error', reject);
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      logs.push(line);
      try {
        const j = JSON.parse(line);
        if (j.msg === 'listening') onListening(j.port);
      } catch { /* not JSON: keep it in the log */ }
    }
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await listening;
  const base = `http://127.0.0.1:${port}`;
  const ws = `ws://127.0.0.1:${port}/ws`;
  // Log in: the admin, and with --demo the demo users (their password is in demo-logins.txt).
  const users = { admin: await login(base, kAdminEmail, kAdminPassword) };
  if (opts.demo !== false) {
    const text = readFileSync(path.join(dataDir, 'demo-logins.txt'), 'utf8');
    const password = /password: (\S+)/.exec(text)[1];
    for (const role of ['leader', 'editor', 'reviewer']) {
      users[role] = await login(base, `${role}@demo.jointly.test`, password);
      users[role].password = password;
    }
  }
  const as = users.leader || users.admin;
  const headers = { Cookie: as.cookie, Origin: base };
  wsHeaders.set(ws, headers);
  return {
    port,
    dataDir,
    proc,
    logs,
    exited,
    http: base,
    ws,
    users,
    headers,
    // fetch with this server's Origin and a session (opts.as: a key of users; default leader).
    fetch(pathname, init = {}) {
      const who = users[init.as || 'leader'] || users.admin;
      const h = { Origin: base, Cookie: who.cookie, ...(init.headers || {}) };
      return fetch(`${base}${pathname}`, { ...init, headers: h });
    },
    // Headers for a WebSocket as that user.
    headersAs(key) { return { Cookie: users[key].cookie, Origin: base }; },
    // Sends a signal and resolves with {code, signal, ms} when the process has exited.
    async stop(sig = 'SIGTERM') {
      const t0 = Date.now();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
      const r = await exited;
      return { ...r, ms: Date.now() - t0 };
    },
    cleanup() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      if (!opts.dataDir) rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

// A WebSocket client that keeps every message it receives.
export class Client {
  constructor(url, options = {}) {
    this.received = [];
    this.waiters = [];
    this.closed = null;
    // The server's session and Origin unless the caller gives headers of its own.
    const headers = { ...(wsHeaders.get(url) || {}), ...(options.headers || {}) };
    this.ws = new WebSocket(url, { ...options, headers });
    this.ws.on('message', (data, isBinary) => {
      const text = data.toString();
      let msg;
      try { msg = JSON.parse(text); } catch { msg = { unparsed: text, isBinary }; }
      this.received.push(msg);
      this.wake();
    });
    this.closedPromise = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        this.wake();
        resolve(this.closed);
      });
    });
    this.ws.on('error', () => { /* surfaced through close */ });
  }

  static async connect(url, options) {
    const c = new Client(url, options);
    await new Promise((resolve, reject) => {
      c.ws.once('open', resolve);
      c.ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      c.ws.once('error', reject);
    });
    return c;
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }

  // Resolves with (and removes) the first received message matching pred.
  async next(pred = () => true, timeoutMs = 5000, what = 'a message') {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex(pred);
      if (i >= 0) return this.received.splice(i, 1)[0];
      if (this.closed) throw new Error(`closed (${this.closed.code}) while waiting for ${what}; got ${JSON.stringify(this.received)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.received)}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  nextType(type, timeoutMs) { return this.next((m) => m.type === type, timeoutMs, `"${type}"`); }

  async waitClose(timeoutMs = 5000) {
    return Promise.race([
      this.closedPromise,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no close')), timeoutMs)),
    ]);
  }

  close() { try { this.ws.close(); } catch { /* already */ } }
  terminate() { try { this.ws.terminate(); } catch { /* already */ } }
}

// Connects, says hello, opens doc; resolves with the client and the snapshot.
// as: which logged-in user (a key of server.users; default the demo leader).
export async function joinDocument(server, { client = `c-${Math.random().toString(36).slice(2, 10)}`, doc = 1, as } = {}) {
  const c = await Client.connect(server.ws, as ? { headers: server.headersAs(as) } : {});
  c.id = client;
  c.send({ type: 'hello', client });
  await c.nextType('welcome');
  c.send({ type: 'open', doc });
  const snapshot = await c.nextType('snapshot');
  return { c, snapshot };
}

// A raw TCP connection: resolves with {socket, data(): all bytes so far as text, ended}.
export function rawConnect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    const state = { socket, ended: false, data: () => Buffer.concat(chunks).toString('latin1') };
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', () => { state.ended = true; });
    socket.on('error', () => { state.ended = true; });
    socket.once('connect', () => resolve(state));
    socket.once('error', reject);
  });
}

// Sends one raw HTTP/1.1 request (target exactly as given) and resolves with
// {status, headers, body} once the server closes (Connection: close).
export async function rawHttp(port, method, target, { headers = {}, body = '' } = {}) {
  const conn = await rawConnect(port);
  let req = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`;
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'connection')) req += 'Connection: close\r\n';
  for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
  if (body) req += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  req += `\r\n${body}`;
  conn.socket.write(req);
  await waitFor(() => conn.ended, 5000, 'the HTTP response');
  const text = conn.data();
  const split = text.indexOf('\r\n\r\n');
  const head = text.slice(0, split).split('\r\n');
  const status = Number(head[0].split(' ')[1]);
  const hs = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    hs[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers: hs, body: text.slice(split + 4) };
}

export async function waitFor(pred, timeoutMs = 5000, what = 'a condition') {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The value of a metric line in GET /metrics (0 when absent).
export async function metric(server, line) {
  const res = await fetch(`${server.http}/metrics`);  // needs no session
  const text = await res.text();
  for (const l of text.split('\n')) {
    if (l.startsWith(line + ' ')) return Number(l.slice(line.length + 1));
  }
  return 0;
}

// Submits an op and waits for its ack; returns the ack.
export async function submitAndAck(c, { doc = 1, rev, seq, op }) {
  c.send({ type: 'submit', doc, rev, client: c.id, seq, op });
  return c.next((m) => (m.type === 'ack' || m.type === 'error') && m.seq === seq, 10000, `ack of seq ${seq}`);
}
