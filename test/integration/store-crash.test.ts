// Crash test: SIGKILL a process delivering with 10 concurrent deliverers; every acknowledged id is stored exactly once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const CHILD = fileURLToPath(new URL('./store-crash-child.ts', import.meta.url));
const ROUNDS = 4;

/** Runs one child until it has acknowledged some deliveries, kills it at a random moment, returns the acked ids. */
async function runAndKill(dataDir: string, round: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, String(round), '10'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  // Wait for the first acknowledgement, then kill 0-400 ms later: anywhere in a batch's life.
  const started = Date.now();
  while (!out.includes('\nok ') && Date.now() - started < 12_000) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(out.includes('\nok '), `child never acknowledged a delivery: ${err}`);
  await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
  child.kill('SIGKILL');
  await exited;
  // Only complete lines count: a line cut by the kill was never an acknowledgement.
  const complete = out.slice(0, out.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((l) => l.startsWith('ok '))
    .map((l) => l.slice(3));
}

void test('SIGKILL during concurrent deliveries loses no acknowledged message and stores none twice', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailroom-crash-'));
  after(() => rm(dataDir, { recursive: true, force: true }));
  const acked: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) acked.push(...(await runAndKill(dataDir, round)));

  const store = openSqliteStore({ dataDir, inlineMaxBytes: 2048 });
  after(() => store.close());
  assert.equal(store.integrityCheck(), 'ok');
  const bob = store.getAccount('bob@example.test');
  assert.ok(bob);
  const inbox = store.getMailbox(bob.id, 'INBOX');
  assert.ok(inbox);
  const count = new Map<string, number>();
  const msgs = store.listMessages(inbox.id);
  for (const m of msgs) {
    const text = (await store.readMessage(m.messageId)).toString();
    const id = /\r\nX-Id: (\S+)\r\n/.exec(text)?.[1];
    assert.ok(id, `message ${m.uid} is whole: ${text.slice(0, 80)}`);
    assert.equal(text.length, m.size, 'stored size matches the bytes');
    count.set(id, (count.get(id) ?? 0) + 1);
  }
  assert.ok(acked.length >= ROUNDS, `enough acknowledged deliveries (${acked.length})`);
  const missing = acked.filter((id) => !count.has(id));
  assert.deepEqual(missing, [], 'every acknowledged message is in the mailbox');
  const doubled = [...count].filter(([, n]) => n !== 1);
  assert.deepEqual(doubled, [], 'none stored twice');
  assert.deepEqual(
    msgs.map((m) => m.uid),
    msgs.map((_, i) => i + 1),
    'UIDs are dense: no half-committed delivery',
  );
  assert.equal(inbox.uidNext, msgs.length + 1);
  // No orphans survive a reopen: the spool is empty and every blob file has its row.
  assert.deepEqual(readdirSync(join(dataDir, 'spool')), []);
  const db = new Database(join(dataDir, 'mailroom.db'), { readonly: true });
  const referenced = (
    db.prepare('SELECT file FROM blobs WHERE file IS NOT NULL').all() as { file: string }[]
  ).map((r) => r.file);
  db.close();
  assert.ok(referenced.length > 0, 'the file path for large bodies was exercised');
  assert.deepEqual(
    readdirSync(join(dataDir, 'blobs')).sort(),
    referenced.sort(),
    'blob files = referenced files',
  );
});
