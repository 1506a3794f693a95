// Restore from history and the course routes over real sockets: a leader restores a section to
// an earlier revision; a client with the document open receives the restore as an op with
// restored_from and, applying it, ends with the server's text; after a restart the history list
// still says restored_from, and a client catching up from before the restore receives it in
// `ops` with restored_from too. A course document made from the template answers its checks and
// refuses its course description until it is approved.
import assert from 'node:assert/strict';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { it } from 'node:test';
import { joinDocument, startServer, submitAndAck, tempDir } from './server_harness.mjs';

// Applies a text op (PROTOCOL.md, "Text operations") to a string of code points.
function applyText(text, op) {
  const chars = [...text];
  const out = [];
  let at = 0;
  for (const c of op) {
    if (typeof c === 'number') { out.push(...chars.slice(at, at + c)); at += c; }
    else if (typeof c === 'string') out.push(...c);
    else at += typeof c.d === 'number' ? c.d : [...c.d].length;
  }
  out.push(...chars.slice(at));
  return out.join('');
}

async function post(server, pathname, body) {
  const res = await server.fetch(pathname, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

it('a restore reaches every subscriber with restored_from and survives a restart', async () => {
  const dir = tempDir();
  const dataDir = path.join(dir, 'data');
  let server = await startServer({ dataDir });
  try {
    const created = await post(server, '/api/documents', { title: 'Restore me' });
    assert.equal(created.status, 201);
    const doc = created.body.id;
    const { c, snapshot } = await joinDocument(server, { doc });
    const watcher = (await joinDocument(server, { doc })).c;
    const ack1 = await submitAndAck(c, { doc, rev: snapshot.rev, seq: 1, op: [{ edit: 'intro', f: 'body', op: ['The first paragraph.'] }] });
    const ack2 = await submitAndAck(c, { doc, rev: ack1.rev, seq: 2, op: [{ edit: 'intro', f: 'body', op: [{ d: 20 }, 'Rewritten.'] }] });
    let text = 'Rewritten.';
    for (let rev = 1; rev <= ack2.rev; ++rev) await watcher.next((m) => m.type === 'op' && m.rev === rev);

    const restored = await post(server, `/api/documents/${doc}/history/restore`, { rev: ack1.rev, section: 'intro' });
    assert.equal(restored.status, 200, JSON.stringify(restored.body));
    assert.deepEqual(restored.body, { rev: ack2.rev + 1, restored_from: ack1.rev, changed: true });
    for (const client of [c, watcher]) {
      const op = await client.next((m) => m.type === 'op' && m.rev === restored.body.rev);
      assert.equal(op.restored_from, ack1.rev);
      assert.equal(op.author, server.users.leader.user.name);
      assert.ok(op.institution.length > 0);
      if (client === watcher) {
        for (const comp of op.op) text = applyText(text, comp.op);
      }
    }
    assert.equal(text, 'The first paragraph.', 'the subscriber converges with the server');
    const fresh = await joinDocument(server, { doc });
    assert.equal(fresh.snapshot.snapshot.sections.find((s) => s.id === 'intro').body, text);
    // The restored text can be edited on like any other.
    const after = await submitAndAck(c, { doc, rev: restored.body.rev, seq: 3, op: [{ edit: 'intro', f: 'body', op: [20, ' More.'] }] });
    assert.equal(after.rev, restored.body.rev + 1);
    // A reviewer may not restore.
    const reviewer = await server.fetch('/api/documents/1/history/restore', {
      as: 'reviewer', method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"rev":0}',
    });
    assert.equal(reviewer.status, 403);
    for (const x of [c, watcher, fresh.c]) x.close();
    assert.equal((await server.stop()).code, 0);

    server = await startServer({ dataDir });
    const res = await server.fetch(`/api/documents/${doc}/history?group=0`);
    const list = await res.json();
    const entry = list.entries.find((e) => e.rev === restored.body.rev);
    assert.equal(entry.restored_from, ack1.rev);
    assert.equal(list.entries.filter((e) => e.restored_from !== undefined).length, 1);
    // A client catching up from before the restore sees it in `ops` as it was broadcast.
    const late = await joinDocument(server, { doc });
    late.c.send({ type: 'open', doc, rev: ack2.rev });
    const ops = await late.c.nextType('ops');
    assert.deepEqual(ops.ops.map((o) => [o.rev, o.restored_from]),
      [[restored.body.rev, ack1.rev], [after.rev, undefined]]);
    assert.equal(ops.ops[0].client, 'history:restore');
    late.c.close();
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a course document answers its checks and refuses an unapproved course description', async () => {
  const server = await startServer();
  try {
    const created = await post(server, '/api/documents', { title: 'Course', template: 'course' });
    assert.equal(created.status, 201);
    const doc = created.body.id;
    const { snapshot } = await joinDocument(server, { doc });
    assert.ok(snapshot.snapshot.sections.some((s) => s.id === 'course' && s.kind === 'course'));
    const checks = await (await server.fetch(`/api/documents/${doc}/checks`)).json();
    assert.equal(checks.rev, 0);
    assert.ok(checks.summary.error > 0);
    assert.ok(checks.findings.some((f) => f.code === 'annex1.title' && f.level === 'error'));
    const desc = await server.fetch(`/api/documents/${doc}/course-description`);
    assert.equal(desc.status, 409);
    assert.equal((await desc.json()).error.code, 'not_approved');
    const other = await server.fetch(`/api/documents/${doc}/checks`, { as: 'reviewer' });
    assert.equal(other.status, 403, 'a non-member');
  } finally {
    await server.stop();
    server.cleanup();
  }
});

it('every history route: 401 without a session, 403 to a non-member, reads for every role, changes for editors', async () => {
  const server = await startServer();
  try {
    // Document 1 has the demo leader, editor and reviewer; the new one only its leader.
    const { c, snapshot } = await joinDocument(server, { doc: 1, as: 'editor' });
    const first = snapshot.snapshot.sections[0];
    const ack = await submitAndAck(c, { doc: 1, rev: snapshot.rev, seq: 1, op: [{ edit: first.id, f: 'body', op: ['More. '] }] });
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    c.close();
    const priv = (await post(server, '/api/documents', { title: 'Leader only' })).body.id;
    const reads = ['', '?group=0', `/at/${ack.rev}`, `/at/${ack.rev}?section=${first.id}`, '/diff?from=0',
      `/blame/${first.id}`, '/contributions', '/versions', '/export?format=md', '/export?format=html',
      '/export?format=json'];
    const changes = [['/versions', { name: `named ${ack.rev}`, rev: ack.rev }, 201], ['/restore', { rev: ack.rev }, 200]];
    for (const r of reads) {
      const none = await fetch(`${server.http}/api/documents/1/history${r}`);
      assert.equal(none.status, 401, `no session: ${r}`);
      assert.equal((await none.json()).error.code, 'unauthenticated');
      for (const as of ['leader', 'editor', 'reviewer']) {
        assert.equal((await server.fetch(`/api/documents/1/history${r}`, { as })).status, 200, `${as}: ${r}`);
        if (as === 'leader') continue;
        const other = await server.fetch(`/api/documents/${priv}/history${r}`, { as });
        assert.equal(other.status, 403, `${as}, not a member: ${r}`);
        assert.equal((await other.json()).error.code, 'forbidden');
      }
    }
    // The HTML export carries one policy, its own (stricter than the app's), not both.
    const html = await server.fetch('/api/documents/1/history/export?format=html');
    const policy = html.headers.get('content-security-policy');
    assert.match(policy, /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; base-uri 'none'; form-action 'none'$/);
    // The demo course's fields under the form's labels, in its order; no step's prompt.
    const md = await (await server.fetch('/api/documents/1/history/export?format=md')).text();
    assert.match(md, /### Title\n\nData literacy for public services\n[^]*### Workload \(ECTS\)\n\n5\n/);
    assert.doesNotMatch(md, /### (prompt|course_title|ects)\n/);
    const send = (doc, route, body, as) => server.fetch(`/api/documents/${doc}/history${route}`, {
      as, method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    for (const [route, body, ok] of changes) {
      const none = await fetch(`${server.http}/api/documents/1/history${route}`, {
        method: 'POST', headers: { Origin: server.http, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      });
      assert.equal(none.status, 401, `no session: POST ${route}`);
      const reviewer = await send(1, route, body, 'reviewer');
      assert.equal(reviewer.status, 403, `reviewer: POST ${route}`);
      assert.equal((await reviewer.json()).error.code, 'forbidden');
      assert.equal((await send(priv, route, body, 'editor')).status, 403, `editor, not a member: POST ${route}`);
      const editor = await send(1, route, body, 'editor');
      assert.equal(editor.status, ok, `editor: POST ${route}: ${await editor.text()}`);
    }
  } finally {
    await server.stop();
    server.cleanup();
  }
});
