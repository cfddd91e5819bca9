// IMAP APPEND refused by what the literal announces or holds, over a socket: over the quota before "+" (RFC 9208 4.3), NUL without literal8 (RFC 9051 4.3).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-hash.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { RawImap } from '../helpers/imap-raw.js';
import { startImapServer } from '../helpers/imap-server.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };

async function setup(): Promise<{ store: SqliteStore; port: number; bob: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-append-refusals-'));
  const store = openSqliteStore({ dataDir: dir });
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', await hashPassword('secret', { params: PARAMS })).id;
  const server = await startImapServer(store);
  after(async () => {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, port: server.port, bob };
}

async function login(port: number): Promise<RawImap> {
  const c = await RawImap.open(port);
  assert.equal((await c.command('LOGIN bob@example.test secret')).status, 'OK');
  return c;
}

function message(subject: string, size: number): Buffer {
  const head = `Subject: ${subject}\r\n\r\n`;
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - 2)) + '\r\n');
}

function inbox(store: SqliteStore, bob: number): number {
  return store.getMailbox(bob, 'INBOX')?.messageCount ?? -1;
}

describe('APPEND over the quota is refused before the literal (RFC 9208 4.3)', () => {
  test('a synchronising literal: NO [OVERQUOTA] instead of "+"; nothing stored; the connection goes on', async () => {
    const { store, port, bob } = await setup();
    store.setQuota('bob@example.test', { bytes: 1000 });
    const c = await login(port);
    const tag = c.nextTag();
    c.write(`${tag} APPEND INBOX {2000}\r\n`);
    // The client waits for "+": the answer must come without any of the 2000 octets.
    const first = await c.line();
    assert.match(first, new RegExp(`^${tag} NO \\[OVERQUOTA\\] `));
    assert.equal(inbox(store, bob), 0);
    // A message that fits is still taken (usage 0 of 1000).
    const small = message('fits', 300);
    const t2 = c.nextTag();
    c.write(`${t2} APPEND INBOX {${small.length}}\r\n`);
    assert.match(await c.line(), /^\+ /);
    c.write(Buffer.concat([small, Buffer.from('\r\n')]));
    assert.equal((await c.until(t2)).status, 'OK');
    // Now 300 of 1000 are used: 800 more would not fit, whatever deleting the rest could do ("full").
    const t3 = c.nextTag();
    c.write(`${t3} APPEND INBOX {800}\r\n`);
    assert.match(await c.line(), new RegExp(`^${t3} NO \\[OVERQUOTA\\] Mailbox quota exceeded`));
    assert.equal((await c.command('NOOP')).status, 'OK');
    assert.equal(inbox(store, bob), 1);
    c.close();
  });

  test('the message-count quota counts the announced messages too', async () => {
    const { store, port, bob } = await setup();
    store.setQuota('bob@example.test', { bytes: null, messages: 1 });
    const c = await login(port);
    const one = message('one', 100);
    const tag = c.nextTag();
    // MULTIAPPEND (RFC 3502): the first message is invited, the second would be the account's second.
    c.write(`${tag} APPEND INBOX {${one.length}}\r\n`);
    assert.match(await c.line(), /^\+ /);
    c.write(Buffer.concat([one, Buffer.from(` {${one.length}}\r\n`)]));
    assert.match(await c.line(), new RegExp(`^${tag} NO \\[OVERQUOTA\\] `));
    assert.equal((await c.command('NOOP')).status, 'OK');
    assert.equal(inbox(store, bob), 0, 'MULTIAPPEND is all or none');
    c.close();
  });

  test('non-synchronising literals (LITERAL+) are skipped, then NO, the connection in step; later MULTIAPPEND messages and CATENATE parts count (the receiver unit test pins that none is spooled)', async () => {
    const { store, port, bob } = await setup();
    store.setQuota('bob@example.test', { bytes: 1000 });
    const c = await login(port);
    const big = message('big', 1500);
    // Bytes that would be a command if the server lost step: they must be skipped with the literal.
    big.write('\r\nZ1 LOGOUT\r\n', 100, 'latin1');
    let tag = c.nextTag();
    c.write(
      Buffer.concat([Buffer.from(`${tag} APPEND INBOX {${big.length}+}\r\n`), big, Buffer.from('\r\n')]),
    );
    let r = await c.until(tag);
    assert.match(r.tagged, / NO \[OVERQUOTA\] /);
    // MULTIAPPEND: 600 + 600 octets; the second literal takes the command over 1000.
    const half = message('half', 600);
    tag = c.nextTag();
    c.write(
      Buffer.concat([
        Buffer.from(`${tag} APPEND INBOX {${half.length}+}\r\n`),
        half,
        Buffer.from(` {${half.length}+}\r\n`),
        half,
        Buffer.from('\r\n'),
      ]),
    );
    r = await c.until(tag);
    assert.match(r.tagged, / NO \[OVERQUOTA\] /);
    // CATENATE (RFC 4469): two TEXT parts of one message, 1200 octets together.
    tag = c.nextTag();
    c.write(
      Buffer.concat([
        Buffer.from(`${tag} APPEND INBOX CATENATE (TEXT {${half.length}+}\r\n`),
        half,
        Buffer.from(` TEXT {${half.length}+}\r\n`),
        half,
        Buffer.from(')\r\n'),
      ]),
    );
    r = await c.until(tag);
    assert.match(r.tagged, / NO \[OVERQUOTA\] /);
    assert.equal((await c.command('NOOP')).status, 'OK');
    assert.equal(inbox(store, bob), 0);
    c.close();
  });

  test('without a quota the same literals are invited and stored', async () => {
    const { store, port, bob } = await setup();
    const c = await login(port);
    const tag = c.nextTag();
    const big = message('big', 2000);
    c.write(`${tag} APPEND INBOX {${big.length}}\r\n`);
    assert.match(await c.line(), /^\+ /);
    c.write(Buffer.concat([big, Buffer.from('\r\n')]));
    assert.equal((await c.until(tag)).status, 'OK');
    assert.equal(inbox(store, bob), 1);
    c.close();
  });
});

