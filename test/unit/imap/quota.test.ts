// IMAP QUOTA (RFC 9208): capabilities, GETQUOTA/GETQUOTAROOT/SETQUOTA, APPEND/COPY NO [OVERQUOTA], MOVE and EXPUNGE still work.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseImapCommand } from '../../../src/imap/proto/command-parser.js';
import { deliverText, imapSession, openTestStore } from '../../helpers/imap-session.js';

const raw = (line: string) => ({ segments: [Buffer.from(line)], literals: [] });

describe('QUOTA command syntax (RFC 9208 7)', () => {
  test('RFC rows, then hostile ones', () => {
    assert.deepEqual(parseImapCommand(raw('A003 GETQUOTA ""')), { name: 'GETQUOTA', root: '', tag: 'A003' });
    assert.deepEqual(parseImapCommand(raw('A003 GETQUOTAROOT INBOX')), {
      name: 'GETQUOTAROOT',
      mailbox: 'INBOX',
      tag: 'A003',
    });
    assert.deepEqual(parseImapCommand(raw('A001 SETQUOTA "" (STORAGE 512)')), {
      name: 'SETQUOTA',
      root: '',
      limits: [{ resource: 'STORAGE', limit: 512 }],
      tag: 'A001',
    });
    assert.deepEqual((parseImapCommand(raw('A1 SETQUOTA "" ()')) as { limits: unknown[] }).limits, []);
    for (const bad of [
      'A1 GETQUOTA',
      'A1 GETQUOTA "" x',
      'A1 SETQUOTA "" (STORAGE)',
      'A1 SETQUOTA "" (STORAGE -1)',
      'A1 SETQUOTA "" STORAGE 1',
      'A1 SETQUOTA "" ("x y" 1)',
      'A1 SETQUOTA "" (STORAGE 99999999999999999999)',
    ]) {
      assert.equal((parseImapCommand(raw(bad)) as { kind?: string }).kind, 'parse-error', bad);
    }
  });
});

describe('QUOTA in a session', () => {
  test('capabilities after login; no quota: QUOTAROOT with no root, GETQUOTA NO', async () => {
    const { store } = await openTestStore();
    const send = imapSession(store);
    assert.doesNotMatch(await send('a CAPABILITY'), /QUOTA/);
    await send('b LOGIN bob@example.test x');
    assert.match(await send('c CAPABILITY'), / QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE/);
    assert.equal(
      await send('d GETQUOTAROOT INBOX'),
      '* QUOTAROOT "INBOX"\r\nd OK GETQUOTAROOT completed\r\n',
    );
    assert.match(await send('e GETQUOTA ""'), /^e NO \[NONEXISTENT\]/m);
  });

  test('GETQUOTAROOT and GETQUOTA: STORAGE in KiB (usage rounded up), MESSAGE in messages; SETQUOTA refused', async () => {
    const { store, bob } = await openTestStore();
    store.setQuota('bob@example.test', { bytes: 10 * 1024 + 1000, messages: 50 });
    await deliverText(store, bob, 'Subject: a\r\n\r\n' + 'x'.repeat(1500) + '\r\n');
    const send = imapSession(store);
    await send('a LOGIN bob@example.test x');
    assert.equal(
      await send('b GETQUOTAROOT INBOX'),
      '* QUOTAROOT "INBOX" ""\r\n* QUOTA "" (STORAGE 2 10 MESSAGE 1 50)\r\nb OK GETQUOTAROOT completed\r\n',
    );
    assert.equal(
      await send('c GETQUOTA ""'),
      '* QUOTA "" (STORAGE 2 10 MESSAGE 1 50)\r\nc OK GETQUOTA completed\r\n',
    );
    assert.match(await send('d GETQUOTA "other"'), /^d NO \[NONEXISTENT\]/m);
    assert.match(await send('e GETQUOTAROOT Nope'), /^e NO \[NONEXISTENT\]/m);
    assert.match(await send('f SETQUOTA "" (STORAGE 999999)'), /^f NO \[NOPERM\]/m);
    assert.match(await send('g GETQUOTA ""'), /STORAGE 2 10 /);
  });

  test('STATUS DELETED-STORAGE (RFC 9208 4.3): the octets an EXPUNGE would give back', async () => {
    const { store, bob } = await openTestStore();
    await deliverText(store, bob, 'Subject: a\r\n\r\n' + 'x'.repeat(900) + '\r\n');
    await deliverText(store, bob, 'Subject: b\r\n\r\n' + 'y'.repeat(100) + '\r\n');
    const send = imapSession(store);
    await send('a LOGIN bob@example.test x');
    assert.match(await send('b STATUS INBOX (DELETED DELETED-STORAGE)'), /\(DELETED 0 DELETED-STORAGE 0\)/);
    await send('c SELECT INBOX');
    await send('d STORE 1 +FLAGS (\\Deleted)');
    const first = store.listMessages(store.getMailbox(bob, 'INBOX')!.id)[0]!;
    assert.match(
      await send('e STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)'),
      new RegExp(`\\(MESSAGES 2 DELETED 1 DELETED-STORAGE ${first.size}\\)`),
    );
    await send('f EXPUNGE');
    assert.match(await send('g STATUS INBOX (DELETED-STORAGE)'), /\(DELETED-STORAGE 0\)/);
  });

  test('APPEND and COPY over quota: NO [OVERQUOTA] with an untagged QUOTA; MOVE, STORE and EXPUNGE still work', async () => {
    const { store, bob } = await openTestStore();
    await deliverText(store, bob, 'Subject: a\r\n\r\n' + 'x'.repeat(900) + '\r\n');
    store.setQuota('bob@example.test', { bytes: 1500 });
    const send = imapSession(store);
    await send('a LOGIN bob@example.test x');
    const msg = Buffer.from('Subject: b\r\n\r\n' + 'y'.repeat(700) + '\r\n');
    assert.match(
      await send('b APPEND INBOX', msg),
      /^\* QUOTA "" \(STORAGE 1 1\)\r\nb NO \[OVERQUOTA\] Mailbox quota exceeded\r\n$/,
    );
    assert.match(
      await send('c APPEND INBOX', Buffer.alloc(1600, 'z')),
      /^c NO \[OVERQUOTA\] Message larger than the mailbox quota/m,
    );
    await send('d SELECT INBOX');
    assert.match(await send('e COPY 1 Trash'), /^e NO \[OVERQUOTA\]/m);
    assert.match(await send('f MOVE 1 Archive'), /^f OK/m);
    await send('g SELECT Archive');
    assert.match(await send('h STORE 1 +FLAGS (\\Deleted)'), /^h OK/m);
    assert.match(await send('i EXPUNGE'), /^\* 1 EXPUNGE\r\ni OK/m);
    assert.match(await send('j APPEND INBOX', msg), /^j OK \[APPENDUID /m);
  });
});
