// IMAP APPEND and the free-space floor (issue 8 item 6): refused before the literal, NO [OVERQUOTA] on a full disk, recovery.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapCommandReceiver, type ReceiverEvent } from '../../../src/imap/proto/literal-receiver.js';
import { StorageGuard } from '../../../src/store/free-space.js';
import { imapSession, openTestStore } from '../../helpers/imap-session.js';

function drain(rx: ImapCommandReceiver): ReceiverEvent[] {
  const out: ReceiverEvent[] = [];
  for (let ev = rx.next(); ev; ev = rx.next()) out.push(ev);
  return out;
}

const OVERQUOTA = { code: 'OVERQUOTA', text: 'Insufficient system storage' } as const;

describe('receiver: APPEND literals refused while storage is low', () => {
  test('a synchronising literal gets NO [OVERQUOTA] and no "+"; the next command is read normally', () => {
    const rx = new ImapCommandReceiver();
    rx.refuseAppends(OVERQUOTA);
    rx.push(Buffer.from('a1 APPEND INBOX (\\Seen) {310}\r\na2 NOOP\r\n'));
    const evs = drain(rx);
    assert.deepEqual(evs[0], { kind: 'reject', tag: 'a1', status: 'NO', ...OVERQUOTA });
    assert.equal(evs.length, 2);
    assert.equal(evs[1]?.kind, 'command');
    assert.equal(evs[1]?.kind === 'command' ? evs[1].tag : null, 'a2');
  });

  test('a non-synchronising literal is skipped unread, split anywhere', () => {
    const input = Buffer.from('a1 APPEND INBOX {11+}\r\nhello\r\nbye\r\na2 NOOP\r\n');
    for (const step of [input.length, 1, 3]) {
      const rx = new ImapCommandReceiver();
      rx.refuseAppends(OVERQUOTA);
      const evs: ReceiverEvent[] = [];
      for (let i = 0; i < input.length; i += step) {
        rx.push(input.subarray(i, i + step));
        evs.push(...drain(rx));
      }
      assert.deepEqual(
        evs.map((e) => e.kind),
        ['reject', 'command'],
        `step ${step}`,
      );
    }
  });

  test('other literals (LOGIN, a mailbox name) are not affected; refusal lifted: APPEND streams again', () => {
    const rx = new ImapCommandReceiver();
    rx.refuseAppends(OVERQUOTA);
    rx.push(Buffer.from('a1 LOGIN {3}\r\n'));
    assert.deepEqual(
      drain(rx).map((e) => e.kind),
      ['continue'],
    );
    rx.push(Buffer.from('bob pw\r\n'));
    assert.deepEqual(
      drain(rx).map((e) => e.kind),
      ['command'],
    );
    rx.refuseAppends(null);
    rx.push(Buffer.from('a2 APPEND INBOX {2}\r\n'));
    assert.deepEqual(
      drain(rx).map((e) => e.kind),
      ['continue', 'literal-start'],
    );
  });
});

describe('session: APPEND below the floor or on a full disk', () => {
  test('NO [OVERQUOTA] while the guard says low; OK once the probe reports space again', async () => {
    const { store } = await openTestStore();
    let free = 10;
    let t = 0;
    const guard = new StorageGuard({
      probe: async () => ({ free, total: 1000 }),
      min: { bytes: 100, percent: null },
      now: () => t,
    });
    const send = imapSession(store, { storage: guard });
    await send('a LOGIN bob@example.test x');
    const msg = Buffer.from('Subject: hi\r\n\r\nbody\r\n');
    assert.match(await send('b APPEND INBOX', msg), /^b NO \[OVERQUOTA\] Insufficient system storage\r\n$/m);
    free = 500;
    assert.match(await send('c APPEND INBOX', msg), /^c NO \[OVERQUOTA\]/m); // cached for a second
    t += 1000;
    assert.match(await send('d APPEND INBOX', msg), /^d OK \[APPENDUID /m);
  });

  test('ENOSPC or SQLITE_FULL from the store: NO [OVERQUOTA], not a BYE; another error still goes up', async () => {
    const { store } = await openTestStore();
    const send = imapSession(store);
    await send('a LOGIN bob@example.test x');
    const msg = Buffer.from('Subject: hi\r\n\r\nbody\r\n');
    // APPEND stores through appendAll (one transaction for every message, RFC 3502).
    const append = store.mail.appendAll.bind(store.mail);
    for (const code of ['ENOSPC', 'SQLITE_FULL']) {
      store.mail.appendAll = () => Promise.reject(Object.assign(new Error('full'), { code }));
      assert.match(await send('b APPEND INBOX', msg), /^b NO \[OVERQUOTA\]/m, code);
    }
    store.mail.appendAll = () => Promise.reject(new Error('bug'));
    await assert.rejects(send('c APPEND INBOX', msg), /bug/);
    store.mail.appendAll = append;
    assert.match(await send('d APPEND INBOX', msg), /^d OK /m);
  });
});
