// [EXPUNGEISSUED] (RFC 5530 3): SEARCH, SORT, THREAD and FETCH that could not read a message another session expunged say so.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawImap } from '../helpers/imap-raw.js';
import { admitAnyone, startImapServer } from '../helpers/imap-server.js';
import { deliverText, openTestStore } from '../helpers/imap-session.js';

test('a message expunged by another session: left out with OK [EXPUNGEISSUED] until this session is told', async () => {
  const { store, bob } = await openTestStore();
  for (const n of [1, 2, 3]) {
    await deliverText(store, bob, `From: a@x.test\r\nSubject: m${n}\r\n\r\nbody ${n}\r\n`, {
      queueId: `Q${n}`,
    });
  }
  const server = await startImapServer(store, { authenticate: admitAnyone });
  after(() => server.close());
  const reader = await RawImap.open(server.port);
  const other = await RawImap.open(server.port);
  try {
    for (const c of [reader, other]) {
      assert.equal((await c.command('LOGIN bob@example.test x')).status, 'OK');
      assert.equal((await c.command('SELECT INBOX')).status, 'OK');
    }
    // Nothing expunged yet: plain OKs.
    assert.match((await reader.command('SEARCH LARGER 1')).tagged, /^\S+ OK SEARCH completed$/);

    assert.equal((await other.command('STORE 2 +FLAGS.SILENT (\\Deleted)')).status, 'OK');
    assert.equal((await other.command('EXPUNGE')).status, 'OK');

    // The reader still shows 3 messages (no EXPUNGE during SEARCH/FETCH, RFC 9051 7.5.1); message 2's
    // data is gone, so it is missing from answers that read data, and the OK says why.
    const s = await reader.command('SEARCH LARGER 1');
    assert.deepEqual(s.lines, ['* SEARCH 1 3']);
    assert.match(s.tagged, /^\S+ OK \[EXPUNGEISSUED\] /);
    const f = await reader.command('FETCH 1:3 (RFC822.SIZE)');
    assert.deepEqual(
      f.lines.map((l) => l.replace(/\d+\)$/, 'n)')),
      ['* 1 FETCH (RFC822.SIZE n)', '* 3 FETCH (RFC822.SIZE n)'],
    );
    assert.match(f.tagged, /^\S+ OK \[EXPUNGEISSUED\] /);
    // FETCH of messages that are all still there: no code.
    assert.match((await reader.command('FETCH 3 (RFC822.SIZE)')).tagged, /^\S+ OK FETCH completed$/);
    const o = await reader.command('SORT (SUBJECT) UTF-8 ALL');
    assert.match(o.tagged, /^\S+ OK \[EXPUNGEISSUED\] /);
    const t = await reader.command('THREAD ORDEREDSUBJECT UTF-8 ALL');
    assert.match(t.tagged, /^\S+ OK \[EXPUNGEISSUED\] /);

    // Once told (NOOP reports the EXPUNGE), answers are whole again and the code goes.
    assert.ok((await reader.command('NOOP')).lines.includes('* 2 EXPUNGE'));
    const s2 = await reader.command('SEARCH LARGER 1');
    assert.deepEqual(s2.lines, ['* SEARCH 1 2']);
    assert.match(s2.tagged, /^\S+ OK SEARCH completed$/);
  } finally {
    reader.close();
    other.close();
  }
});
