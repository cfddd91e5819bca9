// Storage quotas over real sockets (issue 12): SMTP 452 4.2.2 / 552 5.2.2 rows, partial delivery through the queue's local path, IMAP, POP3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer } from '../../src/server/serve.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { RawImap } from '../helpers/imap-raw.js';
import { SmtpLines } from '../helpers/smtp-lines.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function waitFor(what: string, check: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A minimal POP3 client: one command, its status line (and a multi-line answer up to "."). */
async function pop3(port: number) {
  const socket = connect(port, '127.0.0.1');
  let buffer = '';
  socket.on('data', (d: Buffer) => (buffer += d.toString('latin1')));
  const read = async (multi: boolean): Promise<string> => {
    const end = multi ? '\r\n.\r\n' : '\r\n';
    await waitFor('a POP3 reply', () => buffer.includes(end) || buffer.startsWith('-ERR'), 5000);
    const at =
      buffer.indexOf(buffer.startsWith('-ERR') ? '\r\n' : end) + (buffer.startsWith('-ERR') ? 2 : end.length);
    const out = buffer.slice(0, at);
    buffer = buffer.slice(at);
    return out;
  };
  await read(false);
  return {
    async send(line: string, multi = false): Promise<string> {
      socket.write(`${line}\r\n`);
      return read(multi);
    },
    close: () => socket.destroy(),
  };
}

