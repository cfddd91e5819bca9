// SORT, ESORT and THREAD over a real socket: an in-process IMAP server on port 0, a raw line client, mail delivered by the store.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawImap } from '../helpers/imap-raw.js';
import { admitAnyone, startImapServer } from '../helpers/imap-server.js';
import { deliverText, openTestStore } from '../helpers/imap-session.js';

test('SORT, UID SORT, ESORT and THREAD over a socket, interleaved with a delivery', async () => {
  const { store, bob } = await openTestStore();
  const deliver = (n: number, head: string): Promise<void> =>
    deliverText(store, bob, `${head}\r\n\r\nbody ${n}\r\n`, {
      queueId: `Q${n}`,
      receivedAt: new Date(Date.UTC(2026, 10, 1, n)),
    });
  await deliver(
    1,
    'From: zed@x.test\r\nSubject: Plans\r\nMessage-ID: <1@x>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000',
  );
  await deliver(
    2,
    'From: amy@x.test\r\nSubject: Re: Plans\r\nMessage-ID: <2@x>\r\nReferences: <1@x>\r\nDate: Mon, 2 Nov 2026 11:00:00 +0000',
  );
  await deliver(
    3,
    'From: bob@x.test\r\nSubject: Lunch\r\nMessage-ID: <3@x>\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000',
  );
  const server = await startImapServer(store, { authenticate: admitAnyone });
  after(() => server.close());
  const imap = await RawImap.open(server.port);
  try {
    assert.equal((await imap.command('LOGIN bob@example.test x')).status, 'OK');
    const caps = await imap.command('CAPABILITY');
    assert.match(
      caps.lines[0] as string,
      / SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT /,
    );
    assert.equal((await imap.command('SELECT INBOX')).status, 'OK');
    let r = await imap.command('SORT (DATE) UTF-8 ALL');
    assert.deepEqual([r.lines, r.status], [['* SORT 3 1 2'], 'OK']);
    r = await imap.command('UID SORT (REVERSE FROM) UTF-8 ALL');
    assert.deepEqual(r.lines, ['* SORT 1 3 2']);
    r = await imap.command('THREAD REFERENCES UTF-8 ALL');
    assert.deepEqual(r.lines, ['* THREAD (3)(1 2)']);
    // A reply arrives: it is in the session's view once reported (EXISTS after a command, RFC 9051 7.4.1),
    // and from then on SORT and THREAD include it.
    await deliver(
      4,
      'From: cy@x.test\r\nSubject: Re: Lunch\r\nMessage-ID: <4@x>\r\nIn-Reply-To: <3@x>\r\nDate: Mon, 2 Nov 2026 12:00:00 +0000',
    );
    assert.ok((await imap.command('NOOP')).lines.includes('* 4 EXISTS'));
    r = await imap.command('THREAD REFERENCES UTF-8 ALL');
    assert.deepEqual(r.lines, ['* THREAD (3 4)(1 2)']);
    const tag = imap.nextTag();
    imap.write(`${tag} SORT RETURN (MIN MAX COUNT ALL) (SUBJECT DATE) UTF-8 ALL\r\n`);
    r = await imap.until(tag);
    assert.deepEqual(r.lines, [`* ESEARCH (TAG "${tag}") MIN 3 MAX 2 ALL 3:4,1:2 COUNT 4`]);
    r = await imap.command('THREAD ORDEREDSUBJECT UTF-8 SINCE 1-Nov-2026');
    assert.deepEqual(r.lines, ['* THREAD (3 4)(1 2)']);
  } finally {
    imap.close();
  }
});
