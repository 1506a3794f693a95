// Crash under load, end to end (issue #9, "Faults"): a real jointly-server (durability sync,
// the default) with several clients editing many documents (text, section adds, removes,
// moves, locks) is killed with SIGKILL at a random moment and started again on the same data
// directory; the clients reconnect and resubmit their in-flight op (protocol rule 4). After
// every trial, once all is quiet: the revisions of every document are 1..N without a gap, no
// submission is in them twice, every ack a client was ever sent names exactly its submission,
// every client's document equals the server's (reloaded from disk), and `jointly-admin check`
// passes on the data directory (run while the server is down). At the end a clean restart must
// give the same documents.
//
//   node --test tests/faults/crash.test.mjs
//   JOINTLY_LONG=1: 50 trials, 20 documents × 3 clients (CI: 10 trials, 12 × 3)
//   CRASH_TRIALS, CRASH_DOCS, CRASH_SEED override.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';

import {
  LONG, RestartableServer, Tab, adminCheck, canonical, editLoop, kNoRateLimit, makeRandom, quiesce,
  sleep, verifyDocument,
} from './faults_kit.mjs';

const TRIALS = Number(process.env.CRASH_TRIALS || (LONG ? 50 : 10));
const DOCS = Number(process.env.CRASH_DOCS || (LONG ? 20 : 12));
const CLIENTS = 3;
const SEED = Number(process.env.CRASH_SEED || 9001);

describe('jointly-server killed with SIGKILL under load', () => {
  const server = new RestartableServer(kNoRateLimit);
  const tabs = [];
  after(async () => {
    for (const t of tabs) t.close();
    await server.stop('SIGKILL');
    if (server.dataDir) rmSync(path.dirname(server.dataDir), { recursive: true, force: true });
  });

  it(`loses no acknowledged edit over ${TRIALS} kills (${DOCS} documents × ${CLIENTS} clients)`, { timeout: 1800000 }, async () => {
    const rnd = makeRandom(SEED);
    await server.start();
    const docs = [];
    for (let i = 0; i < DOCS; i++) docs.push(await server.createDocument(`crash ${i}`));
    for (const d of docs) for (let c = 0; c < CLIENTS; c++) tabs.push(new Tab(server, d, `c${c}`, rnd));
    for (const t of tabs) t.connect();
    const problems = [];
    const started = Date.now();
    const downMs = [];
    let checks = 0;
    let revisions = 0;
    let acked = 0;
    for (let trial = 1; trial <= TRIALS && problems.length === 0; trial++) {
      const load = editLoop(tabs, rnd, { pauseMs: [0, 4] });
      await sleep(rnd.int(150, 1500)); // a random moment under load
      const down = Date.now();
      await server.stop('SIGKILL');
      await sleep(rnd.int(0, 200)); // clients keep typing while it is down
      const check = adminCheck(server.dataDir);
      checks++;
      if (!check.ok) problems.push(`trial ${trial}: jointly-admin check failed (${check.status}): ${check.output.slice(0, 500)}`);
      await server.start();
      downMs.push(Date.now() - down);
      await sleep(rnd.int(50, 400));
      await load.stop();
      problems.push(...(await quiesce(server, tabs)).map((p) => `trial ${trial}: ${p}`));
      revisions = 0;
      acked = 0;
      for (const d of docs) {
        const r = await verifyDocument(server, d, tabs.filter((t) => t.docId === d));
        problems.push(...r.problems.map((p) => `trial ${trial}: ${p}`));
        revisions += r.revisions;
        acked += r.acked;
      }
    }
    // A clean restart at the end: the same documents, read back from disk.
    const before = new Map();
    for (const d of docs) before.set(d, canonical((await server.api(`/api/documents/${d}`)).json));
    await server.stop('SIGTERM');
    const final = adminCheck(server.dataDir);
    if (!final.ok) problems.push(`final jointly-admin check failed: ${final.output.slice(0, 500)}`);
    await server.start();
    for (const d of docs) {
      if (canonical((await server.api(`/api/documents/${d}`)).json) !== before.get(d)) problems.push(`document ${d} differs after a clean restart`);
    }
    const dup = tabs.reduce((n, t) => n + t.counts.duplicateAcks, 0);
    const refused = tabs.reduce((n, t) => n + t.counts.refused, 0);
    const sorted = [...downMs].sort((a, b) => a - b);
    console.log(`crash: ${TRIALS} SIGKILL trials, ${DOCS} docs × ${CLIENTS} clients, ${revisions} revisions, ` +
      `${acked} acks checked, ${dup} duplicate acks, ${refused} edits refused, ${checks + 1} admin checks, ` +
      `restart median ${sorted[sorted.length >> 1]} ms, ${((Date.now() - started) / 1000).toFixed(1)} s, ${problems.length} problems`);
    assert.deepEqual(problems.slice(0, 8), []);
  });
});
