// The role × action matrix of protocol/PROTOCOL.md ("Documents, members and roles") end to end,
// over real sockets: every action (read over HTTP and the WebSocket; edit text; add, move,
// remove and restore a section; lock; unlock; approve; set a member's role, remove a member,
// invite) by every kind of caller (viewer, reviewer, editor, leader of the document, a logged-in
// non-member, and an anonymous caller). Each allowed one succeeds; each forbidden one is refused
// with its code and leaves the stored document (revision and snapshot), its members and its
// history exactly as they were.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, login, rawHttp, startServer, submitAndAck } from './server_harness.mjs';

const PASSWORD = 'a password for the matrix test';
const json = { 'Content-Type': 'application/json' };
const MEMBERS = ['viewer', 'reviewer', 'editor', 'leader'];
const CALLERS = [...MEMBERS, 'outsider', 'anonymous'];

let server;
let docId;
const ids = {}; // caller key -> user id
let target; // a user whose membership the manage-members actions change
let fresh = 0; // for fresh section ids and positions
let connections = 0; // for client ids

before(async () => {
  server = await startServer();
  const inst = async (name, country) => (await (await server.fetch('/api/institutions', {
    as: 'admin', method: 'POST', headers: json, body: JSON.stringify({ name, country }),
  })).json()).id;
  const user = async (key, institution) => {
    const r = await server.fetch('/api/users', {
      as: 'admin', method: 'POST', headers: json,
      body: JSON.stringify({ email: `${key}@matrix.test`, name: `The ${key}`, password: PASSWORD, institution }),
    });
    assert.equal(r.status, 201, await r.clone().text());
    return r.json();
  };
  const viewerUni = await inst('Matrix Viewer University', 'PT');
  const outsiderUni = await inst('Outside Institute', 'SE');
  for (const [key, institution] of [['viewer', viewerUni], ['outsider', outsiderUni]]) {
    await user(key, institution);
    server.users[key] = await login(server.http, `${key}@matrix.test`, PASSWORD);
  }
  target = (await user('target', viewerUni)).id;
  for (const key of CALLERS) if (server.users[key]) ids[key] = server.users[key].user.id;

  const created = await (await server.fetch('/api/documents', {
    method: 'POST', headers: json, body: JSON.stringify({ title: 'Role matrix' }),
  })).json();
  docId = created.id;
  for (const key of ['viewer', 'reviewer', 'editor']) {
    const r = await server.fetch(`/api/documents/${docId}/members/${ids[key]}`, {
      method: 'PUT', headers: json, body: JSON.stringify({ role: key }),
    });
    assert.equal(r.status, 200);
  }
  await setMember(target, 'viewer');
});

after(async () => {
  assert.equal((await server.stop()).code, 0);
  server.cleanup();
});

async function setMember(user, role) {
  const r = await server.fetch(`/api/documents/${docId}/members/${user}`, {
    method: 'PUT', headers: json, body: JSON.stringify({ role }),
  });
  assert.equal(r.status, 200);
}

// Everything a refusal must leave as it was: the document at its last revision, its members
// and team, and its history.
async function stored() {
  const get = async (p) => (await server.fetch(p)).json();
  const doc = await get(`/api/documents/${docId}`);
  return {
    rev: doc.rev,
    snapshot: doc.snapshot,
    members: await get(`/api/documents/${docId}/members`),
    history: await get(`/api/documents/${docId}/history?group=0`),
  };
}

// A WebSocket as `key` with the document open: {c, snapshot}, or {error} (the open refused).
async function openAs(key) {
  const c = await Client.connect(server.ws, { headers: server.headersAs(key) });
  c.id = `m-${key}-${++connections}`;
  c.send({ type: 'hello', client: c.id });
  await c.nextType('welcome');
  c.send({ type: 'open', doc: docId });
  const m = await c.next((x) => x.type === 'snapshot' || x.type === 'error');
  return m.type === 'snapshot' ? { c, snapshot: m } : { c, error: m };
}

// The leader submits op (made on the head) and expects an ack.
async function leaderDoes(op) {
  const { c, snapshot } = await openAs('leader');
  const ack = await submitAndAck(c, { doc: docId, rev: snapshot.rev, seq: 1, op });
  c.close();
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
}

