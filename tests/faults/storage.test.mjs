// Storage failure (issue #9, "Faults"): the data directory lives on a small file system the
// test mounts (tmpfs of 8 MiB, else a loop-mounted ext4 image of 16 MiB); while clients edit,
// it is filled to the last byte. The server runs with a free-space reserve of 1 MiB
// (--min-free-bytes): below it, it refuses submits with `storage_unavailable` before RocksDB
// sees them (the clients keep their ops and send them again) and /healthz answers 503. Then
// the space is freed with the server still running: /healthz must turn 200 again by itself
// and every client's edits be acknowledged. Last, the server is stopped and started again on
// the same directory: every ack ever sent names its submission exactly once, the revisions are
// contiguous, all clients converge and `jointly-admin check` passes. The server never aborts.
//
// A race the reserve cannot close: the filler may take the last megabyte between the server's
// free-space check and its WAL write. RocksDB's write then fails, the store refuses every write
// until it is reopened (`storage_failed`, close 1011, /healthz 503 "failed") and is reported
// as "refused clearly" below; a restart recovers it. (Before, RocksDB's own info log asserted on
// the line after such a failure and the server died of SIGABRT.)
//
// Read-only: `mount -o remount,ro` is refused while the server holds files open for writing
// ("mount point is busy"), so that fault would need device-mapper (dm-error); not done here.
// A write that fails for that reason takes the same path as the race above.
//
// Mounting needs root (or a user namespace the harness cannot enter yet): when this machine
// allows no mount the test says so loudly and is skipped, or fails with
// JOINTLY_REQUIRE_FS_TESTS=1 (CI decides).
//
//   node --test tests/faults/storage.test.mjs      (JOINTLY_LONG=1: 5 rounds, CI: 2)
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

