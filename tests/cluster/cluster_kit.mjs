// What the cluster test (tests/cluster/cluster.test.mjs) runs: jointly-server nodes on
// 127.0.0.1 (each with its own data directory and port, the first one the accounts primary, the
// others its replicas, all sharing one cluster secret) and HAProxy in front of them with
// deploy/haproxy/jointly.cfg rendered for those ports (deploy/haproxy/render.mjs). Nodes can be
// stopped (SIGTERM: the graceful stop) and started again on the same data directory and port;
// HAProxy is reloaded with a new node list by starting a new process with `-st` (the old one
// stops and its tunnels close, so every client reconnects through the new one).
//
// Errors: start failures throw with the process's output. Single-threaded (Node): no locking.
//
// Environment: JOINTLY_SERVER_BIN / JOINTLY_ADMIN_BIN as in tests/server/server_harness.mjs;
// JOINTLY_HAPROXY_BIN (default: haproxy on PATH).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { renderConfig, templatePath } from '../../deploy/haproxy/render.mjs';
import { createUser, freePort, kAdminEmail, kAdminPassword, login, serverBin, tempDir } from '../server/server_harness.mjs';

export const haproxyBin = process.env.JOINTLY_HAPROXY_BIN || 'haproxy';
export { freePort, kAdminEmail, kAdminPassword, login };

/// `haproxy -c -f file`: {ok, output}.
export function haproxyCheck(file) {
  const r = spawnSync(haproxyBin, ['-c', '-f', file], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

/// One plain HTTP request (its own connection); resolves with {status, headers, json, text}.
/// expectContinue: send the body only after a 100 Continue, so that a request refused on its
/// headers alone (HAProxy's 413) is answered before any of its body is written, instead of the
/// proxy closing the connection under a body still being written (EPIPE).
export function request(base, pathname, { method = 'GET', headers = {}, body, expectContinue = false } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const h = { Connection: 'close', ...(expectContinue ? { Expect: '100-continue' } : {}), ...headers };
    if (data) {
      h['Content-Length'] = data.length;
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    }
    const req = http.request(`${base}${pathname}`, { method, agent: false, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, json, text });
      });
    });
    req.setTimeout(20000, () => req.destroy(new Error(`${method} ${pathname}: no answer within 20 s`)));
    req.on('error', reject);
    if (expectContinue) {
      req.on('continue', () => req.end(data || undefined));
      req.flushHeaders();
    } else {
      req.end(data || undefined);
    }
  });
}

/// The value of an unlabelled metric in a node's /metrics (NaN when absent).
export async function metricOf(node, name) {
  const r = await request(node.base, '/metrics');
  for (const l of r.text.split('\n')) {
    if (l.startsWith(`${name} `)) return Number(l.slice(name.length + 1));
  }
  return NaN;
}

/// One jointly-server node of the cluster. start() (again after stop()) runs it on the same port
/// and data directory; logs keeps every line it wrote to stderr, across starts.
export class Node {
  constructor({ name, port, dataDir, primary, secretFile, args = [] }) {
    this.name = name;
    this.port = port;
    this.dataDir = dataDir;
    this.primary = primary; // the primary's base URL; null for the primary itself
    this.secretFile = secretFile;
    this.args = args;
    this.peers = [];
    this.proc = null;
    this.exited = null;
    this.logs = [];
  }

  get base() { return `http://127.0.0.1:${this.port}`; }

