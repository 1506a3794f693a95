// Soak (issue #9, "Load"): steady editing on 200 documents by clients whose connections churn
// (cut at random and reconnected, protocol rule 4) against one jointly-server. The server's RSS
// is read every second under the same load and must stay flat: at the end at most the storage's
// memory budget (RocksDB's one cache for data blocks and memtables, 24 MiB, which fills as the
// store grows) and 24 MiB of allocator slack above the RSS after warm-up; and in a run of
// 10 minutes or more, growing by less than 12 MiB over its last third (a leak grows with the
// edits, a cache stops).
// The RSS once every document is reopened for the final check is reported too; its
// JSON log must hold no error-level line; at the end every client converges with the server and
// every ack names its own submission exactly once.
//
//   node --test tests/faults/soak.test.mjs
//   JOINTLY_LONG=1: 30 minutes (CI: 3 minutes); SOAK_SECONDS, SOAK_DOCS override.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';

import {
  LONG, RestartableServer, Tab, editLoop, errorLines, kNoRateLimit, makeRandom, quiesce, rssKiB, sleep,
  verifyDocument,
} from './faults_kit.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS || (LONG ? 1800 : 180));
const DOCS = Number(process.env.SOAK_DOCS || 200);
const WARMUP_S = Math.min(30, Math.max(5, SECONDS / 6));

describe('jointly-server soak', () => {
  const server = new RestartableServer([...kNoRateLimit, '--unload-after=5']);
  const tabs = [];
  after(async () => {
    for (const t of tabs) t.close();
    await server.stop('SIGKILL');
    if (server.dataDir) rmSync(path.dirname(server.dataDir), { recursive: true, force: true });
  });

  it(`edits ${DOCS} documents for ${SECONDS} s with churning connections; RSS flat, no error logged, all converge`, { timeout: (SECONDS + 300) * 1000 }, async () => {
    const rnd = makeRandom(4242);
    const s = await server.start();
    const docs = [];
    for (let i = 0; i < DOCS; i++) docs.push(await server.createDocument(`soak ${i}`));
    // Two clients per document, but only a moving tenth of the documents have theirs connected
    // at a time: the rest are closed (the document unloads) and come back later.
    for (const d of docs) for (let c = 0; c < 2; c++) tabs.push(new Tab(server, d, `c${c}`, rnd));
    const active = new Set();
    const activate = (t) => { if (!active.has(t)) { active.add(t); t.closed = false; t.connect(); } };
    const deactivate = (t) => { if (active.has(t) && t.idle) { active.delete(t); t.closed = true; t.ws.close(); } };
    for (const t of tabs.slice(0, tabs.length / 10)) activate(t);
    const started = Date.now();
    let rssStart = 0;
    let rssPeak = 0;
    const rssAt = []; // [seconds since start, KiB], once a second
    let churned = 0;
    let edits = 0;
    while (Date.now() - started < SECONDS * 1000) {
      const load = editLoop([...active].filter((t) => t.loaded), rnd, { pauseMs: [1, 6], cutRate: 0.01 });
      await sleep(1000);
      await load.stop();
      edits += load.edits();
      for (let i = 0; i < 4; i++) { deactivate(rnd.pick([...active])); activate(rnd.pick(tabs)); churned++; }
      const rss = rssKiB(s.proc.pid);
      rssAt.push([(Date.now() - started) / 1000, rss]);
      rssPeak = Math.max(rssPeak, rss);
      if (!rssStart && Date.now() - started >= WARMUP_S * 1000) rssStart = rssKiB(s.proc.pid);
    }
    const rssEnd = rssKiB(s.proc.pid); // the same load as at the start: a tenth connected
    const rssAtOrAfter = (t) => (rssAt.find(([at]) => at >= t) || [0, rssEnd])[1];
    const lastThirdGrowth = rssEnd - rssAtOrAfter(SECONDS * 2 / 3);
    const timeline = [];
    for (let i = 1; i <= 6; i++) timeline.push((rssAtOrAfter(SECONDS * i / 6) / 1024).toFixed(0));
    for (const t of tabs) activate(t); // everyone back for the final check
    const problems = await quiesce(server, tabs, 120000);
    let revisions = 0;
    let acked = 0;
    for (const d of docs) {
      const r = await verifyDocument(server, d, tabs.filter((t) => t.docId === d));
      problems.push(...r.problems);
      revisions += r.revisions;
      acked += r.acked;
    }
    for (const t of tabs) t.close();
    await sleep(500);
    const rssAll = rssKiB(s.proc.pid);
    const errors = errorLines(s.logs);
    const connects = tabs.reduce((n, t) => n + t.counts.connects, 0);
    console.log(`soak: ${SECONDS} s, ${DOCS} docs, ${edits} edits, ${revisions} revisions, ${acked} acks checked, ` +
      `${connects} connections (${churned} churned), RSS after ${WARMUP_S.toFixed(0)} s warm-up ${(rssStart / 1024).toFixed(1)} MiB, ` +
      `peak ${(rssPeak / 1024).toFixed(1)} MiB, end ${(rssEnd / 1024).toFixed(1)} MiB (${(rssAll / 1024).toFixed(1)} MiB after all ${DOCS} documents were reopened; at each sixth of the run ${timeline.join(', ')} MiB, ` +
      `last third +${(lastThirdGrowth / 1024).toFixed(1)} MiB), ${errors.length} error lines, ${problems.length} problems`);
    assert.deepEqual(problems.slice(0, 8), []);
    assert.deepEqual(errors.slice(0, 5), []);
    assert.ok(rssEnd < rssStart + (24 + 24) * 1024, `RSS ${rssStart} KiB after warm-up, ${rssEnd} KiB at the end`);
    if (SECONDS >= 600) assert.ok(lastThirdGrowth < 12 * 1024, `RSS grew ${lastThirdGrowth} KiB over the last third`);
  });
});
