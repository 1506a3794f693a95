// Storage failure (issue #9, "Faults"): the data directory lives on a small file system the
// test mounts (tmpfs of 8 MiB, else a loop-mounted ext4 image of 16 MiB); while clients edit,
// it is filled to the last byte. Then /healthz must turn 503 and clients be told
// (`storage_failed` errors, close 1011); and after the server is stopped, the space freed and
// the server started again on the same directory, every ack ever sent names its submission
// exactly once, the revisions are contiguous, all clients converge and `jointly-admin check`
// passes.
//
// Known server bug (a todo subtest below keeps it visible): on a full disk the server often
// dies of a RocksDB assertion (`sync_without_flush_called_`) instead of turning unhealthy.
// Nothing acknowledged is lost then either, which the main subtest still asserts.
//
// Read-only: `mount -o remount,ro` is refused while the server holds files open for writing
// ("mount point is busy"), so that fault would need device-mapper (dm-error); not done here.
//
// Mounting needs root (or a user namespace the harness cannot enter yet): when this machine
// allows no mount the test says so loudly and is skipped, or fails with
// JOINTLY_REQUIRE_FS_TESTS=1 (CI decides).
//
//   node --test tests/faults/storage.test.mjs      (JOINTLY_LONG=1: 5 rounds, CI: 1)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

import {
  LONG, RestartableServer, Tab, adminCheck, editLoop, kNoRateLimit, makeRandom, quiesce, sleep,
  verifyDocument,
} from './faults_kit.mjs';

const ROUNDS = LONG ? 5 : 1;
const REQUIRE = process.env.JOINTLY_REQUIRE_FS_TESTS === '1';
const root = mkdtempSync(path.join(os.tmpdir(), 'jointly-fs-'));
const mnt = path.join(root, 'mnt');
mkdirSync(mnt);

const run = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8' });

// Mounts a small file system on mnt; returns how, or null with the reasons in `tried`.
function mountSmall(tried) {
  let r = run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
  if (r.status === 0) return 'tmpfs 8 MiB';
  tried.push(`mount -t tmpfs: ${r.stderr.trim()}`);
  const img = path.join(root, 'fs.img');
  r = run('sh', ['-c', `truncate -s 16M ${img} && mkfs.ext4 -q ${img} && mount -o loop ${img} ${mnt}`]);
  if (r.status === 0) return 'loop ext4 16 MiB';
  tried.push(`loop-mounted ext4: ${r.stderr.trim()}`);
  return null;
}

// Writes a file until the file system is full; returns the bytes written.
function fill(file) {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let n = 0;
  try {
    for (;;) n += writeSync(fd, chunk);
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
    try { for (;;) n += writeSync(fd, chunk.subarray(0, 512)); } catch { /* the last bytes */ }
  } finally {
    closeSync(fd);
  }
  return n;
}

describe('jointly-server when its disk fills up', () => {
  const tried = [];
  const how = mountSmall(tried);
  after(() => {
    if (how) run('umount', ['-l', mnt]);
    rmSync(root, { recursive: true, force: true });
  });
  if (!how) {
    const msg = `NO FILE SYSTEM COULD BE MOUNTED: storage-failure tests NOT RUN (${tried.join('; ')})`;
    console.log(`storage: ${msg}`);
    if (REQUIRE) it('mounts a small file system (JOINTLY_REQUIRE_FS_TESTS=1)', () => assert.fail(msg));
    else it('storage failure', { skip: msg }, () => {});
    return;
  }

  const aborts = []; // rounds in which the server died of the RocksDB assertion
  it(`loses nothing acknowledged, tells clients and turns unhealthy when the disk is full (${how}, ${ROUNDS} round(s))`, { timeout: 300000 }, async () => {
    const server = new RestartableServer(kNoRateLimit);
    server.dataDir = path.join(mnt, 'data');
    const rnd = makeRandom(77);
    const tabs = [];
    const problems = [];
    const figures = [];
    try {
      await server.start();
      const docs = [];
      for (let i = 0; i < 4; i++) docs.push(await server.createDocument(`full ${i}`));
      for (const d of docs) for (let c = 0; c < 3; c++) tabs.push(new Tab(server, d, `c${c}`, rnd));
      for (const t of tabs) t.connect();
      for (let round = 1; round <= ROUNDS; round++) {
        const load = editLoop(tabs, rnd, { pauseMs: [0, 4] });
        await sleep(800);
        const acksBefore = tabs.reduce((n, t) => n + t.acked.size, 0);
        const broken = Date.now();
        const filled = fill(path.join(mnt, 'filler'));
        let unhealthyMs = -1;
        for (let i = 0; i < 200; i++) {
          const h = await fetch(`${server.current.http}/healthz`).catch(() => null);
          if (h && h.status === 503) { unhealthyMs = Date.now() - broken; break; }
          await sleep(50);
        }
        await sleep(500);
        await load.stop();
        const acksAfter = tabs.reduce((n, t) => n + t.acked.size, 0) - acksBefore;
        const refusedStorage = tabs.reduce((n, t) => n + t.counts.refused, 0);
        const closed1011 = tabs.reduce((n, t) => n + (t.counts.closes.get(1011) || 0), 0);
        const aborted = server.current.proc.signalCode === 'SIGABRT';
        if (aborted) {
          aborts.push(`round ${round}: ${server.current.logs.filter((l) => /Assertion|abort/i.test(l)).join(' ').slice(0, 300)}`);
        } else {
          if (unhealthyMs < 0) problems.push(`round ${round}: /healthz never turned 503 within 10 s`);
          if (closed1011 === 0) problems.push(`round ${round}: no client was closed with 1011`);
        }
        // Space back; a restart must recover.
        const stop = await server.stop('SIGTERM');
        rmSync(path.join(mnt, 'filler'));
        const check = adminCheck(server.dataDir);
        if (!check.ok) problems.push(`round ${round}: jointly-admin check failed: ${check.output.slice(0, 300)}`);
        await server.start();
        problems.push(...(await quiesce(server, tabs)).map((p) => `round ${round}: ${p}`));
        let revisions = 0;
        for (const d of docs) {
          const r = await verifyDocument(server, d, tabs.filter((t) => t.docId === d));
          problems.push(...r.problems.map((p) => `round ${round}: ${p}`));
          revisions += r.revisions;
        }
        const health = await fetch(`${server.current.http}/healthz`);
        if (health.status !== 200) problems.push(`round ${round}: /healthz ${health.status} after the restart`);
        figures.push(`round ${round}: ${(filled / 1048576).toFixed(1)} MiB filled, ${aborted ? 'SERVER ABORTED (RocksDB assertion), ' : ''}503 after ${unhealthyMs} ms, ` +
          `${acksAfter} acks after the failure (all verified stored), ${refusedStorage} edits reported unsaved, ` +
          `${closed1011} closes 1011, SIGTERM exit ${stop.code ?? stop.signal} in ${stop.ms} ms, ${revisions} revisions intact`);
      }
    } finally {
      for (const t of tabs) t.close();
      await server.stop('SIGKILL');
      rmSync(path.join(mnt, 'filler'), { force: true });
    }
    console.log(`storage (full, ${how}): ${figures.join('; ')}; ${aborts.length} aborts, ${problems.length} problems`);
    if (process.env.STORAGE_DEBUG) console.log(server.logsSeen.join('\n'));
    assert.deepEqual(problems.slice(0, 8), []);
  });

  it('does not abort when the disk fills (turns unhealthy instead)', {
    todo: 'server bug: RocksDB asserts sync_without_flush_called_ after a failed WAL write',
  }, () => {
    assert.deepEqual(aborts, []);
  });
});
