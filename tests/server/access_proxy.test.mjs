// The login cookie's Secure flag and the login rate limit's address behind a reverse proxy:
// X-Forwarded-Proto and X-Forwarded-For count only from a --trusted-proxy peer; and
// --secure-cookies.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { kAdminEmail, kAdminPassword, rawHttp, startServer } from './server_harness.mjs';

let trusting;
let plain;
before(async () => {
  trusting = await startServer({ demo: false, args: ['--trusted-proxy', '127.0.0.1'] });
  plain = await startServer({ demo: false, args: ['--secure-cookies'] });
});
after(async () => {
  for (const s of [trusting, plain]) {
    assert.equal((await s.stop()).code, 0);
    s.cleanup();
  }
});

function loginRaw(server, { email = kAdminEmail, password = kAdminPassword, headers = {} } = {}) {
  return rawHttp(server.port, 'POST', '/api/login', {
    headers: { 'Content-Type': 'application/json', Origin: server.http, ...headers },
    body: JSON.stringify({ email, password }),
  });
}

it('marks the cookie Secure when a trusted proxy says https, or with --secure-cookies', async () => {
  const viaTls = await loginRaw(trusting, { headers: { 'X-Forwarded-Proto': 'https' } });
  assert.equal(viaTls.status, 200);
  assert.match(viaTls.headers['set-cookie'], /; Secure$/);
  const direct = await loginRaw(trusting);
  assert.doesNotMatch(direct.headers['set-cookie'], /Secure/);
  // An untrusted peer's X-Forwarded-Proto changes nothing; --secure-cookies always sets it.
  const always = await loginRaw(plain, { headers: { 'X-Forwarded-Proto': 'http' } });
  assert.match(always.headers['set-cookie'], /; Secure$/);
});

it('counts failed logins per forwarded address from a trusted proxy, 20 per window', async () => {
  for (let i = 0; i < 20; i++) {
    const r = await loginRaw(trusting, {
      email: `nobody${i}@x.test`, password: 'wrong password', headers: { 'X-Forwarded-For': '198.51.100.7, 203.0.113.9' },
    });
    assert.equal(r.status, 401);
  }
  // The proxy's last entry is the client: it is now refused, right password or not.
  const refused = await loginRaw(trusting, { headers: { 'X-Forwarded-For': '203.0.113.9' } });
  assert.equal(refused.status, 429);
  assert.equal(JSON.parse(refused.body).error.code, 'too_many_attempts');
  assert.ok(Number(refused.headers['retry-after']) > 0);
  // Another client behind the same proxy is not.
  const other = await loginRaw(trusting, { headers: { 'X-Forwarded-For': '203.0.113.10' } });
  assert.equal(other.status, 200);
});

it('counts an untrusted peer by its own address, whatever X-Forwarded-For says', async () => {
  for (let i = 0; i < 20; i++) {
    const r = await loginRaw(plain, {
      email: `nobody${i}@x.test`, password: 'wrong password', headers: { 'X-Forwarded-For': `192.0.2.${i}` },
    });
    assert.equal(r.status, 401);
  }
  const refused = await loginRaw(plain, { headers: { 'X-Forwarded-For': '192.0.2.99' } });
  assert.equal(refused.status, 429);
});
