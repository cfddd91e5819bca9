// Quota usage is exact after a crash (issue 12): SIGKILL while IMAP clients APPEND, COPY and EXPUNGE; stored usage = a recount.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { RawImap } from '../helpers/imap-raw.js';
import { usageMismatches } from '../../src/store/sqlite/quota.js';

let server: MailroomInstance | undefined;
after(async () => server?.cleanup());

const CLIENTS = 4;

test('SIGKILL mid-APPEND/COPY/EXPUNGE: the stored usage equals a recount, the quota held, user list --json agrees', async () => {
  server = await createMailroom({ enable: ['imap'] });
  const instance = server;
  instance.cli(['domain', 'add', 'example.test']);
  instance.cli(['user', 'add', 'bob@example.test', '--password', 'bob-password']);
  // Large enough that most APPENDs fit, small enough that some are refused before the kill.
  const QUOTA = 3 * 1024 * 1024;
  instance.cli(['user', 'quota', 'bob@example.test', '3M']);
  await instance.start();

  let stop = false;
  let acked = 0;
  let refused = 0;
  const client = async (n: number): Promise<void> => {
    const imap = await RawImap.open(instance.ports.imap!);
    try {
      await imap.command('LOGIN bob@example.test bob-password');
      await imap.command('SELECT INBOX');
      for (let i = 0; !stop && i < 400; i++) {
        // Sizes on both sides of the inline limit (64 KiB): rows with inline bodies and blob files.
        const size = 1000 + ((i * 7919 + n * 104729) % 120_000);
        const message = `Subject: ${n}-${i}\r\n\r\n${'x'.repeat(size)}`;
        const r = await imap.command(`APPEND INBOX {${Buffer.byteLength(message)}+}\r\n${message}`);
        if (r.status === 'OK') acked++;
        else if (/\[OVERQUOTA\]/.test(r.tagged)) refused++;
        if (n === 0 && i % 3 === 2) {
          await imap.command('COPY 1:2 Archive');
          await imap.command('STORE 1 +FLAGS.SILENT (\\Deleted)');
          await imap.command('EXPUNGE');
        }
      }
    } catch (e) {
      // The server was killed under us: expected.
      if (!stop) console.log('# client', n, String(e));
    } finally {
      imap.close();
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
  const started = Date.now();
  while (acked < 20 && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 20));
  assert.ok(acked >= 20, `only ${acked} APPENDs acknowledged`);
  await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
  stop = true;
  await instance.kill('SIGKILL');
  await Promise.all(clients);

  // Opening the database replays the WAL as the next start would; then the triggers' totals must be exact.
  const db = new Database(join(instance.dataDir, 'mailroom.db'));
  try {
    assert.deepEqual(usageMismatches(db), []);
    const usage = db.prepare('SELECT bytes, messages FROM account_usage').get() as {
      bytes: number;
      messages: number;
    };
    assert.ok(usage.messages > 0);
    assert.ok(usage.bytes <= QUOTA, `usage ${usage.bytes} over the quota ${QUOTA}`);
  } finally {
    db.close();
  }
  const listed = JSON.parse(instance.cli(['user', 'list', '--json'])) as {
    quota: { bytes: number } | null;
    usage: { bytes: number; messages: number };
  }[];
  assert.deepEqual(listed[0]!.quota, { bytes: QUOTA, messages: null });
  assert.ok(listed[0]!.usage.messages >= 1);
  // Figures for the report (not asserted): how far the load got.
  console.log(`# acked ${acked}, refused over quota ${refused}, usage ${listed[0]!.usage.bytes} octets`);
});
