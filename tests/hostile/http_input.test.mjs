// Hostile HTTP against a real server: path traversal in 70+ forms against the static files (a
// secret file just outside the static root, and a symbolic link inside the root that points at
// it, must never be served), oversized headers (431) and bodies (413), bad methods, request
// smuggling basics (conflicting Content-Length / Transfer-Encoding), HTTP/1.0 and HTTP/0.9,
// absolute-form targets. After every group the server still serves files and a normal client.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../server/server_harness.mjs';
import { normalClientWorks, rawConnect, startHostileServer } from './hostile_harness.mjs';

const SECRET = `TOP-SECRET-${crypto.randomBytes(8).toString('hex')}`;
let server;
let base;
let requests = 0;

before(async () => {
  // base/secret.txt and base/static/{index.html, app.js, sub/page.html, sub/escape -> secret}
  base = tempDir('jointly-hostile-static-');
  mkdirSync(path.join(base, 'static', 'sub'), { recursive: true });
  writeFileSync(path.join(base, 'secret.txt'), SECRET);
  writeFileSync(path.join(base, 'static', 'index.html'), '<!doctype html><title>Jointly</title>');
  writeFileSync(path.join(base, 'static', 'app.js'), 'console.log(1);');
  writeFileSync(path.join(base, 'static', 'sub', 'page.html'), 'page');
  symlinkSync('../../secret.txt', path.join(base, 'static', 'sub', 'escape'));
  symlinkSync('../..', path.join(base, 'static', 'sub', 'up'));
  server = await startHostileServer({ staticDir: path.join(base, 'static') });
});

after(async () => {
  const r = await server.stop();
  server.cleanup();
  rmSync(base, { recursive: true, force: true });
  assert.equal(r.code, 0, `the server exited with ${r.code}/${r.signal}`);
  console.log(`# hostile HTTP: ${requests} requests`);
});

// Writes raw bytes on a new connection and resolves, once the server closes it (or after ms of
// quiet), with every response in it: [{status, headers, body}] (bodies by Content-Length).
async function exchange(raw, ms = 3000) {
  requests += 1;
  const conn = await rawConnect(server.port);
  conn.socket.write(raw);
  const deadline = Date.now() + ms;
  while (!conn.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  conn.socket.destroy();
  return parseResponses(conn.data());
}

function parseResponses(text) {
  const out = [];
  let rest = text;
  while (rest.startsWith('HTTP/')) {
    const split = rest.indexOf('\r\n\r\n');
    if (split < 0) break;
    const head = rest.slice(0, split).split('\r\n');
    const headers = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    const len = Number(headers['content-length'] || 0);
    out.push({ status: Number(head[0].split(' ')[1]), headers, body: rest.slice(split + 4, split + 4 + len) });
    rest = rest.slice(split + 4 + len);
  }
  return out;
}

// One request with the session headers; Connection: close unless headers say otherwise.
function request(method, target, { headers = {}, body = '', version = 'HTTP/1.1' } = {}) {
  let req = `${method} ${target} ${version}\r\nHost: 127.0.0.1:${server.port}\r\n`;
  const all = { ...server.sessionHeaders(), Connection: 'close', ...headers };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) req += `${k}: ${v}\r\n`;
  if (body && !Object.keys(all).some((k) => /^(content-length|transfer-encoding)$/i.test(k))) {
    req += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  }
  return `${req}\r\n${body}`;
}

async function stillServes() {
  const [r] = await exchange(request('GET', '/index.html'));
  assert.equal(r?.status, 200);
  assert.ok(await normalClientWorks(server));
}

// Every target below tries to reach base/secret.txt (or anything outside base/static). A function:
// some targets name base, which before() makes.
const traversals = () => [
  '/../secret.txt', '/../../secret.txt', '/../../../../../../etc/passwd', '/sub/../../secret.txt',
  '/./../secret.txt', '/sub/./../../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E/secret.txt',
  '/%2e%2E/secret.txt', '/.%2e/secret.txt', '/%2e./secret.txt', '/..%2fsecret.txt', '/..%2Fsecret.txt',
  '/%2e%2e%2fsecret.txt', '/%2e%2e%2Fsecret.txt', '/sub/%2e%2e/%2e%2e/secret.txt', '/sub%2f..%2f..%2fsecret.txt',
  '/%252e%252e/secret.txt', '/%252e%252e%252fsecret.txt', '/%25%32%65%25%32%65/secret.txt',
  '/..\\secret.txt', '/..%5csecret.txt', '/..%5Csecret.txt', '/%5c..%5csecret.txt', '/sub\\..\\..\\secret.txt',
  '/%c0%ae%c0%ae/secret.txt', '/%c0%ae%c0%ae%c0%afsecret.txt', '/%e0%80%ae%e0%80%ae/secret.txt',
  '/%uff0e%uff0e/secret.txt', '/%ef%bc%8e%ef%bc%8e/secret.txt', '/..%00/secret.txt', '/%00../secret.txt',
  '/secret.txt%00.html', '/../secret.txt%00', '/..%01/secret.txt', '/..%0a/secret.txt', '/..%0d%0a/secret.txt',
  '//secret.txt', '//../secret.txt', '/sub//../../secret.txt', '///etc/passwd', '/sub/escape', '/sub/escape?x=1',
  '/sub/up/secret.txt', '/sub/up/static/sub/escape', '/sub/up/../secret.txt', '/sub/%65scape',
  '/..;/secret.txt', '/;/../secret.txt', '/..?/secret.txt', '/..#/secret.txt', '/%2e%2e;/secret.txt',
  '/....//secret.txt', '/...//secret.txt', '/.../secret.txt', '/..../secret.txt', '/%2e%2e%2e/secret.txt',
  '/sub/..', '/sub/.', '/.', '/..', '/%2e', '/%2e%2e', '/%', '/%2', '/%zz/secret.txt', '/%%32%65%%32%65/secret.txt',
  '/static/../secret.txt', `/${base}/secret.txt`.replace('//', '/'), `/${path.join(base, 'secret.txt')}`.replace('//', '/'),
  '/proc/self/root' + path.join(base, 'secret.txt'), '/%2fproc%2fself%2fenviron', 'secret.txt', '../secret.txt',
  '*', `http://127.0.0.1:PORT/../secret.txt`, `http://127.0.0.1:PORT/%2e%2e/secret.txt`, '/sub/page.html/../../../secret.txt',
];