const sectionOf = (snap, id) => snap.sections.find((s) => s.id === id);

// The section every document operation works on ("m"): made once, live, and unlocked or
// locked as the case needs (its approvals cleared).
async function prepareMain({ locked }) {
  const doc = await (await server.fetch(`/api/documents/${docId}`)).json();
  const m = sectionOf(doc.snapshot, 'm');
  if (!m) await leaderDoes([{ add: 'm', pos: 'a', title: 'Learning outcomes', body: 'Students can' }]);
  else if (m.locked) await leaderDoes([{ unlock: 'm' }]);
  if (locked) await leaderDoes([{ lock: 'm' }]);
}

// The document operations: [name, action (the contract's table), prepare(), op(snapshot)].
const OPS = [
  ['edit text', 'edit', () => prepareMain({ locked: false }), () => [{ edit: 'm', f: 'body', op: [12, ' argue'] }]],
  ['add a section', 'edit', () => prepareMain({ locked: false }), () => {
    const id = `n${++fresh}`;
    return [{ add: id, pos: `b${fresh}1`, title: 'New', body: '' }];
  }],
  ['move a section', 'edit', () => prepareMain({ locked: false }), () => [{ move: 'm', pos: `c${++fresh}1` }]],
  ['remove a section', 'edit', async () => {
    await leaderDoes([{ add: `r${++fresh}`, pos: `d${fresh}1`, title: 'To remove', body: 'x' }]);
  }, () => [{ remove: `r${fresh}` }]],
  ['restore a section', 'edit', async () => {
    const id = `t${++fresh}`;
    await leaderDoes([{ add: id, pos: `e${fresh}1`, title: 'Removed', body: 'y' }]);
    await leaderDoes([{ remove: id }]);
  }, () => [{ restore: `t${fresh}`, title: 'Back', body: 'again' }]],
  ['lock', 'lock', () => prepareMain({ locked: false }), () => [{ lock: 'm' }]],
  ['unlock', 'lock', () => prepareMain({ locked: true }), () => [{ unlock: 'm' }]],
  ['approve', 'approve', () => prepareMain({ locked: true }), (snap, hash) => [{
    approve: 'm', inst: 'whatever', user: 'whoever', time: 1, hash,
  }]],
];

// Who may do what (the contract's table).
const MAY = {
  read: ['viewer', 'reviewer', 'editor', 'leader'],
  edit: ['editor', 'leader'],
  approve: ['reviewer', 'editor', 'leader'],
  lock: ['leader'],
  manage: ['leader'],
};

// The section hash of the contract, for approvals.
async function hashOf(section) {
  const { createHash } = await import('node:crypto');
  const all = { ...(section.fields || {}), title: section.title, body: section.body };
  const names = Object.keys(all).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const h = createHash('sha256');
  for (const n of names) h.update(`${n}\n${Buffer.byteLength(all[n])}\n`).update(all[n]);
  return `sha256:${h.digest('hex')}`;
}

describe('document operations over the WebSocket', () => {
  for (const [name, action, prepare, makeOp] of OPS) {
    for (const caller of CALLERS) {
      const allowed = MAY[action].includes(caller);
      it(`${name} by ${caller === 'anonymous' ? 'an anonymous caller' : `a ${caller}`}: ${allowed ? 'done' : 'refused, nothing changed'}`, async () => {
        await prepare();
        const before = await stored();
        if (caller === 'anonymous') {
          // No session: no WebSocket at all.
          const r = await rawHttp(server.port, 'GET', `/ws?doc=${docId}`, {
            headers: {
              Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13',
              'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', Origin: server.http,
            },
          });
          assert.equal(r.status, 401);
          assert.equal(JSON.parse(r.body).error.code, 'unauthenticated');
          assert.deepEqual(await stored(), before);
          return;
        }
        const { c, snapshot, error } = await openAs(caller);
        try {
          if (caller === 'outsider') {
            assert.equal(error.code, 'forbidden');
            // Submitting anyway: the document is not open on this connection.
            const refused = await submitAndAck(c, { doc: docId, rev: before.rev, seq: 1, op: makeOp(before.snapshot, 'sha256:00') });
            assert.equal(refused.code, 'not_open');
            assert.deepEqual(await stored(), before);
            return;
          }
          assert.equal(snapshot.role, caller);
          const op = makeOp(snapshot.snapshot, await hashOf(sectionOf(snapshot.snapshot, 'm')));
          const answer = await submitAndAck(c, { doc: docId, rev: snapshot.rev, seq: 1, op });
          if (allowed) {
            assert.equal(answer.type, 'ack', JSON.stringify(answer));
            assert.equal((await stored()).rev, before.rev + 1);
          } else {
            assert.equal(answer.type, 'error');
            assert.equal(answer.code, 'forbidden', JSON.stringify(answer));
            assert.deepEqual(await stored(), before);
          }
        } finally {
          c.close();
        }
      });
    }
  }
});

