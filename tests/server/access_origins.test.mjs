// The Origin rule over real sockets on a server run with --allowed-origin (the deployment
// case: a site behind its own name): exactly the listed origin passes, in any case, for a login,
// a change and the WebSocket upgrade; every near miss (missing, null, another scheme, port or
// host, suffix and prefix tricks, user info, a path, the server's own address) is 403
// origin_not_allowed with nothing done. Also a login that carries a planted session cookie
// gets a fresh token and the planted one stays worthless (session fixation).
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import {
  createUser, kAdminEmail, kAdminPassword, rawConnect, rawHttp, serverBin, tempDir, waitFor,
} from './server_harness.mjs';

const SITE = 'https://jointly.example.edu';
// The harness's startServer logs in from the server's own origin, which this server refuses:
// it is started here.
let server;
before(async () => {
  const dir = tempDir();
  const data = path.join(dir, 'data');
  createUser(data, { email: kAdminEmail, name: 'Test Admin', institution: 'Test University', admin: true, password: kAdminPassword });
  const proc = spawn(serverBin, ['--listen', '127.0.0.1:0', '--data', data, '--threads', '2', '--durability', 'none',
    '--static', path.join(dir, 'no-static'), '--allowed-origin', SITE], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  const port = await new Promise((resolve, reject) => {
    let buffered = '';
    proc.on('exit', (code) => reject(new Error(`jointly-server exited (${code}): ${buffered}`)));
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
      buffered += chunk;
      const m = /"msg":"listening"[^\n]*"port":(\d+)/.exec(buffered);
      if (m) resolve(Number(m[1]));
    });
  });
  server = { port, http: `http://127.0.0.1:${port}`, proc, exited, dir };
});
after(async () => {
  if (!server) return;
  server.proc.kill('SIGTERM');
  assert.equal(await server.exited, 0);
  rmSync(server.dir, { recursive: true, force: true });
});

const NEAR_MISSES = [
  undefined, 'null', '', 'http://jointly.example.edu', 'https://jointly.example.edu:444',
  'https://jointly.example.edu:443', 'https://jointly.example.edu.evil.com', 'https://evil-jointly.example.edu',
  'https://sub.jointly.example.edu', 'https://evil.com/https://jointly.example.edu',
  'https://jointly.example.edu@evil.com', 'https://jointly.example.edu/', 'wss://jointly.example.edu',
  'https://jointly.example.edu%2eevil.com', 'https://jointly.example.ed',
];

const loginBody = JSON.stringify({ email: kAdminEmail, password: kAdminPassword });
const withOrigin = (origin, headers = {}) => (origin === undefined ? headers : { ...headers, Origin: origin });

function login(origin, headers = {}) {
  return rawHttp(server.port, 'POST', '/api/login', {
    headers: withOrigin(origin, { 'Content-Type': 'application/json', ...headers }), body: loginBody,
  });
}

// A WebSocket upgrade request: {status, body} of the answer's head (and body when refused); a
// 101 leaves the connection open, so it is read up to the end of the head and closed.
async function upgrade(origin, cookie) {
  const conn = await rawConnect(server.port);
  const headers = withOrigin(origin, {
    Host: `127.0.0.1:${server.port}`, Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', Cookie: cookie,
  });
  conn.socket.write(`GET /ws HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  await waitFor(() => conn.data().includes('\r\n\r\n') && (conn.data().startsWith('HTTP/1.1 101') || conn.ended), 5000, 'the upgrade answer');
  conn.socket.destroy();
  const text = conn.data();
  return { status: Number(text.split(' ')[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

const cookieOf = (r) => r.headers['set-cookie'].split(';')[0];

it('lets exactly the allowed origin log in, change and upgrade, in any case', async () => {
  for (const origin of [SITE, SITE.toUpperCase()]) {
    const r = await login(origin);
    assert.equal(r.status, 200, origin);
    const cookie = cookieOf(r);
    const created = await rawHttp(server.port, 'POST', '/api/documents', {
      headers: { 'Content-Type': 'application/json', Origin: origin, Cookie: cookie }, body: '{"title":"Allowed"}',
    });
    assert.equal(created.status, 201, origin);
    assert.equal((await upgrade(origin, cookie)).status, 101, `upgrade from ${origin}`);
  }
});

it('refuses every near miss with 403 origin_not_allowed and does nothing', async () => {
  const cookie = cookieOf(await login(SITE));
  const count = async () => {
    const r = await rawHttp(server.port, 'GET', '/api/documents', { headers: { Cookie: cookie } });
    return JSON.parse(r.body).documents.length;
  };
  const documents = await count();
  for (const origin of [...NEAR_MISSES, server.http]) {
    const what = String(origin);
    const l = await login(origin);
    assert.equal(l.status, 403, `login from ${what}`);
    assert.equal(JSON.parse(l.body).error.code, 'origin_not_allowed');
    assert.equal(l.headers['set-cookie'], undefined);
    const c = await rawHttp(server.port, 'POST', '/api/documents', {
      headers: withOrigin(origin, { 'Content-Type': 'application/json', Cookie: cookie }), body: '{"title":"Refused"}',
    });
    assert.equal(c.status, 403, `change from ${what}`);
    assert.equal(JSON.parse(c.body).error.code, 'origin_not_allowed');
    const u = await upgrade(origin, cookie);
    assert.equal(u.status, 403, `upgrade from ${what}`);
    assert.equal(JSON.parse(u.body).error.code, 'origin_not_allowed');
  }
  assert.equal(await count(), documents);
});

it('gives a login that carries a planted session cookie a fresh token; the planted one stays refused', async () => {
  const planted = `jointly_session=${'Ab3_'.repeat(10)}xyz`;
  const me = (cookie) => rawHttp(server.port, 'GET', '/api/me', { headers: { Cookie: cookie } });
  assert.equal((await me(planted)).status, 401);
  const r = await login(SITE, { Cookie: planted });
  assert.equal(r.status, 200);
  const fresh = cookieOf(r);
  assert.notEqual(fresh, planted);
  assert.equal((await me(fresh)).status, 200);
  assert.equal((await me(planted)).status, 401);
  // A second login of the same user makes another token, not the first one again.
  const again = cookieOf(await login(SITE, { Cookie: fresh }));
  assert.notEqual(again, fresh);
});
