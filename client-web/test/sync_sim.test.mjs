// Simulation of the sync core (src/sync.js) against an in-process model of the server
// (testkit/sim_server.mjs) over many seeds: two to four clients make random text and structural
// edits (insert, delete, add, remove, restore, move, lock, unlock, approve) while the network
// delays every message at random (each connection in order, but different clients hear of a
// revision at different times), connections drop at random (submissions in the air reach the
// server or not; answers in the air are lost) and come back with `open` at the last revision and
// the in-flight op resubmitted unchanged. At the end: every replica equals the server's document
// and a reload of it, nothing is pending, and every typed token is saved exactly once or
// reported (testkit/workload.mjs).
//
//   node --test client-web/test/        SIM_SEEDS=N to change the number of seeds (default 1000)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Doc } from '../src/doc_op.js';
import { Sync } from '../src/sync.js';
import { SimServer } from '../testkit/sim_server.mjs';
import { Editor, audit, initialSnapshot, makeRandom } from '../testkit/workload.mjs';

const SEEDS = Number(process.env.SIM_SEEDS || 1000);
const STATS = new Map(); // how often the interesting paths ran

// A discrete-event network: events run in time order; each direction of each connection
// delivers in order.
class Network {
  constructor(rnd) {
    this.rnd = rnd;
    this.now = 0;
    this.events = [];
    this.counter = 0;
  }

  at(time, fn) {
    const e = { time, n: this.counter++, fn };
    let i = this.events.length;
    while (i > 0 && (this.events[i - 1].time > time || (this.events[i - 1].time === time && this.events[i - 1].n > e.n))) i--;
    this.events.splice(i, 0, e);
  }

  run(until = Infinity) {
    while (this.events.length && this.events[0].time <= until) {
      const e = this.events.shift();
      this.now = e.time;
      e.fn();
    }
    if (until !== Infinity) this.now = Math.max(this.now, until);
  }
}

// One WebSocket connection between a client and the server.
class Connection {
  constructor(net, server, client, maxDelay) {
    this.net = net;
    this.server = server;
    this.client = client;
    this.maxDelay = maxDelay;
    this.alive = true;
    this.lastUp = 0;
    this.lastDown = 0;
    this.inAir = []; // client -> server messages not yet delivered: {lost}
    // The server's handle on this connection.
    this.serverSide = { send: (m) => this.down(m) };
  }

  delay() {
    return this.net.rnd.chance(0.2) ? this.net.rnd.int(0, this.maxDelay * 5) : this.net.rnd.int(0, this.maxDelay);
  }

  // client -> server
  up(message) {
    if (!this.alive) return;
    const m = { message: JSON.parse(JSON.stringify(message)), lost: false };
    this.inAir.push(m);
    this.lastUp = Math.max(this.lastUp, this.net.now + this.delay());
    this.net.at(this.lastUp, () => {
      this.inAir.splice(this.inAir.indexOf(m), 1);
      if (m.lost) return;
      const msg = m.message;
      if (msg.type === 'open') this.server.open(this.serverSide, msg.rev);
      else if (msg.type === 'submit') this.server.submit(this.serverSide, msg);
    });
  }

  // server -> client
  down(message) {
    if (!this.alive) return;
    const m = JSON.parse(JSON.stringify(message));
    this.lastDown = Math.max(this.lastDown, this.net.now + this.delay());
    this.net.at(this.lastDown, () => {
      if (this.alive) this.client.deliver(m);
    });
  }

  // The connection breaks: the server forgets it; of the client's messages in the air, each
  // reaches the server or not; nothing more reaches the client.
  drop() {
    this.alive = false;
    this.server.close(this.serverSide);
    for (const m of this.inAir) m.lost = this.net.rnd.chance(0.5);
  }
}

class SimClient {
  constructor(name, net, server, snapshot, rnd, maxDelay) {
    this.name = name;
    this.net = net;
    this.server = server;
    this.maxDelay = maxDelay;
    this.editor = new Editor(name, rnd);
    this.conn = null;
    this.desyncs = [];
    this.sync = this.makeSync(snapshot);
  }

  makeSync(snapshot) {
    return new Sync({
      doc: 1,
      client: `c-${this.name}`,
      snapshot,
      rev: 0,
      send: (m) => this.conn && this.conn.up(m),
      onRejected: (r) => {
        STATS.set(`reports (${r.code})`, (STATS.get(`reports (${r.code})`) || 0) + 1);
        this.editor.onRejected(r);
      },
      onChange: (c) => { if (c.origin === 'rebuild') STATS.set('rebuilds', (STATS.get('rebuilds') || 0) + 1); },
      onDesync: (e) => this.desyncs.push(e.message),
      paranoid: true,
    });
  }

