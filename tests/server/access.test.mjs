// Accounts and access over real sockets: login, me and logout; 401 without a session and 403
// for a foreign or missing Origin on HTTP and the WebSocket upgrade; logout closing the
// session's WebSocket with 1008 within a second, and so does a session's expiry (every socket
// of that session, none of another); member-only documents and the members
// endpoints; one-time invites; a role change taking effect at the next message; and no token,
// cookie, password or hash in the server's log.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import {
  Client, joinDocument, kAdminPassword, login, rawHttp, startServer, submitAndAck,
} from './server_harness.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => {
  const r = await server.stop();
  assert.equal(r.code, 0);
  server.cleanup();
});

const json = { 'Content-Type': 'application/json' };

function upgrade(headers) {
  return rawHttp(server.port, 'GET', '/ws', {
    headers: {
      Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers,
    },
  });
}

it('logs in, answers me, and logs out with the cookie cleared', async () => {
  const { cookie, user, setCookie } = await login(server.http, 'editor@demo.jointly.test',
    server.users.editor.password);
  assert.match(setCookie, /^jointly_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=604800$/);
  assert.equal(user.email, 'editor@demo.jointly.test');
  assert.equal(user.institution.country, 'CZ');
  const me = await fetch(`${server.http}/api/me`, { headers: { Cookie: cookie } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).user.id, user.id);
  const out = await fetch(`${server.http}/api/logout`, { method: 'POST', headers: { Cookie: cookie, Origin: server.http } });
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie'), /Max-Age=0/);
  assert.equal((await fetch(`${server.http}/api/me`, { headers: { Cookie: cookie } })).status, 401);
  const wrong = await fetch(`${server.http}/api/login`, {
    method: 'POST', headers: { ...json, Origin: server.http },
    body: JSON.stringify({ email: 'editor@demo.jointly.test', password: 'not the password' }),
  });
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error.code, 'invalid_credentials');
});

it('refuses HTTP without a session and changes from a foreign or missing Origin', async () => {
  for (const p of ['/api/me', '/api/documents', '/api/documents/1', '/api/users']) {
    const r = await fetch(`${server.http}${p}`);
    assert.equal(r.status, 401, p);
    assert.equal((await r.json()).error.code, 'unauthenticated');
  }
  for (const origin of [undefined, 'null', 'http://evil.example', `ftp://127.0.0.1:${server.port}`,
    `http://127.0.0.1:${server.port + 1}`, `http://127.0.0.1:${server.port}.evil.com`]) {
    const headers = { ...json, Cookie: server.headers.Cookie, ...(origin ? { Origin: origin } : {}) };
    const r = await rawHttp(server.port, 'POST', '/api/documents', { headers, body: '{"title":"x"}' });
    assert.equal(r.status, 403, String(origin));
    assert.equal(JSON.parse(r.body).error.code, 'origin_not_allowed');
  }
});

it('refuses the WebSocket upgrade without a session (401) or with a bad Origin (403)', async () => {
  const none = await upgrade({ Origin: server.http });
  assert.equal(none.status, 401);
  assert.equal(JSON.parse(none.body).error.code, 'unauthenticated');
  const forged = await upgrade({ Origin: server.http, Cookie: `jointly_session=${'A'.repeat(43)}` });
  assert.equal(forged.status, 401);
  for (const origin of [undefined, 'null', 'http://evil.example', `http://evil.com/127.0.0.1:${server.port}`]) {
    const r = await upgrade({ Cookie: server.headers.Cookie, ...(origin ? { Origin: origin } : {}) });
    assert.equal(r.status, 403, String(origin));
    assert.equal(JSON.parse(r.body).error.code, 'origin_not_allowed');
  }
});

