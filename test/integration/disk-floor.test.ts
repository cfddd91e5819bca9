// The free-space floor over real sockets (issue 8 item 6): startServer with a fake probe; SMTP MAIL 452 4.3.1, IMAP APPEND NO [OVERQUOTA], recovery, one log line per crossing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer } from '../../src/server/serve.js';
import { RawImap } from '../helpers/imap-raw.js';
import { SmtpLines } from '../helpers/smtp-lines.js';

const GiB = 1024 ** 3;
const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

test('below min_free_space: MAIL 452 4.3.1 and APPEND NO [OVERQUOTA] before the literal; recovery by itself; one log line each way', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-disk-'));
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
  const usage = { free: 50 * GiB, total: 100 * GiB }; // the default floor here: min(1 GiB, 5 GiB) = 1 GiB
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      '[smtp]\nlisten = ["127.0.0.1:0"]',
      ...['submission', 'submissions', 'pop3', 'pop3s', 'imaps', 'http', 'https', 'metrics'].map(
        (l) => `[${l}]\nlisten = []`,
      ),
      '[imap]\nlisten = ["127.0.0.1:0"]',
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  let probes = 0;
  const server = await startServer({
    config,
    logger,
    shutdownGraceMs: 200,
    freeSpaceProbe: async () => {
      probes++;
      return { ...usage };
    },
  });
  const smtpPort = server.addresses.smtp![0]!.port;
  const imapPort = server.addresses.imap![0]!.port;
  const storageEvents = () =>
    logs.map((l) => l.event).filter((e) => e === 'storage-low' || e === 'storage-ok');
  try {
    server.store.addDomain('example.test');
    server.store.addAccount('bob@example.test', await hashPassword('secret', { params: PARAMS }));
    const smtp = await SmtpLines.open(smtpPort);
    assert.match(await smtp.send('EHLO client.test'), /^250 /);
    assert.match(await smtp.send('MAIL FROM:<a@remote.test>'), /^250 2\.1\.0/);
    assert.match(await smtp.send('RSET'), /^250 /);
    const imap = await RawImap.open(imapPort);
    assert.equal((await imap.command('LOGIN bob@example.test secret')).status, 'OK');

    usage.free = 900 * 1024 * 1024; // below 1 GiB
    await sleep(1_100); // the cache is at most a second old
    for (let i = 0; i < 5; i++) {
      assert.equal(await smtp.send('MAIL FROM:<a@remote.test>'), '452 4.3.1 Insufficient system storage');
    }
    assert.match(await smtp.send('RCPT TO:<bob@example.test>'), /^503 /); // no transaction was started
    // A synchronising literal is refused before "+": the client never sends the message.
    const tag = imap.nextTag();
    imap.write(`${tag} APPEND INBOX {5}\r\n`);
    const refused = await imap.until(tag);
    assert.deepEqual(refused.lines, []);
    assert.equal(refused.tagged, `${tag} NO [OVERQUOTA] Insufficient system storage`);
    // A non-synchronising one (RFC 7888) is read and dropped; the next command is in step.
    const tag2 = imap.nextTag();
    imap.write(`${tag2} APPEND INBOX {5+}\r\nhello\r\n`);
    assert.match((await imap.until(tag2)).tagged, /^T\d+ NO \[OVERQUOTA\]/);
    assert.equal((await imap.command('NOOP')).status, 'OK');
    assert.deepEqual(storageEvents(), ['storage-low']); // once, not once per refusal

    usage.free = 2 * GiB;
    await sleep(1_300); // while low the guard polls by itself: recovery needs no client
    assert.deepEqual(storageEvents(), ['storage-low', 'storage-ok']);
    assert.match(await smtp.send('MAIL FROM:<a@remote.test>'), /^250 2\.1\.0/);
    assert.match(await smtp.send('RCPT TO:<bob@example.test>'), /^250 /);
    assert.match(await smtp.send('DATA'), /^354 /);
    assert.match(await smtp.send(`Subject: back\r\n\r\n${'x'.repeat(5000)}\r\n.`), /^250 2\.0\.0 OK queued/);
    const tag3 = imap.nextTag();
    imap.write(`${tag3} APPEND INBOX {5+}\r\nhello\r\n`);
    assert.match((await imap.until(tag3)).tagged, /^T\d+ OK \[APPENDUID /);
    assert.ok(probes < 20, `probes are cached, not one per command: ${probes}`);
    smtp.close();
    imap.close();
  } finally {
    await server.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a 999-character and a 40 KiB body line are delivered over a socket; a 70 KiB one is refused after the dot', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-lines-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      '[smtp]\nlisten = ["127.0.0.1:0"]',
      ...['submission', 'submissions', 'pop3', 'pop3s', 'imap', 'imaps', 'http', 'https', 'metrics'].map(
        (l) => `[${l}]\nlisten = []`,
      ),
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  const server = await startServer({
    config,
    logger: createLogger({ level: 'silent' }),
    shutdownGraceMs: 200,
    freeSpaceProbe: async () => ({ free: 50 * GiB, total: 100 * GiB }),
  });
  try {
    server.store.addDomain('example.test');
    const bob = server.store.addAccount('bob@example.test', 'unused').id;
    const smtp = await SmtpLines.open(server.addresses.smtp![0]!.port);
    await smtp.send('EHLO client.test');
    const send = async (line: string) => {
      await smtp.send('MAIL FROM:<a@remote.test>');
      await smtp.send('RCPT TO:<bob@example.test>');
      await smtp.send('DATA');
      return smtp.send(`Subject: long\r\n\r\n${line}\r\nend\r\n.`);
    };
    assert.match(await send('a'.repeat(999)), /^250 2\.0\.0/);
    assert.match(await send('b'.repeat(40 * 1024)), /^250 2\.0\.0/);
    assert.match(await send('c'.repeat(70 * 1024)), /^500 5\.5\.6/);
    assert.match(await smtp.send('NOOP'), /^250 /); // in step after the refusal
    assert.equal(server.store.getMailbox(bob, 'INBOX')?.messageCount, 2);
    smtp.close();
  } finally {
    await server.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});
