// Accounts replication between two real jointly-server processes (deploy/README.md
// "Scale-out"): a primary (started by the server harness, with --demo) and a replica that
// follows it (--accounts-primary). A login on the primary is valid on the replica at once
// (read-your-writes); a change reaches it within a second by its own pulls; a logout on the primary closes the
// replica's WebSockets within a second; the replica refuses account changes (421 not_primary);
// /internal/* needs the cluster secret.
//
// Run: node --test tests/cluster/replication.test.mjs (JOINTLY_SERVER_BIN as the harness).
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Client, kAdminEmail, kAdminPassword, login, startServer, tempDir, waitFor } from '../server/server_harness.mjs';
import { freePort, Node, request } from './cluster_kit.mjs';

const kSecret = 'test cluster secret 0123456789abcdef';
let dir;
let secretFile;
let primary;
let replica;

// Starts a replica node of `primaryUrl` on a free port (cluster_kit's Node, logging at info).
async function startReplica(primaryUrl, nodeId) {
  const node = new Node({ name: nodeId, port: await freePort(), dataDir: path.join(dir, `data-${nodeId}`),
    primary: primaryUrl, secretFile, args: ['--log-level', 'info'] });
  await node.start();
  return { node, http: node.base, ws: `${node.base.replace('http', 'ws')}/ws`, stop: () => node.stop() };
}

function get(base, pathname, headers = {}) {
  return fetch(`${base}${pathname}`, { headers: { Origin: base, ...headers } });
}

before(async () => {
  dir = tempDir('jointly-replication-');
  secretFile = path.join(dir, 'secret');
  writeFileSync(secretFile, `${kSecret}\n`, { mode: 0o600 });
  primary = await startServer({ args: ['--node-id', 'primary', '--cluster-secret-file', secretFile] });
  replica = await startReplica(primary.http, 'replica');
});

after(async () => {
  if (replica) await replica.stop();
  if (primary) {
    await primary.stop();
    primary.cleanup();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a login on the primary is valid on the replica at once (catch-up pull)', async () => {
  const { cookie } = await login(primary.http, kAdminEmail, kAdminPassword);
  const res = await get(replica.http, '/api/me', { Cookie: cookie });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).user.email, kAdminEmail);
});

test('a logout on the primary closes the replica\'s WebSockets within a second', async () => {
  const { cookie } = await login(primary.http, kAdminEmail, kAdminPassword);
  const c = await Client.connect(replica.ws, { headers: { Cookie: cookie, Origin: replica.http } });
  const t0 = Date.now();
  const res = await fetch(`${primary.http}/api/logout`,
    { method: 'POST', headers: { Cookie: cookie, Origin: primary.http } });
  assert.equal(res.status, 204);
  const closed = await c.waitClose(3000);
  const ms = Date.now() - t0;
  assert.equal(closed.code, 1008);
  assert.equal(closed.reason, 'session_ended');
  assert.ok(ms < 1000, `closed after ${ms} ms`);
  assert.equal((await get(replica.http, '/api/me', { Cookie: cookie })).status, 401);
});

test('the replica refuses account changes with 421 not_primary', async () => {
  const { cookie } = await login(primary.http, kAdminEmail, kAdminPassword);
  for (const [method, pathname, body] of [
    ['POST', '/api/login', { email: kAdminEmail, password: kAdminPassword }],
    ['POST', '/api/institutions', { name: 'Elsewhere', country: 'DE' }],
    ['POST', '/api/documents', { title: 'x' }],
    ['PUT', '/api/documents/1/members/2', { role: 'editor' }],
    ['POST', '/api/logout', {}],
  ]) {
    // Its own connection each (node 18's fetch failed on a pooled one in a fresh Debian 12).
    const res = await request(replica.http, pathname,
      { method, headers: { Cookie: cookie, Origin: replica.http }, body });
    assert.equal(res.status, 421, `${method} ${pathname}`);
    assert.equal(res.json.error.code, 'not_primary');
  }
  // Reads are local and work.
  assert.equal((await get(replica.http, '/api/institutions', { Cookie: cookie })).status, 200);
});

test('a change on the primary reaches the replica within a second by its own pulls', async () => {
  const { cookie } = await login(primary.http, kAdminEmail, kAdminPassword);
  assert.equal((await get(replica.http, '/api/me', { Cookie: cookie })).status, 200);
  // The session is known on the replica now, so listing institutions pulls nothing itself.
  const t0 = Date.now();
  const created = await fetch(`${primary.http}/api/institutions`, {
    method: 'POST',
    headers: { Cookie: cookie, Origin: primary.http, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Replicated University', country: 'DE' }),
  });
  assert.equal(created.status, 201);
  await waitFor(async () => {
    const list = await (await get(replica.http, '/api/institutions', { Cookie: cookie })).json();
    return list.institutions.some((i) => i.name === 'Replicated University');
  }, 1000, 'the institution on the replica');
  assert.ok(Date.now() - t0 < 1000);
});

test('/internal/* needs the cluster secret', async () => {
  for (const headers of [{}, { 'X-Jointly-Cluster-Secret': 'wrong' }, { 'X-Jointly-Cluster-Secret': `${kSecret}x` }]) {
    const res = await fetch(`${primary.http}/internal/accounts/changes?after=0`, { headers });
    assert.equal(res.status, 403);
  }
  const ok = await fetch(`${primary.http}/internal/accounts/snapshot`,
    { headers: { 'X-Jointly-Cluster-Secret': kSecret } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'application/octet-stream');
  // A replica serves no feed of its own.
  const fromReplica = await fetch(`${replica.http}/internal/accounts/changes?after=0`,
    { headers: { 'X-Jointly-Cluster-Secret': kSecret } });
  assert.equal(fromReplica.status, 421);
  const bad = await fetch(`${primary.http}/internal/accounts/changes?after=-1`,
    { headers: { 'X-Jointly-Cluster-Secret': kSecret } });
  assert.equal(bad.status, 400);
});