  // The page reloads while offline: a new Sync from the state the old one saved (through JSON,
  // as IndexedDB would keep it).
  reload() {
    const state = JSON.parse(JSON.stringify(this.sync.saveState()));
    this.sync = this.makeSync(undefined);
    this.sync.restoreState(state);
    STATS.set('page reloads', (STATS.get('page reloads') || 0) + 1);
  }

  connect() {
    this.conn = new Connection(this.net, this.server, this, this.maxDelay);
    this.conn.up({ type: 'open', doc: 1, rev: this.sync.rev });
  }

  drop() {
    if (!this.conn) return;
    this.conn.drop();
    this.conn = null;
    this.sync.disconnected();
  }

  deliver(m) {
    const key = m.type === 'ack' && m.duplicate ? 'duplicate acks' : m.type === 'error' ? `refusals (${m.code})`
      : m.type === 'snapshot' && m.rev > 0 ? 'snapshots after a reconnect' : null;
    if (key) STATS.set(key, (STATS.get(key) || 0) + 1);
    if (m.type === 'ops') {
      const own = m.ops.filter((o) => o.client === this.sync.client).length;
      if (own) STATS.set('own ops found after a reconnect', (STATS.get('own ops found after a reconnect') || 0) + own);
    }
    this.sync.handle(m);
  }
}

function simulate(seed) {
  const rnd = makeRandom(seed);
  const net = new Network(rnd);
  const snapshot = initialSnapshot(rnd);
  // Now and then the server keeps a short window of revisions, so that a client that was away
  // gets a snapshot and its old in-flight op is either already in or refused as too old.
  const server = new SimServer(snapshot, 1, rnd.chance(0.2) ? rnd.int(1, 6) : Infinity);
  const maxDelay = rnd.int(1, 30);
  const clients = [];
  const n = rnd.int(2, 4);
  for (let i = 0; i < n; i++) clients.push(new SimClient(`c${i}`, net, server, snapshot, rnd, maxDelay));
  for (const c of clients) c.connect();
  const dropRate = rnd.pick([0, 0.02, 0.05, 0.1]);
  const steps = rnd.int(20, 60);
  let t = 0;
  for (let i = 0; i < steps; i++) {
    t += rnd.int(0, 15);
    net.run(t);
    const c = rnd.pick(clients);
    if (c.conn && rnd.chance(dropRate)) {
      c.drop();
      const back = net.now + rnd.int(0, 80);
      if (rnd.chance(0.3)) c.reload();
      net.at(back, () => { if (!c.conn) c.connect(); });
    }
    c.editor.step(c.sync);
    if (c.sync.suspended.size) STATS.set('edits while suspended', (STATS.get('edits while suspended') || 0) + 1);
  }
  // Everyone back online, and quiet.
  for (let round = 0; round < 10; round++) {
    for (const c of clients) if (!c.conn) c.connect();
    net.run();
  }
  return { server, clients };
}

describe('the sync core against a simulated server', () => {
  it(`converges on ${SEEDS} seeds, with every typed token saved once or reported`, () => {
    const failures = [];
    let revisions = 0;
    let reported = 0;
    let typed = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { server, clients } = simulate(seed);
      revisions += server.head;
      const expected = canonical(server.doc.toJSON());
      const problems = [];
      assert.equal(canonical(Doc.fromJSON(JSON.parse(JSON.stringify(server.doc.toJSON()))).toJSON()), expected);
      for (const c of clients) {
        typed += c.editor.typed.size;
        reported += c.editor.reported.size;
        if (c.desyncs.length) problems.push(`${c.name} lost sync: ${c.desyncs[0]}`);
        if (c.sync.pending !== 0 || c.sync.waiting) problems.push(`${c.name} still has ${c.sync.pending} pending edits`);
        if (c.sync.rev !== server.head) problems.push(`${c.name} is at revision ${c.sync.rev}, the server at ${server.head}`);
        if (canonical(c.sync.doc.toJSON()) !== expected) problems.push(`${c.name}'s document differs from the server's:\n    ${canonical(c.sync.doc.toJSON())}\n    ${expected}`);
        if (canonical(c.sync.confirmed.toJSON()) !== expected) problems.push(`${c.name}'s confirmed document differs`);
      }
      problems.push(...audit(server.doc, server.log, clients.map((c) => c.editor)));
      if (problems.length) failures.push(`seed ${seed}:\n  ${problems.slice(0, 5).join('\n  ')}`);
    }
    console.log(`sync simulation: ${SEEDS} seeds, ${revisions} revisions, ${typed} tokens typed, ${reported} reported as not saved, ${failures.length} failed`);
    console.log(`paths taken: ${[...STATS.entries()].sort().map(([k, n]) => `${k} ${n}`).join(', ')}`);
    assert.deepEqual(failures.slice(0, 5), []);
  });
});

function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