test('SMTP and IMAP at the quota: RCPT 452 4.2.2, DATA 452 4.2.2 / 552 5.2.2, others still get it, the queue retries the full one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-quota-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      '[smtp]\nlisten = ["127.0.0.1:0"]',
      '[imap]\nlisten = ["127.0.0.1:0"]',
      '[pop3]\nlisten = ["127.0.0.1:0"]',
      ...['submission', 'submissions', 'pop3s', 'imaps', 'http', 'https', 'metrics'].map(
        (l) => `[${l}]\nlisten = []`,
      ),
      // DSNs to the remote sender go nowhere (loopback, closed port): they stay queued.
      '[outbound]\nroutes = { "remote.test" = "127.0.0.1:1" }',
      '[queue]\nretry_intervals = ["1s"]',
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  const logger = createLogger({ destination: { write: () => undefined } });
  const server = await startServer({ config, logger, shutdownGraceMs: 200 });
  const store = server.store;
  try {
    store.addDomain('example.test');
    const bob = store.addAccount('bob@example.test', await hashPassword('secret', { params: PARAMS })).id;
    const carol = store.addAccount('carol@example.test', 'x').id;
    store.setQuota('bob@example.test', { bytes: 2000 });
    const inbox = (id: number) => store.listMessages(store.getMailbox(id, 'INBOX')!.id);
    const smtp = await SmtpLines.open(server.addresses.smtp![0]!.port);
    assert.match(await smtp.send('EHLO client.test'), /^250 /);
    const send = async (from: string, to: string[], bodyBytes: number) => {
      assert.match(await smtp.send(`MAIL FROM:<${from}>`), /^250 /);
      for (const r of to) assert.match(await smtp.send(`RCPT TO:<${r}>`), /^250 /);
      assert.match(await smtp.send('DATA'), /^354 /);
      return smtp.send(`Subject: q\r\n\r\n${'x'.repeat(bodyBytes)}\r\n.`);
    };

    // Larger than the whole quota: 552 5.2.2 at the end of DATA (retrying cannot help), nothing stored.
    assert.equal(
      await send('a@remote.test', ['bob@example.test'], 3000),
      '552 5.2.2 Message exceeds the mailbox quota',
    );
    assert.equal(inbox(bob).length, 0);
    // Fits the quota but not what is left: 452 4.2.2 (RFC 3463 X.2.2 mailbox full).
    assert.match(await send('a@remote.test', ['bob@example.test'], 1200), /^250 /);
    assert.equal(
      await send('a@remote.test', ['bob@example.test'], 900),
      '452 4.2.2 Mailbox full, try again later',
    );
    assert.equal(inbox(bob).length, 1);
    // At or over the quota already: refused at RCPT, before any data.
    store.setQuota('bob@example.test', { bytes: 1000 });
    assert.match(await smtp.send('MAIL FROM:<a@remote.test>'), /^250 /);
    assert.equal(await smtp.send('RCPT TO:<bob@example.test>'), '452 4.2.2 Mailbox full, try again later');
    assert.match(await smtp.send('RCPT TO:<carol@example.test>'), /^250 /);
    assert.match(await smtp.send('RSET'), /^250 /);

    // Several recipients: carol gets it at once, bob's copy waits in the queue (deferred 4.2.2) ...
    store.setQuota('bob@example.test', { bytes: 2000 });
    assert.match(await send('', ['bob@example.test', 'carol@example.test'], 900), /^250 /);
    assert.equal(inbox(carol).length, 1);
    const bobQueued = () =>
      store.listQueue().flatMap((q) => q.recipients.filter((r) => r.address === 'bob@example.test'));
    await waitFor(
      'a first local attempt',
      () => bobQueued()[0]?.lastError !== null && bobQueued()[0]?.lastError !== undefined,
    );
    assert.equal(bobQueued()[0]!.state, 'deferred');
    assert.match(bobQueued()[0]!.lastError!, /^452 4\.2\.2 /);
    // ... and is delivered once bob has made room (the next retry, a second later).
    const imap = await RawImap.open(server.addresses.imap![0]!.port);
    assert.equal((await imap.command('LOGIN bob@example.test secret')).status, 'OK');
    const root = await imap.command('GETQUOTAROOT INBOX');
    assert.deepEqual(root.lines, ['* QUOTAROOT "INBOX" ""', '* QUOTA "" (STORAGE 2 1)']);
    const appended = await imap.command(`APPEND INBOX {700+}\r\n${'y'.repeat(700)}`);
    assert.match(appended.tagged, /^T\d+ NO \[OVERQUOTA\] Mailbox quota exceeded$/);
    await imap.command('SELECT INBOX');
    await imap.command('STORE 1 +FLAGS.SILENT (\\Deleted)');
    assert.equal((await imap.command('EXPUNGE')).status, 'OK');
    await waitFor('bob to get the queued copy', () => inbox(bob).length === 1 && bobQueued().length === 0);

    // Too big for bob alone, with carol: carol has it, bob's recipient fails 552 5.2.2 (a DSN to the sender).
    assert.match(await send('a@remote.test', ['bob@example.test', 'carol@example.test'], 3000), /^250 /);
    assert.equal(inbox(carol).length, 2);
    const dsnEntry = () =>
      store.listQueue().find((q) => q.sender === '' && q.recipients[0]?.address === 'a@remote.test');
    await waitFor('the DSN', () => dsnEntry() !== undefined && bobQueued().length === 0);
    const dsn = (await store.queue.readMessage(dsnEntry()!.id)).toString();
    assert.match(dsn, /Final-Recipient: rfc822; ?bob@example\.test/i);
    assert.match(dsn, /Status: 5\.2\.2/);
    assert.equal(inbox(bob).length, 1);
    assert.deepEqual((store as SqliteStore).usageMismatches(), []);
    imap.close();

    // POP3 over the quota still reads and deletes (RFC 1939), which brings the account back under it.
    store.setQuota('bob@example.test', { bytes: 100 });
    const pop = await pop3(server.addresses.pop3![0]!.port);
    assert.match(await pop.send('USER bob@example.test'), /^\+OK/);
    assert.match(await pop.send('PASS secret'), /^\+OK/);
    assert.match(await pop.send('RETR 1', true), /^\+OK[^]*\r\n\.\r\n$/);
    assert.match(await pop.send('DELE 1'), /^\+OK/);
    assert.match(await pop.send('QUIT'), /^\+OK/);
    await waitFor('the POP3 deletion', () => store.quotaOf(bob)!.messages === 0);
    assert.equal(store.quotaOf(bob)!.bytes, 0);
    pop.close();
    smtp.close();
  } finally {
    await server.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});