describe('path traversal', () => {
  it('never serves what is outside the static root (at least 60 targets)', async () => {
    const TRAVERSALS = traversals();
    assert.ok(TRAVERSALS.length >= 60);
    const statuses = {};
    for (const t of TRAVERSALS) {
      const target = t.replace('PORT', String(server.port));
      for (const method of ['GET', 'HEAD']) {
        const rs = await exchange(request(method, target));
        for (const r of rs) {
          assert.ok(!r.body.includes(SECRET), `${method} ${target} served the secret`);
          assert.notEqual(r.status, 200, `${method} ${target} answered 200: ${r.body.slice(0, 80)}`);
          assert.ok(!r.body.includes(target) || target.length < 3, `${method} ${target}: the target was echoed`);
          if (method === 'GET') statuses[r.status] = (statuses[r.status] || 0) + 1;
        }
      }
    }
    console.log(`# traversal answers by status: ${JSON.stringify(statuses)}`);
    await stillServes();
  });

  it('serves the files that are inside the root, and names no path in its errors', async () => {
    for (const [t, type] of [['/', 'text/html'], ['/index.html', 'text/html'], ['/app.js?v=3', 'text/javascript'],
      ['/sub/page.html', 'text/html'], ['/sub/%70age.html', 'text/html']]) {
      const [r] = await exchange(request('GET', t));
      assert.equal(r.status, 200, t);
      assert.ok(r.headers['content-type'].startsWith(type), t);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
    }
    const [e] = await exchange(request('GET', '/<script>alert(1)</script>'));
    assert.equal(e.status, 404);
    assert.ok(!e.body.includes('<script>') && !e.body.includes(base));
  });
});

describe('oversized requests', () => {
  it('answers headers over 8 KiB with 431: one long header and many short ones', async () => {
    for (const headers of [{ 'X-Big': 'a'.repeat(9000) },
      Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`X-H${i}`, 'abcdefghijklmnopqrst'])),
      { Cookie: `${'c=1; '.repeat(3000)}` }]) {
      const [r] = await exchange(request('GET', '/index.html', { headers }));
      assert.equal(r?.status, 431);
    }
    const [r] = await exchange(request('GET', `/${'a'.repeat(10000)}`));
    assert.ok([414, 431].includes(r?.status), `a 10 KB target: ${r?.status}`);
    await stillServes();
  });

  it('answers bodies over 1 MiB with 413, by Content-Length and chunked', async () => {
    const [a] = await exchange(request('POST', '/api/documents',
      { headers: { 'Content-Type': 'application/json', 'Content-Length': String(2 << 20) }, body: '{"title":' }));
    assert.equal(a?.status, 413);
    const chunk = 'x'.repeat(65536);
    let chunked = '';
    for (let i = 0; i < 20; i += 1) chunked += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    const [b] = await exchange(request('POST', '/api/documents',
      { headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, body: `${chunked}0\r\n\r\n` }));
    assert.equal(b?.status, 413);
    const [c] = await exchange(request('POST', '/api/documents',
      { headers: { 'Content-Type': 'application/json', 'Content-Length': '99999999999999999999999' }, body: '{}' }));
    assert.ok([400, 413].includes(c?.status) || c === undefined, `an absurd Content-Length: ${c?.status}`);
    await stillServes();
  });
});

