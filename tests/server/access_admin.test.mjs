// Bootstrapping accounts (protocol/PROTOCOL.md, "Accounts"): `jointly-admin create-user` on a
// stopped server's data directory makes the first administrator (and the institution when it is
// new), refuses bad input with a message and a non-zero exit, and never echoes the password;
// the server then lets that administrator create institutions and users over HTTP, and a user
// made without --admin cannot.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import {
  adminBin, kAdminEmail, kAdminPassword, login, startServer, tempDir,
} from './server_harness.mjs';

const dir = tempDir();
const data = path.join(dir, 'data');
let server;
after(async () => {
  if (server) {
    assert.equal((await server.stop()).code, 0);
    server.cleanup();
  }
  rmSync(dir, { recursive: true, force: true });
});

function createUser(args, password) {
  const r = spawnSync(adminBin, ['create-user', '--data', data, ...args], { input: `${password}\n`, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

const STAFF = ['--email', 'Staff@Uni-Graz.AT', '--name', 'Sam Staff', '--institution', 'Universität Graz', '--country', 'AT'];

it('makes the first administrator, and a user of the same institution, on a stopped server', () => {
  // What the harness does for every suite, here with its answers checked.
  const first = createUser(['--email', kAdminEmail, '--name', 'Test Admin', '--institution', 'Universität Graz',
    '--country', 'AT', '--admin'], kAdminPassword);
  assert.equal(first.status, 0, first.out);
  assert.ok(!first.out.includes(kAdminPassword));
  const staff = createUser(STAFF, 'a staff password');
  assert.equal(staff.status, 0, staff.out);
});

it('refuses bad input with a message, and an email that exists', () => {
  for (const [args, password, says] of [
    [STAFF.map((a) => (a === 'Staff@Uni-Graz.AT' ? 'other@uni-graz.at' : a)), 'short', /10 to 1024 bytes/],
    [STAFF.map((a) => (a === 'Staff@Uni-Graz.AT' ? 'no-at-sign' : a)), 'a long enough password', /email/],
    [STAFF.map((a) => (a === 'AT' ? 'Austria' : a)).map((a) => (a === 'Staff@Uni-Graz.AT' ? 'x@y.at' : a)), 'a long enough password', /ISO 3166-1/],
    [STAFF.map((a) => (a === 'Staff@Uni-Graz.AT' ? 'STAFF@uni-graz.at' : a)), 'a long enough password', /exists/],
  ]) {
    const r = createUser(args, password);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.out, says);
    assert.ok(!r.out.includes(password), 'the password is echoed');
  }
});

it('gives the server an administrator who creates institutions and users, and a user who may not', async () => {
  server = await startServer({ dataDir: data, demo: false });
  const me = await (await server.fetch('/api/me', { as: 'admin' })).json();
  assert.equal(me.user.admin, true);
  assert.deepEqual(me.user.institution.name, 'Universität Graz');
  const institutions = await (await server.fetch('/api/institutions', { as: 'admin' })).json();
  assert.deepEqual(institutions.institutions.map((i) => [i.name, i.country]), [['Universität Graz', 'AT']]);
  const inst = await server.fetch('/api/institutions', {
    as: 'admin', method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Masarykova univerzita', country: 'CZ' }),
  });
  assert.equal(inst.status, 201);
  const made = await server.fetch('/api/users', {
    as: 'admin', method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'jan@muni.cz', name: 'Jan Novák', password: 'jan password 1', institution: (await inst.json()).id }),
  });
  assert.equal(made.status, 201);
  // The user made without --admin (stored lower-case) is no administrator.
  server.users.staff = await login(server.http, 'staff@uni-graz.at', 'a staff password');
  assert.equal(server.users.staff.user.admin, false);
  const refused = await server.fetch('/api/institutions', {
    as: 'staff', method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Université de Lille', country: 'FR' }),
  });
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).error.code, 'forbidden');
});

it('refuses to write while the server holds the data directory', () => {
  const r = createUser(STAFF.map((a) => (a === 'Staff@Uni-Graz.AT' ? 'late@uni-graz.at' : a)), 'a long enough password');
  assert.notEqual(r.status, 0);
  assert.match(r.out, /lock|in use|Resource temporarily unavailable/i);
});
