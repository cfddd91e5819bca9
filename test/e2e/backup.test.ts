// Backup while mail arrives, restore into an empty data_dir: every message acknowledged before the backup began is there, whole.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { CLI, createMailroom, runCli, type MailroomInstance } from '../helpers/mailroom-process.js';
import { inboxOf } from '../helpers/mailbox.js';

const MESSAGES = 1_000;
const CLIENTS = 8;
/** Every 50th message is larger than the inline limit (64 KiB), so it lives in a blob file. */
const BIG_EVERY = 50;

let server: MailroomInstance | undefined;
const dirs: string[] = [];
after(async () => {
  await server?.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function cli(args: string[], configPath: string) {
  return spawnSync(process.execPath, [CLI, ...args, '--config', configPath], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const bodyOf = (n: number) =>
  n % BIG_EVERY === 0
    ? `big ${n}\n${`${'0123456789abcdef'.repeat(4)}\n`.repeat(1_200)}`
    : `message ${n}\n`.repeat(10);

test('backup during a 1,000-message delivery loop; restore; every message acknowledged before it is present and whole', async () => {
  server = await createMailroom();
  const instance = server;
  instance.cli(['domain', 'add', 'example.test']);
  instance.cli(['user', 'add', 'bob@example.test', '--password', 'a long password']);
  await instance.start();
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: instance.ports.smtp,
    name: 'load.example.net',
    ignoreTLS: true,
    pool: true,
    maxConnections: CLIENTS,
  });
  const acked = new Set<number>();
  let next = 0;
  let ackedAtBackup: Set<number> | null = null;
  let backup: { status: number | null; stdout: string; stderr: string } | null = null;
  const backupDir = join(mkdtempSync(join(tmpdir(), 'mailroom-backup-')), 'copy');
  dirs.push(join(backupDir, '..'));
  const senders = Array.from({ length: CLIENTS }, async () => {
    while (next < MESSAGES) {
      const n = next++;
      await transport.sendMail({
        from: 'load@remote.example',
        to: 'bob@example.test',
        subject: `backup ${n}`,
        text: bodyOf(n),
      });
      acked.add(n);
    }
  });
  // The backup runs in its own process (as an admin would run it) once a third has arrived, while the rest arrive.
  const backupTaken = (async () => {
    while (acked.size < MESSAGES / 3) await new Promise((r) => setTimeout(r, 20));
    ackedAtBackup = new Set(acked);
    // Not spawnSync: the senders must keep sending while the backup runs.
    backup = await runCli(['backup', backupDir, '--json'], instance.configPath);
  })();
  await Promise.all([...senders, backupTaken]);
  transport.close();
  assert.equal(acked.size, MESSAGES);
  const taken = backup as { status: number | null; stdout: string; stderr: string } | null;
  assert.equal(taken?.status, 0, taken?.stderr);
  const manifest = JSON.parse(taken?.stdout ?? '{}') as { messages: number; blob_files: number };
  const before = ackedAtBackup as Set<number> | null;
  assert.ok(before && manifest.messages >= before.size, `${manifest.messages} messages in the backup`);
  assert.ok(manifest.blob_files >= 1, 'big messages are blob files');
  // Everything in the backup is private (0600 files, 0700 folders).
  assert.equal(statSync(join(backupDir, 'mailroom.db')).mode & 0o777, 0o600);
  assert.equal(statSync(join(backupDir, 'blobs')).mode & 0o777, 0o700);

  // Restore into an empty data_dir of another config, then read every message there.
  const restoredRoot = mkdtempSync(join(tmpdir(), 'mailroom-restored-'));
  dirs.push(restoredRoot);
  const restoredConfig = join(restoredRoot, 'mailroom.toml');
  writeFileSync(restoredConfig, `hostname = "mx.example.test"\ndata_dir = "${join(restoredRoot, 'data')}"\n`);
  const restored = cli(['restore', backupDir], restoredConfig);
  assert.equal(restored.status, 0, restored.stderr);
  assert.match(restored.stdout, /integrity ok/);
  const messages = await inboxOf({ dataDir: join(restoredRoot, 'data') }, 'bob@example.test');
  const bySubject = new Map(messages.map((m) => [/^Subject: backup (\d+)$/m.exec(m)?.[1], m]));
  for (const n of before ?? []) {
    const text = bySubject.get(String(n));
    assert.ok(text, `message ${n}, acknowledged before the backup, is in the restored data_dir`);
    assert.ok(text.replace(/\r\n/g, '\n').includes(bodyOf(n).slice(0, 200)), `message ${n} is whole`);
  }
  const big = [...bySubject.entries()].find(([n]) => Number(n) % BIG_EVERY === 0);
  assert.ok(big && big[1].length > 70_000, 'a blob-file message reads back whole');

  // A second restore into the now-filled data_dir is refused; so is a folder that is not a finished backup.
  const again = cli(['restore', backupDir], restoredConfig);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /is not empty/);
  const unfinished = mkdtempSync(join(tmpdir(), 'mailroom-unfinished-'));
  dirs.push(unfinished);
  const other = join(restoredRoot, 'other.toml');
  writeFileSync(other, `hostname = "mx.example.test"\ndata_dir = "${join(restoredRoot, 'data2')}"\n`);
  const bad = cli(['restore', unfinished], other);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /not a finished backup/);
  assert.equal(
    existsSync(join(restoredRoot, 'data2')) && readdirSync(join(restoredRoot, 'data2')).length > 0,
    false,
  );
});