it('closes the session\'s WebSocket with 1008 within a second of logout', async () => {
  const s = await login(server.http, 'reviewer@demo.jointly.test', server.users.reviewer.password);
  const c = await Client.connect(server.ws, { headers: { Cookie: s.cookie, Origin: server.http } });
  c.send({ type: 'hello', client: 'to-log-out' });
  const welcome = await c.nextType('welcome');
  assert.equal(welcome.user.email, 'reviewer@demo.jointly.test');
  const t0 = Date.now();
  const out = await fetch(`${server.http}/api/logout`, { method: 'POST', headers: { Cookie: s.cookie, Origin: server.http } });
  assert.equal(out.status, 204);
  const closed = await c.waitClose(2000);
  assert.equal(closed.code, 1008);
  assert.equal(closed.reason, 'session_ended');
  assert.ok(Date.now() - t0 < 1000, `closed after ${Date.now() - t0} ms`);
});

it('closes every WebSocket of a session with 1008 within a second of its expiry, and no other', { timeout: 30000 }, async () => {
  // A server whose sessions last 0.001 h = 3.6 s, which the server rounds to 4 s.
  const ttlMs = 4000;
  const short = await startServer({ args: ['--session-ttl-hours=0.001'] });
  try {
    const loggedIn = Date.now();
    const s = await login(short.http, 'reviewer@demo.jointly.test', short.users.reviewer.password);
    const headers = { Cookie: s.cookie, Origin: short.http };
    const tabs = [await Client.connect(short.ws, { headers }), await Client.connect(short.ws, { headers })];
    tabs.forEach((c, i) => c.send({ type: 'hello', client: `expiring-${i}` }));
    for (const c of tabs) await c.nextType('welcome');
    // Another session of the same user, made 2 s later, outlives the first by 2 s.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const later = await login(short.http, 'reviewer@demo.jointly.test', short.users.reviewer.password);
    const other = await Client.connect(short.ws, { headers: { Cookie: later.cookie, Origin: short.http } });
    other.send({ type: 'hello', client: 'later' });
    await other.nextType('welcome');
    const closes = await Promise.all(tabs.map(async (c) => ({ ...(await c.waitClose(ttlMs + 3000)), at: Date.now() - loggedIn })));
    for (const closed of closes) {
      assert.equal(closed.code, 1008);
      assert.equal(closed.reason, 'session_ended');
      // Not before the expiry; within a second after it (the login took a moment: + 500 ms).
      assert.ok(closed.at >= ttlMs - 50, `closed ${closed.at} ms after login, before the expiry`);
      assert.ok(closed.at <= ttlMs + 1500, `closed ${closed.at} ms after login`);
    }
    // The other session's socket is still open and answering; the expired cookie is refused.
    other.send({ type: 'open', doc: 1 });
    assert.equal((await other.next((m) => m.type === 'snapshot' || m.type === 'error')).type, 'snapshot');
    const me = await fetch(`${short.http}/api/me`, { headers });
    assert.equal(me.status, 401);
    other.close();
  } finally {
    await short.stop();
    short.cleanup();
  }
});

it('lists only the documents of members and refuses non-members over HTTP and WebSocket', async () => {
  const created = await server.fetch('/api/documents', { method: 'POST', headers: json, body: JSON.stringify({ title: 'Private' }) });
  assert.equal(created.status, 201);
  const doc = await created.json();
  assert.equal(doc.role, 'leader');
  const editorDocs = await (await server.fetch('/api/documents', { as: 'editor' })).json();
  assert.ok(!editorDocs.documents.some((d) => d.id === doc.id));
  assert.deepEqual(editorDocs.documents.map((d) => [d.id, d.role]), [[1, 'editor']]);
  for (const id of [doc.id, 999]) {
    const r = await server.fetch(`/api/documents/${id}`, { as: 'editor' });
    assert.equal(r.status, 403);
  }
  const c = await Client.connect(server.ws, { headers: server.headersAs('editor') });
  c.send({ type: 'hello', client: 'outsider' });
  await c.nextType('welcome');
  for (const id of [doc.id, 999]) {
    c.send({ type: 'open', doc: id });
    const e = await c.nextType('error');
    assert.equal(e.code, 'forbidden');
  }
  c.close();
});

