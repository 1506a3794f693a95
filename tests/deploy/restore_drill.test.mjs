// The restore drill of deploy/README.md ("Backup and restore"), run for real: deploy/backup.sh
// backs up a live server's store while clients edit, keeps the newest JOINTLY_BACKUP_KEEP
// backups, and a store restored from the newest one with `jointly-admin restore` serves every
// edit acknowledged before the backup started, exactly once, and passes `jointly-admin check`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import {
  adminBin, joinDocument, repoRoot, startServer, submitAndAck, tempDir,
} from '../server/server_harness.mjs';

const backupScript = path.join(repoRoot, 'deploy', 'backup.sh');

function backup(dataDir, backupDir, keep) {
  const r = spawnSync(backupScript, [], {
    encoding: 'utf8',
    env: { ...process.env, JOINTLY_DATA: dataDir, JOINTLY_BACKUP_DIR: backupDir,
      JOINTLY_BACKUP_KEEP: String(keep), JOINTLY_ADMIN: adminBin },
  });
  assert.equal(r.status, 0, `backup.sh failed (${r.status}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

function admin(...args) {
  const r = spawnSync(adminBin, args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

it('backs up a live store and restores every acknowledged edit', async () => {
  const dir = tempDir('jointly-drill-');
  const dataDir = path.join(dir, 'data');
  const backupDir = path.join(dir, 'backups');
  const restoredDir = path.join(dir, 'restored');
  const server = await startServer({ dataDir });
  const beforeBackup = [];  // markers acknowledged before the last backup started
  try {
    const { c, snapshot } = await joinDocument(server, { client: 'drill' });
    let rev = snapshot.rev;
    let seq = 0;
    const type = async (n, into) => {
      for (let i = 0; i < n; i++) {
        const marker = `<${++seq}>`;
        const ack = await submitAndAck(c, { rev, seq, op: [{ edit: 'vision', f: 'title', op: [marker] }] });
        assert.equal(ack.type, 'ack', JSON.stringify(ack));
        rev = ack.rev;
        if (into) into.push(marker);
      }
    };
    // Three backups while editing goes on; only the newest two are kept.
    for (let round = 0; round < 3; round++) {
      await type(15, beforeBackup);
      const editing = type(15, null);  // goes on during the backup
      backup(dataDir, backupDir, 2);
      await editing;
    }
    const kept = readdirSync(backupDir).filter((n) => n.startsWith('jointly-')).sort();
    assert.equal(kept.length, 2, `kept ${kept.join(', ')}`);
    assert.equal(readdirSync(backupDir).filter((n) => n.endsWith('.partial')).length, 0);

    const stopped = await server.stop('SIGTERM');
    assert.equal(stopped.code, 0);

    const restored = admin('restore', '--from', path.join(backupDir, kept[1]), '--data', restoredDir);
    assert.equal(restored.status, 0, restored.out);
    const check = admin('check', '--data', restoredDir);
    assert.equal(check.status, 0, check.out);
    // The demo logins are a plain file beside the store, not part of it: an operator keeps
    // credentials separately; the drill copies them to log in.
    copyFileSync(path.join(dataDir, 'demo-logins.txt'), path.join(restoredDir, 'demo-logins.txt'));
  } finally {
    server.cleanup();
  }

  const again = await startServer({ dataDir: restoredDir });
  try {
    const doc = await again.fetch('/api/documents/1').then((r) => r.json());
    const title = doc.snapshot.sections.find((s) => s.id === 'vision').title;
    for (const marker of beforeBackup) {
      assert.equal(title.split(marker).length - 1, 1, `${marker} must be in the restored store exactly once`);
    }
    // The restored store takes new edits.
    const { c, snapshot } = await joinDocument(again, { client: 'after-restore' });
    const ack = await submitAndAck(c, { rev: snapshot.rev, seq: 1, op: [{ edit: 'vision', f: 'title', op: ['<restored>'] }] });
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    assert.equal(ack.rev, snapshot.rev + 1);
    c.close();
    console.log(`restore drill: ${beforeBackup.length} edits acknowledged before backups, all restored once; 3 backups taken, 2 kept`);
  } finally {
    again.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
