// [EXPUNGEISSUED] (RFC 5530 3): SEARCH, SORT, THREAD and FETCH that could not read a message another session expunged say so.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawImap } from '../helpers/imap-raw.js';
import { admitAnyone, startImapServer } from '../helpers/imap-server.js';
import { deliverText, openTestStore } from '../helpers/imap-session.js';

/** Bob's INBOX with messages 1-3 and two connections that have it selected: one reads, the other expunges. */
async function twoSessionsOnThreeMessages() {
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
  after(() => {
    reader.close();
    other.close();
  });
  for (const c of [reader, other]) {
    assert.equal((await c.command('LOGIN bob@example.test x')).status, 'OK');
    assert.equal((await c.command('SELECT INBOX')).status, 'OK');
  }
  return { store, reader, other };
}

test('a message expunged by another session: left out with OK [EXPUNGEISSUED] until this session is told', async () => {
  const { reader, other } = await twoSessionsOnThreeMessages();
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
});

test('a message expunged between its metadata and its body: FETCH and SEARCH leave it out, the session goes on', async () => {
  const { store, reader, other } = await twoSessionsOnThreeMessages();
  const readMessage = store.readMessage.bind(store);
  try {
    // The other session's EXPUNGE of message 2 lands while the reader's command reads message 1's body,
    // after it has read the metadata of all three: the race seen under imaptest's random stress.
    const expungeDuringNextRead = async (): Promise<void> => {
      assert.equal((await other.command('STORE 2 +FLAGS.SILENT (\\Deleted)')).status, 'OK');
      let armed = true;
      store.readMessage = async (id: number) => {
        if (armed) {
          armed = false;
          assert.equal((await other.command('EXPUNGE')).status, 'OK');
        }
        return readMessage(id);
      };
    };

    await expungeDuringNextRead();
    const f = await reader.command('FETCH 1:3 (BODY.PEEK[TEXT])');
    assert.deepEqual(
      f.lines.filter((l) => l.startsWith('* ')).map((l) => l.split(' (')[0]),
      ['* 1 FETCH', '* 3 FETCH'],
    );
    assert.match(f.tagged, /^\S+ OK \[EXPUNGEISSUED\] /);
    assert.ok((await reader.command('NOOP')).lines.includes('* 2 EXPUNGE'));

    // Now messages 1 and 2 (was 3); the same race for SEARCH BODY.
    store.readMessage = readMessage;
    await expungeDuringNextRead();
    const s = await reader.command('SEARCH BODY "body"');
    assert.deepEqual(s.lines, ['* SEARCH 1']);
    assert.match(s.tagged, /^\S+ OK \[EXPUNGEISSUED\] /);
    assert.equal((await reader.command('NOOP')).status, 'OK');
  } finally {
    store.readMessage = readMessage;
  }
});