describe('methods', () => {
  it('refuses every method but GET and HEAD on static files with 405, echoing nothing', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'LOCK']) {
      const [r] = await exchange(request(m, '/index.html', { headers: { 'X-Echo': 'ECHO-ME' } }));
      assert.ok([403, 405].includes(r?.status), `${m}: ${r?.status}`);
      assert.ok(!r.body.includes('ECHO-ME'), `${m} echoed a header`);
    }
    await stillServes();
  });

  it('answers a malformed method or request line with 400 or a closed connection', async () => {
    for (const line of ['G@T / HTTP/1.1', 'GET  / HTTP/1.1', 'GET / HTTP/9.9', 'GET / FTP/1.1', 'GET /\tx HTTP/1.1',
      '/ GET HTTP/1.1', 'GET', '\x00\x01\x02', 'CONNECT 127.0.0.1:22 HTTP/1.1']) {
      const rs = await exchange(`${line}\r\nHost: x\r\nConnection: close\r\n\r\n`);
      for (const r of rs) assert.ok(r.status >= 400 && r.status < 500, `${JSON.stringify(line)}: ${r.status}`);
    }
    await stillServes();
  });
});

describe('request smuggling basics', () => {
  // Each request carries a second, smuggled request in what the server must read as its body
  // (or refuse). Only one response may come back, and never one for the smuggled GET.
  const smuggled = 'GET /sub/page.html HTTP/1.1\r\nHost: x\r\n\r\n';
  const cases = {
    'Content-Length and Transfer-Encoding: chunked': { 'Content-Length': '4', 'Transfer-Encoding': 'chunked' },
    'Transfer-Encoding: chunked and Content-Length': { 'Transfer-Encoding': 'chunked', 'Content-Length': '4' },
    'two different Content-Lengths': { 'Content-Length': '0', 'content-length': '44' },
    'a Content-Length list': { 'Content-Length': '0, 44' },
    'Transfer-Encoding with a space before the colon': { 'Transfer-Encoding ': 'chunked' },
    'a signed Content-Length': { 'Content-Length': '+0' },
  };
  // RFC 9112 6.3: a Transfer-Encoding whose final coding is not chunked makes the body length
  // unknowable: the answer is 400 and the connection is closed, so the "body" is never read as
  // a next request.
  const unknowable = {
    'Transfer-Encoding: xchunked': { 'Transfer-Encoding': 'xchunked' },
    'Transfer-Encoding: chunked, identity': { 'Transfer-Encoding': 'chunked, identity' },
    'Transfer-Encoding: gzip': { 'Transfer-Encoding': 'gzip' },
  };
  for (const [name, headers] of [...Object.entries(cases), ...Object.entries(unknowable)]) {
    it(`${name}: at most one answer, not for the smuggled request`, async () => {
      // Chunked readers see an empty body, length readers a body; either way the GET hides in it.
      const body = name in unknowable ? smuggled : `0\r\n\r\n${smuggled}`;
      const rs = await exchange(request('POST', '/api/documents',
        { headers: { 'Content-Type': 'application/json', Connection: 'keep-alive', ...headers }, body }), 800);
      assert.ok(rs.length <= 1, `${rs.length} responses: ${rs.map((r) => r.status)}`);
      for (const r of rs) {
        assert.notEqual(r.status, 200, 'the smuggled GET was served');
        assert.notEqual(r.status, 201, 'a request with conflicting framing was processed');
      }
      if (name in unknowable) {
        assert.equal(rs.length, 1, 'one answer');
        assert.equal(rs[0].status, 400, `answered ${rs[0].status}`);
      }
    });
  }
  it('is still serving after the smuggling attempts', stillServes);
});

describe('HTTP versions and target forms', () => {
  it('serves HTTP/1.0 (no Host) and closes the connection after it', async () => {
    requests += 1;
    const conn = await rawConnect(server.port);
    conn.socket.write('GET /index.html HTTP/1.0\r\n\r\n');
    const t0 = Date.now();
    while (!conn.ended && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
    assert.ok(conn.ended, 'an HTTP/1.0 connection without keep-alive stayed open');
    const [r] = parseResponses(conn.data());
    assert.equal(r.status, 200);
    assert.ok(r.body.includes('Jointly'));
  });

  it('does not answer HTTP/0.9 with a file', async () => {
    const rs = await exchange('GET /index.html\r\n\r\n', 1500);
    for (const r of rs) assert.ok(r.status >= 400);
  });

  it('refuses absolute-form targets with 400 bad_path and never serves through them', async () => {
    for (const t of [`http://127.0.0.1:${server.port}/index.html`, 'http://evil.example/index.html',
      `https://127.0.0.1:${server.port}/sub/page.html`, 'file:///etc/passwd', `http://127.0.0.1:${server.port}/../secret.txt`]) {
      const [r] = await exchange(request('GET', t));
      assert.equal(r?.status, 400, `${t}: ${r?.status}`);
      assert.ok(!r.body.includes(SECRET));
    }
    await stillServes();
  });

  it('answers pipelined keep-alive requests in order', async () => {
    const one = (t) => request('GET', t, { headers: { Connection: 'keep-alive' } });
    const rs = await exchange(one('/index.html') + one('/%2e%2e/secret.txt') + request('GET', '/app.js'));
    assert.deepEqual(rs.map((r) => r.status), [200, 400, 200]);
  });
});