describe('reading', () => {
  for (const caller of CALLERS) {
    const allowed = MAY.read.includes(caller);
    it(`by ${caller === 'anonymous' ? 'an anonymous caller' : `a ${caller}`}: ${allowed ? 'allowed' : 'refused'}`, async () => {
      const before = await stored();
      for (const p of [`/api/documents/${docId}`, `/api/documents/${docId}/members`, `/api/documents/${docId}/history`]) {
        const r = caller === 'anonymous'
          ? await fetch(`${server.http}${p}`)
          : await server.fetch(p, { as: caller });
        const want = allowed ? 200 : caller === 'anonymous' ? 401 : 403;
        assert.equal(r.status, want, `${p} as ${caller}`);
        const body = await r.json();
        if (allowed && p === `/api/documents/${docId}`) {
          assert.equal(body.role, caller);
          assert.deepEqual(body.snapshot, before.snapshot);
        }
        if (!allowed) assert.equal(body.error.code, caller === 'anonymous' ? 'unauthenticated' : 'forbidden');
      }
      const listed = caller === 'anonymous' ? null : await (await server.fetch('/api/documents', { as: caller })).json();
      if (listed) assert.equal(listed.documents.some((d) => d.id === docId), allowed);
      if (caller !== 'anonymous') {
        const { c, snapshot, error } = await openAs(caller);
        if (allowed) assert.deepEqual(snapshot.snapshot, before.snapshot);
        else assert.equal(error.code, 'forbidden');
        c.close();
      }
      assert.deepEqual(await stored(), before);
    });
  }
});

describe('managing members', () => {
  // [name, request(as), what success looks like, restore()]
  const ACTIONS = [
    ['set a role', (as) => call(as, 'PUT', `/api/documents/${docId}/members/${target}`, { role: 'editor' }), 200,
      () => setMember(target, 'viewer')],
    ['remove a member', (as) => call(as, 'DELETE', `/api/documents/${docId}/members/${target}`), 204,
      () => setMember(target, 'viewer')],
    ['invite', (as) => call(as, 'POST', `/api/documents/${docId}/invites`, { role: 'editor' }), 201, async () => {}],
  ];
  function call(as, method, p, body) {
    const headers = { Origin: server.http, ...(body ? json : {}) };
    if (as !== 'anonymous') headers.Cookie = server.users[as].cookie;
    return fetch(`${server.http}${p}`, { method, headers, body: body && JSON.stringify(body) });
  }
  for (const [name, request, ok, restore] of ACTIONS) {
    for (const caller of CALLERS) {
      const allowed = MAY.manage.includes(caller);
      it(`${name} by ${caller === 'anonymous' ? 'an anonymous caller' : `a ${caller}`}: ${allowed ? 'done' : 'refused, nothing changed'}`, async () => {
        const before = await stored();
        const r = await request(caller);
        if (allowed) {
          assert.equal(r.status, ok);
          if (ok === 201) assert.match((await r.json()).token, /^[A-Za-z0-9_-]{20,}$/);
          await restore();
          return;
        }
        assert.equal(r.status, caller === 'anonymous' ? 401 : 403);
        assert.equal((await r.json()).error.code, caller === 'anonymous' ? 'unauthenticated' : 'forbidden');
        assert.deepEqual(await stored(), before);
      });
    }
  }
});