const ROUNDS = LONG ? 5 : 2;
const RESERVE = 1 << 20; // --min-free-bytes
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

  const aborts = []; // rounds in which the server died (SIGABRT: the RocksDB assertion)
  it(`loses nothing acknowledged, refuses edits and turns unhealthy while the disk is full, recovers when space returns (${how}, ${ROUNDS} round(s))`, { timeout: 300000 }, async () => {
    const server = new RestartableServer([...kNoRateLimit, `--min-free-bytes=${RESERVE}`]);
    server.dataDir = path.join(mnt, 'data');
    const rnd = makeRandom(77);
    const tabs = [];
    const problems = [];
    const figures = [];
    const sum = (f) => tabs.reduce((n, t) => n + f(t), 0);
    const healthz = async () => {
      const h = await fetch(`${server.current.http}/healthz`).catch(() => null);
      return h ? { status: h.status, body: await h.json().catch(() => null) } : { status: 0, body: null };
    };
    let ackedTotal = 0;
    try {
      await server.start();
      const docs = [];
      for (let i = 0; i < 4; i++) docs.push(await server.createDocument(`full ${i}`));
      for (const d of docs) for (let c = 0; c < 3; c++) tabs.push(new Tab(server, d, `c${c}`, rnd));
      for (const t of tabs) t.connect();
      for (let round = 1; round <= ROUNDS; round++) {
        const load = editLoop(tabs, rnd, { pauseMs: [0, 4] });
        await sleep(800);
        const acksBefore = sum((t) => t.acked.size);
        const unavailableBefore = sum((t) => t.counts.unavailable);
        const closesBefore = sum((t) => t.counts.closes.get(1011) || 0);
        const broken = Date.now();
        const filled = fill(path.join(mnt, 'filler'));
        let unhealthyMs = -1;
        let unhealthy = null;
        for (let i = 0; i < 200; i++) {
          const h = await healthz();
          if (h.status === 503) { unhealthyMs = Date.now() - broken; unhealthy = h.body; break; }
          await sleep(50);
        }
        await sleep(1000); // editing goes on against the full disk
        const acksWhileFull = sum((t) => t.acked.size);
        await sleep(500);
        const acksLater = sum((t) => t.acked.size);
        const unavailable = sum((t) => t.counts.unavailable) - unavailableBefore;
        const closed1011 = sum((t) => t.counts.closes.get(1011) || 0) - closesBefore;
        const failedStore = /failed/.test(unhealthy?.error ?? '');
        if (server.current.proc.signalCode) {
          aborts.push(`round ${round}: ${server.current.proc.signalCode} ${server.current.logs.filter((l) => /Assertion|abort/i.test(l)).join(' ').slice(0, 300)}`);
        } else {
          if (unhealthyMs < 0) problems.push(`round ${round}: /healthz never turned 503 within 10 s`);
          if (unavailable + closed1011 === 0) problems.push(`round ${round}: no client was told (no storage_unavailable, no close 1011)`);
          if (!failedStore && acksLater !== acksWhileFull) problems.push(`round ${round}: ${acksLater - acksWhileFull} acks while the disk was full`);
        }
        // Space back, the server still running: it writes again by itself (unless the race made
        // RocksDB's own write fail: then it refuses until restarted).
        rmSync(path.join(mnt, 'filler'));
        let recoveredMs = -1;
        if (!failedStore && !server.current.proc.signalCode) {
          const freed = Date.now();
          for (let i = 0; i < 100; i++) {
            if ((await healthz()).status === 200) { recoveredMs = Date.now() - freed; break; }
            await sleep(50);
          }
          if (recoveredMs < 0) problems.push(`round ${round}: /healthz still 503 5 s after space returned`);
        }
        const acksBeforeQuiet = sum((t) => t.acked.size);
        await sleep(600);
        await load.stop();
        if (recoveredMs >= 0) {
          problems.push(...(await quiesce(server, tabs)).map((p) => `round ${round} (no restart): ${p}`));
          if (sum((t) => t.acked.size) === acksBeforeQuiet) problems.push(`round ${round}: no ack after space returned`);
          for (const d of docs) {
            const r = await verifyDocument(server, d, tabs.filter((t) => t.docId === d));
            problems.push(...r.problems.map((p) => `round ${round} (no restart): ${p}`));
          }
        }
        const acksAfter = sum((t) => t.acked.size) - acksBefore;
        // A restart on the same directory must find everything acknowledged.
        const stop = await server.stop('SIGTERM');
        if (stop.signal && stop.signal !== 'SIGTERM') aborts.push(`round ${round}: stopped by ${stop.signal}`);
        const check = adminCheck(server.dataDir);
        if (!check.ok) problems.push(`round ${round}: jointly-admin check failed: ${check.output.slice(0, 300)}`);
        await server.start();
        problems.push(...(await quiesce(server, tabs)).map((p) => `round ${round}: ${p}`));
        let revisions = 0;
        let acked = 0;
        for (const d of docs) {
          const r = await verifyDocument(server, d, tabs.filter((t) => t.docId === d));
          problems.push(...r.problems.map((p) => `round ${round}: ${p}`));
          revisions += r.revisions;
          acked += r.acked;
        }
        ackedTotal = acked;
        const health = await healthz();
        if (health.status !== 200) problems.push(`round ${round}: /healthz ${health.status} after the restart`);
        figures.push(`round ${round}: ${(filled / 1048576).toFixed(1)} MiB filled, 503 after ${unhealthyMs} ms (${unhealthy?.error?.split(':')[0] ?? '-'}), ` +
          `${unavailable} submits refused storage_unavailable, ${closed1011} closes 1011, ` +
          (failedStore ? 'RocksDB write failed (race): refused until restart, ' : `200 again ${recoveredMs} ms after space returned, `) +
          `${acksAfter} acks in the round, SIGTERM exit ${stop.code ?? stop.signal} in ${stop.ms} ms, ${revisions} revisions intact`);
      }
    } finally {
      for (const t of tabs) t.close();
      if (server.current?.proc.signalCode) aborts.push(`finally: ${server.current.proc.signalCode}`);
      await server.stop('SIGKILL');
      rmSync(path.join(mnt, 'filler'), { force: true });
    }
    const lost = problems.filter((p) => /acknowledged as revision/.test(p)).length;
    console.log(`storage (full, ${how}): ${figures.join('; ')}; ${ackedTotal} acks verified stored, ${lost} lost, ${aborts.length} aborts, ${problems.length} problems`);
    if (process.env.STORAGE_DEBUG) console.log(server.logsSeen.join('\n'));
    assert.deepEqual(problems.slice(0, 8), []);
  });

  it('never aborts when the disk fills', () => {
    assert.deepEqual(aborts, []);
  });
});