describe('NUL in an APPEND literal (RFC 9051 4.3: literal is *CHAR8, no NUL; literal8 for binary)', () => {
  test('{n} with NUL: BAD, nothing stored, the connection in step; ~{n} with NUL is stored', async () => {
    const { store, port, bob } = await setup();
    const c = await login(port);
    const withNul = Buffer.from('Subject: nul\r\n\r\nbefore\0after\r\n', 'latin1');
    let tag = c.nextTag();
    c.write(`${tag} APPEND INBOX {${withNul.length}}\r\n`);
    assert.match(await c.line(), /^\+ /);
    c.write(Buffer.concat([withNul, Buffer.from('\r\n')]));
    let r = await c.until(tag);
    assert.equal(r.status, 'BAD', r.tagged);
    assert.match(r.tagged, /literal8/);
    assert.equal(inbox(store, bob), 0);
    // LITERAL+ and MULTIAPPEND: the later literal is skipped, the answer is still BAD.
    tag = c.nextTag();
    c.write(
      Buffer.concat([
        Buffer.from(`${tag} APPEND INBOX {${withNul.length}+}\r\n`),
        withNul,
        Buffer.from(` {${withNul.length}+}\r\n`),
        withNul,
        Buffer.from('\r\n'),
      ]),
    );
    r = await c.until(tag);
    assert.equal(r.status, 'BAD', r.tagged);
    assert.equal(inbox(store, bob), 0);
    // A synchronising second literal after the NUL one gets the BAD instead of "+".
    tag = c.nextTag();
    c.write(
      Buffer.concat([
        Buffer.from(`${tag} APPEND INBOX {${withNul.length}+}\r\n`),
        withNul,
        Buffer.from(' {10}\r\n'),
      ]),
    );
    r = await c.until(tag);
    assert.equal(r.status, 'BAD', r.tagged);
    assert.ok(!r.lines.some((l) => l.startsWith('+')), 'no continuation for the second literal');
    assert.equal((await c.command('NOOP')).status, 'OK');
    // RFC 3516 4.4: a literal8 may carry NUL (stored base64-encoded when it is in a binary part).
    tag = c.nextTag();
    c.write(`${tag} APPEND INBOX ~{${withNul.length}}\r\n`);
    assert.match(await c.line(), /^\+ /);
    c.write(Buffer.concat([withNul, Buffer.from('\r\n')]));
    r = await c.until(tag);
    assert.equal(r.status, 'OK', r.tagged);
    assert.equal(inbox(store, bob), 1);
    c.close();
  });
});
