// Static files over real HTTP: the client's files with their MIME types and security headers,
// and no traversal attempt reaches a file outside the static root.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { rawHttp, startServer, tempDir } from './server_harness.mjs';

let server;
let dir;
const SECRET = 'TOP-SECRET-1234';

before(async () => {
  dir = tempDir();
  const root = path.join(dir, 'dist');
  mkdirSync(path.join(root, 'assets'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>Jointly</title>');
  writeFileSync(path.join(root, 'assets', 'app.js'), 'export const x = 1;');
  writeFileSync(path.join(root, 'assets', 'app.css'), 'body{}');
  writeFileSync(path.join(dir, 'secret.txt'), SECRET);
  server = await startServer({ staticDir: root, dataDir: path.join(dir, 'data') });
});

after(async () => {
  await server.stop();
  server.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

// The Content-Security-Policy of the contract (protocol/PROTOCOL.md, "HTTP API"), directive by
// directive: form-action is not covered by default-src, so it must be there on its own.
const kPolicy = {
  'default-src': "'self'",
  'connect-src': "'self'",
  'img-src': "'self' data:",
  'style-src': "'self' 'unsafe-inline'",
  'object-src': "'none'",
  'base-uri': "'none'",
  'form-action': "'self'",
  'frame-ancestors': "'none'",
};

function assertPolicy(r, what) {
  const header = r.headers['content-security-policy'];
  assert.ok(header, `${what}: no Content-Security-Policy`);
  const directives = Object.fromEntries(header.split(';').map((d) => d.trim().split(/\s+/))
    .map(([name, ...values]) => [name, values.join(' ')]));
  assert.deepEqual(directives, kPolicy, what);
}

it('serves the client with MIME types, nosniff and a CSP', async () => {
  for (const [target, type] of [
    ['/', 'text/html; charset=utf-8'],
    ['/index.html', 'text/html; charset=utf-8'],
    ['/assets/app.js', 'text/javascript; charset=utf-8'],
    ['/assets/app.css?v=2', 'text/css; charset=utf-8'],
  ]) {
    const r = await rawHttp(server.port, 'GET', target);
    assert.equal(r.status, 200, target);
    assert.equal(r.headers['content-type'], type, target);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assertPolicy(r, target);
  }
  const head = await rawHttp(server.port, 'HEAD', '/assets/app.js');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

it('sends the CSP, form-action included, on errors and API answers too', async () => {
  for (const [method, target, status] of [
    ['GET', '/missing.html', 404], ['GET', '/../secret.txt', 400], ['POST', '/index.html', 405],
    ['GET', '/api/me', 401], ['GET', '/healthz', 200],
  ]) {
    const r = await rawHttp(server.port, method, target);
    assert.equal(r.status, status, target);
    assertPolicy(r, `${method} ${target}`);
  }
});

it('refuses every traversal attempt without touching the file system', async () => {
  for (const target of [
    '/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/%2E%2E/secret.txt',
    '/assets/../../secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/.%2e/secret.txt',
    '/..\\secret.txt', '/%2e%2e%5csecret.txt', '//secret.txt', '/assets//app.js',
    '/index.html%00', '/index.html%00.js', '/%00', '/a%zz', '/./index.html',
  ]) {
    const r = await rawHttp(server.port, 'GET', target);
    assert.equal(r.status, 400, target);
    assert.equal(JSON.parse(r.body).error.code, 'bad_path', target);
    assert.ok(!r.body.includes(SECRET), target);
    assert.equal(r.headers['content-type'], 'application/json');
  }
  // Absolute-form and other odd targets never serve the secret either.
  for (const target of ['http://127.0.0.1/../secret.txt', '*', 'secret.txt']) {
    const r = await rawHttp(server.port, 'GET', target);
    assert.ok(r.status >= 400, `${target}: ${r.status}`);
    assert.ok(!r.body.includes(SECRET), target);
  }
});

it('answers a missing file with a JSON 404 that does not echo the target', async () => {
  const r = await rawHttp(server.port, 'GET', '/nothing-<script>.js');
  assert.equal(r.status, 404);
  assert.equal(JSON.parse(r.body).error.code, 'not_found');
  assert.ok(!r.body.includes('<script>'));
  const post = await rawHttp(server.port, 'POST', '/index.html', { body: 'x' });
  assert.equal(post.status, 405);
});

it('serves the JSON API and health next to the files', async () => {
  const created = await rawHttp(server.port, 'POST', '/api/documents', {
    headers: { 'Content-Type': 'application/json', ...server.headers }, body: JSON.stringify({ title: 'Second course' }),
  });
  assert.equal(created.status, 201);
  assert.equal(created.headers.location, `/api/documents/${JSON.parse(created.body).id}`);
  const list = await server.fetch(`/api/documents`).then((r) => r.json());
  assert.deepEqual(list.documents.map((d) => d.title).sort(), ['Demo: joint micro-credential course design', 'Second course']);
  const health = await fetch(`${server.http}/healthz`);
  assert.equal(health.status, 200);
  const form = await rawHttp(server.port, 'POST', '/api/documents', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...server.headers }, body: 'title=x',
  });
  assert.equal(form.status, 415);
  const big = await rawHttp(server.port, 'POST', '/api/documents', {
    headers: { 'Content-Type': 'application/json', ...server.headers }, body: 'x'.repeat(2 * 1024 * 1024),
  });
  assert.equal(big.status, 413);
});

it('refuses a WebSocket from a foreign origin', async () => {
  const r = await rawHttp(server.port, 'GET', '/ws', {
    headers: {
      Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', Origin: 'http://evil.example',
      Cookie: server.headers.Cookie,
    },
  });
  assert.equal(r.status, 403);
  assert.equal(JSON.parse(r.body).error.code, 'origin_not_allowed');
});
