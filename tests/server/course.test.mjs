// A course-design document against the real jointly-server (issue #8; PROTOCOL.md "Course
// template and checks"): the server, not only the client, refuses to lock a template step that
// is still empty; the structured course fields are edited by document operations over the
// WebSocket, answered in the checks at the revision that changed them, and are in the history
// (the list filtered by section, the diff per field). A course of 40 units is checked whole on
// every request: the test prints the median time of GET .../checks for it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { joinDocument, startServer, submitAndAck } from './server_harness.mjs';

let server;
let doc;
let c;
let rev;
let seq = 0;

async function submit(op) {
  const answer = await submitAndAck(c, { doc, rev, seq: ++seq, op });
  if (answer.type === 'ack') rev = answer.rev;
  return answer;
}

async function get(path) {
  const res = await server.fetch(`/api/documents/${doc}${path}`);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
}

const levelOf = (checks, code) => checks.findings.find((f) => f.code === code).level;

before(async () => {
  server = await startServer();
  const res = await server.fetch('/api/documents', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ title: 'Open data in practice', template: 'course' }),
  });
  assert.equal(res.status, 201);
  doc = (await res.json()).id;
  const joined = await joinDocument(server, { doc });
  c = joined.c;
  rev = joined.snapshot.rev;
});

after(async () => {
  if (c) c.close();
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

describe('a course document on the server', () => {
  it('refuses to lock a template step whose text is still empty, and locks it once written', async () => {
    const refused = await submit([{ lock: 'vision' }]);
    assert.equal(refused.type, 'error');
    assert.equal(refused.code, 'section_incomplete');
    assert.match(refused.message, /vision/);
    const now = await get('');
    assert.equal(now.rev, 0, 'nothing was applied');
    assert.ok(!now.snapshot.sections.find((s) => s.id === 'vision').locked);
    // Blank is still empty: spaces and line breaks only.
    assert.equal((await submit([{ edit: 'vision', f: 'body', op: [' \n '] }])).type, 'ack');
    assert.equal((await submit([{ lock: 'vision' }])).code, 'section_incomplete');
    assert.equal((await submit([{ edit: 'vision', f: 'body', op: [3, 'Public services need data skills.'] }])).type, 'ack');
    assert.equal((await submit([{ lock: 'vision' }])).type, 'ack');
    const checks = await get('/checks');
    const vision = checks.findings.find((f) => f.code === 'section.written' && f.section === 'vision');
    assert.equal(vision.level, 'ok');
  });

  it('answers the checks at the revision a course field changed, and keeps the field in the history', async () => {
    let checks = await get('/checks');
    assert.equal(levelOf(checks, 'annex1.workload'), 'error');
    assert.equal(levelOf(checks, 'ects.sum'), 'error');
    const ack = await submit([{ edit: 'course', f: 'ects', op: ['5'] }, { edit: 'unit1', f: 'ects', op: ['5 ECTS'] }]);
    assert.equal(ack.type, 'ack');
    checks = await get('/checks');
    assert.equal(checks.rev, ack.rev);
    assert.equal(levelOf(checks, 'annex1.workload'), 'ok');
    assert.equal(levelOf(checks, 'ects.sum'), 'ok');
    // The history has it: the list filtered by the course section, the diff of the field.
    const list = await get('/history?group=0&section=course');
    assert.deepEqual(list.entries.map((e) => e.rev), [ack.rev]);
    assert.deepEqual(list.entries[0].sections.sort(), ['course', 'unit1']);
    const diff = await get(`/history/diff?from=${ack.rev - 1}&to=${ack.rev}&section=course`);
    assert.deepEqual(diff.sections[0].fields.ects, [{ kind: 'insert', text: '5' }]);
    // Another edit makes the sum fail again, at its own revision.
    const more = await submit([{ edit: 'unit1', f: 'ects', op: [{ d: 1 }, '4'] }]);
    checks = await get('/checks');
    assert.equal(checks.rev, more.rev);
    const sum = checks.findings.find((f) => f.code === 'ects.sum');
    assert.equal(sum.level, 'error');
    assert.equal(sum.message, "The units' credits add up to 4 ECTS, but the course's total is 5 ECTS.");
  });

  it('checks a course of 40 units and 120 outcomes whole, and says how long a request takes', async () => {
    const outcomes = Array.from({ length: 120 }, (_, i) => `LO${i + 1}: Outcome number ${i + 1}`).join('\n');
    const op = [{ edit: 'course', f: 'outcomes', op: [outcomes] }, { edit: 'course', f: 'ects', op: [{ d: 1 }, '40'] }];
    for (let u = 2; u <= 40; u++) {
      op.push({
        add: `u${u}`, pos: `z${String(u).padStart(2, '0')}V`, title: `Unit ${u}`, kind: 'unit',
        fields: { ects: '1', outcomes: `LO${u * 3 - 2}, LO${u * 3 - 1}, LO${u * 3}`, assessment: 'Quiz' },
      });
    }
    op.push({ edit: 'unit1', f: 'ects', op: [{ d: 1 }, '1'] }, { edit: 'unit1', f: 'outcomes', op: ['LO1, LO2, LO3'] });
    const answer = await submit(op);
    assert.equal(answer.type, 'ack', answer.message);
    const times = [];
    let checks;
    for (let i = 0; i < 41; i++) {
      const t0 = process.hrtime.bigint();
      checks = await get('/checks');
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    assert.equal(levelOf(checks, 'ects.sum'), 'ok');
    const assessed = checks.findings.filter((f) => f.code === 'outcome.assessed');
    assert.equal(assessed.length, 120);
    assert.ok(assessed.every((f) => f.level === 'ok'));
    assert.equal(levelOf(checks, 'units.present'), 'ok');
    assert.match(checks.findings.find((f) => f.code === 'units.present').message, /40 microlearning units/);
    times.sort((x, y) => x - y);
    console.log(`# GET /checks of a 40-unit, 120-outcome course: median ${times[20].toFixed(2)} ms, max ${times[40].toFixed(2)} ms (41 requests)`);
  });
});