it('manages members, and a role change takes effect at the next message', async () => {
  const created = await (await server.fetch('/api/documents', { method: 'POST', headers: json, body: JSON.stringify({ title: 'Team' }) })).json();
  const editorId = server.users.editor.user.id;
  const put = await server.fetch(`/api/documents/${created.id}/members/${editorId}`, {
    method: 'PUT', headers: json, body: JSON.stringify({ role: 'editor' }),
  });
  assert.equal(put.status, 200);
  const members = await (await server.fetch(`/api/documents/${created.id}/members`, { as: 'editor' })).json();
  assert.equal(members.members.length, 2);
  assert.equal(members.team.length, 2);
  // The editor edits, is made a viewer, and the next edit is forbidden on the same connection.
  const { c, snapshot } = await joinDocument(server, { doc: created.id, as: 'editor' });
  assert.equal(snapshot.role, 'editor');
  const section = snapshot.snapshot.sections[0].id;
  const ack = await submitAndAck(c, { doc: created.id, rev: snapshot.rev, seq: 1, op: [{ edit: section, f: 'body', op: ['x'] }] });
  assert.equal(ack.type, 'ack');
  await server.fetch(`/api/documents/${created.id}/members/${editorId}`, {
    method: 'PUT', headers: json, body: JSON.stringify({ role: 'viewer' }),
  });
  const refused = await submitAndAck(c, { doc: created.id, rev: ack.rev, seq: 2, op: [{ edit: section, f: 'body', op: ['y'] }] });
  assert.equal(refused.code, 'forbidden');
  // Removed: forbidden at the next message, and the document is no longer open.
  const del = await server.fetch(`/api/documents/${created.id}/members/${editorId}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  c.send({ type: 'presence', doc: created.id, section: null });
  const e = await c.nextType('error');
  assert.equal(e.code, 'forbidden');
  c.send({ type: 'presence', doc: created.id, section: null });
  assert.equal((await c.nextType('error')).code, 'not_open');
  const last = await server.fetch(`/api/documents/${created.id}/members/${server.users.leader.user.id}`, { method: 'DELETE' });
  assert.equal(last.status, 409);
  assert.equal((await last.json()).error.code, 'last_leader');
  c.close();
});

it('invites by a one-time link', async () => {
  const created = await (await server.fetch('/api/documents', { method: 'POST', headers: json, body: JSON.stringify({ title: 'Invited' }) })).json();
  const inv = await server.fetch(`/api/documents/${created.id}/invites`, { method: 'POST', headers: json, body: JSON.stringify({ role: 'reviewer' }) });
  assert.equal(inv.status, 201);
  const { token, url } = await inv.json();
  assert.equal(url, `/#/invite/${token}`);
  const reviewer = await login(server.http, 'reviewer@demo.jointly.test', server.users.reviewer.password);
  const accept = () => fetch(`${server.http}/api/invites/${token}/accept`, { method: 'POST', headers: { Cookie: reviewer.cookie, Origin: server.http } });
  const first = await accept();
  assert.equal(first.status, 200);
  assert.deepEqual(await first.json(), { doc: created.id, role: 'reviewer' });
  const second = await accept();
  assert.equal(second.status, 410);
  assert.equal((await second.json()).error.code, 'invite_used');
});

it('never logs a token, cookie, password or hash', async () => {
  // Log in (well and badly) and out once more, then read everything the server logged.
  const s = await login(server.http, 'leader@demo.jointly.test', server.users.leader.password);
  await fetch(`${server.http}/api/login`, { method: 'POST', headers: { ...json, Origin: server.http }, body: JSON.stringify({ email: 'leader@demo.jointly.test', password: 'a wrong password' }) });
  await fetch(`${server.http}/api/logout`, { method: 'POST', headers: { Cookie: s.cookie, Origin: server.http } });
  const log = server.logs.join('\n');
  assert.ok(server.logs.some((l) => l.includes('"login"')));
  assert.ok(server.logs.some((l) => l.includes('login failed')));
  assert.ok(server.logs.some((l) => l.includes('"logout"')));
  const secrets = [kAdminPassword, server.users.leader.password, 'a wrong password', '$argon2id$'];
  for (const u of Object.values(server.users)) secrets.push(u.cookie.split('=')[1]);
  secrets.push(s.cookie.split('=')[1]);
  for (const secret of secrets) assert.ok(!log.includes(secret), `the log holds a secret (${secret.slice(0, 4)}...)`);
  assert.ok(!/jointly_session=/.test(log));
});