  async start() {
    const args = ['--listen', `127.0.0.1:${this.port}`, '--data', this.dataDir,
      ...(this.args.includes('--threads') ? [] : ['--threads', '2']),
      '--static', path.join(this.dataDir, 'no-static'), '--node-id', this.name,
      '--cluster-secret-file', this.secretFile, '--trusted-proxy', '127.0.0.1',
      ...(this.args.includes('--log-level') ? [] : ['--log-level', 'warn']),
      ...(this.primary ? ['--accounts-primary', this.primary] : []),
      ...(this.peers.length ? ['--peers', this.peers.join(',')] : []), ...this.args];
    const proc = spawn(serverBin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    let buffered = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        this.logs.push(`${this.name}: ${buffered.slice(0, nl)}`);
        buffered = buffered.slice(nl + 1);
      }
    });
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    // Up when /healthz answers 200 (the listening line is not logged at --log-level warn).
    const deadline = Date.now() + 20000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`node ${this.name} exited before it was up:\n${this.logs.join('\n')}`);
      }
      const r = await request(this.base, '/healthz').catch(() => null);
      if (r && r.status === 200) return;
      if (Date.now() > deadline) throw new Error(`node ${this.name} not up within 20 s:\n${this.logs.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /// Sends sig (SIGTERM: the graceful stop) and resolves with {code, signal, ms} once it exited.
  async stop(sig = 'SIGTERM') {
    const p = this.proc;
    if (!p) return null;
    const t0 = Date.now();
    if (p.exitCode === null && p.signalCode === null) p.kill(sig);
    const r = await this.exited;
    this.proc = null;
    return { ...r, ms: Date.now() - t0 };
  }

  get running() { return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null; }
}

/// A stand-in for a node that answers every request itself, for testing HAProxy's routing
/// alone: 200 {"node":name} to anything, /healthz 200 while `healthy` (503 after), and keeps
/// every request it got in `seen` ({method, url, headers}).
export class StubNode {
  constructor(name, ringId) {
    this.name = name;
    this.ringId = ringId;
    this.healthy = true;
    this.seen = [];
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/healthz') {
          res.writeHead(this.healthy ? 200 : 503, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ status: this.healthy ? 'ok' : 'unhealthy' }));
          return;
        }
        this.seen.push({ method: req.method, url: req.url, headers: req.headers });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ node: this.name }));
      });
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/// HAProxy in front of the nodes, listening on `port` (plain HTTP, foreground).
export class Proxy {
  constructor({ port, dir, checkInter = '250ms' }) {
    this.port = port;
    this.dir = dir;
    this.checkInter = checkInter;
    this.proc = null;
    this.generation = 0;
    this.logs = [];
  }

  get base() { return `http://127.0.0.1:${this.port}`; }
  get origin() { return this.base; }

  /// The config for these nodes ({name, port, ringId}; primary: the name of the accounts
  /// primary), written to a file.
  render(nodes, primary) {
    const text = renderConfig(readFileSync(templatePath, 'utf8'), {
      nodes: nodes.map((n) => ({ name: n.name, address: `127.0.0.1:${n.port}`, id: n.ringId })),
      primary, plain: `127.0.0.1:${this.port}`, checkInter: this.checkInter,
    });
    const file = path.join(this.dir, `haproxy-${++this.generation}.cfg`);
    writeFileSync(file, text);
    return file;
  }

  /// Starts HAProxy with the config for `nodes`, replacing (-st) the running process if any; resolves
  /// once the new process answers and every running node is up in its health checks.
  async start(nodes, primary) {
    const file = this.render(nodes, primary);
    const check = haproxyCheck(file);
    if (!check.ok) throw new Error(`haproxy -c refused ${file}:\n${check.output}`);
    const old = this.proc;
    const args = ['-db', '-f', file, ...(old ? ['-st', String(old.pid)] : [])];
    const proc = spawn(haproxyBin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => this.logs.push(...d.split('\n').filter(Boolean)));
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    if (old) await new Promise((resolve) => (old.exitCode !== null || old.signalCode !== null ? resolve() : old.on('exit', resolve)));
    const deadline = Date.now() + 15000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`haproxy exited (${proc.exitCode}):\n${this.logs.join('\n')}`);
      const r = await request(this.base, '/healthz').catch(() => null);
      if (r && r.status === 200) break;
      if (Date.now() > deadline) throw new Error(`haproxy not up within 15 s:\n${this.logs.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The health checks start with every server up after a start; give one interval for a node
    // that is not running to be marked down (fall 3 at checkInter).
    await new Promise((resolve) => setTimeout(resolve, 4 * parseInterval(this.checkInter)));
  }

  async stop() {
    if (!this.proc) return;
    const p = this.proc;
    this.proc = null;
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await this.exited;
  }
}

function parseInterval(s) {
  const m = /^([0-9]+)(ms|s)$/.exec(s);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

/// A cluster of `count` nodes (node1 the accounts primary, with the test admin bootstrapped) and
/// HAProxy in front; addNode() makes one more (not started). cleanup() stops everything and
/// removes the directories.
export class Cluster {
  constructor(root, secretFile) {
    this.root = root;
    this.secretFile = secretFile;
    this.nodes = [];
    this.proxy = null;
  }

  static async create(count, { nodeArgs = [] } = {}) {
    const root = tempDir('jointly-cluster-');
    const secretFile = path.join(root, 'cluster-secret');
    writeFileSync(secretFile, `${Array.from({ length: 4 }, () => Math.random().toString(36).slice(2)).join('')}\n`, { mode: 0o600 });
    const c = new Cluster(root, secretFile);
    c.nodeArgs = nodeArgs;
    for (let i = 0; i < count; i++) await c.addNode();
    createUser(c.nodes[0].dataDir, { email: kAdminEmail, name: 'Test Admin', institution: 'Test University',
      country: 'AT', admin: true, password: kAdminPassword });
    c.proxy = new Proxy({ port: await freePort(), dir: root });
    return c;
  }

  get primary() { return this.nodes[0]; }

  /// A new node (named node<N>, ring id N), not started; every node's peer list is updated
  /// (a running node learns it when next started).
  async addNode() {
    const n = this.nodes.length + 1;
    const dataDir = path.join(this.root, `node${n}`, 'data');
    mkdirSync(dataDir, { recursive: true });
    const node = new Node({ name: `node${n}`, port: await freePort(), dataDir,
      primary: n === 1 ? null : `http://127.0.0.1:${this.nodes[0].port}`, secretFile: this.secretFile,
      args: this.nodeArgs });
    node.ringId = n;
    this.nodes.push(node);
    for (const x of this.nodes) x.peers = this.nodes.filter((y) => y !== x).map((y) => y.base);
    return node;
  }

  node(name) { return this.nodes.find((n) => n.name === name); }

  logs() { return [...this.nodes.flatMap((n) => n.logs), ...(this.proxy ? this.proxy.logs.map((l) => `haproxy: ${l}`) : [])]; }

  async cleanup() {
    if (this.proxy) await this.proxy.stop();
    await Promise.all(this.nodes.map((n) => n.stop('SIGKILL')));
    rmSync(this.root, { recursive: true, force: true });
  }
}
