// SEARCH RETURN (PARTIAL low:high) (RFC 5267 4.4, part of CONTEXT=SEARCH): the matches at those positions, as imaptest's search-partial group asks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseImapCommand, isParseError } from '../../../src/imap/proto/command-parser.js';
import { deliverText, imapSession, openTestStore, type ImapSend } from '../../helpers/imap-session.js';

async function fiveMessages(): Promise<ImapSend> {
  const { store, bob } = await openTestStore();
  for (let i = 1; i <= 5; i++)
    await deliverText(store, bob, `Subject: m${i}\r\n\r\nx\r\n`, { queueId: `Q${i}` });
  const send = imapSession(store);
  assert.match(await send('l LOGIN bob@example.test x'), /^l OK/);
  assert.match(await send('s SELECT INBOX'), /s OK/);
  return send;
}

test('RFC 5267 4.4: SEARCH RETURN (PARTIAL) gives the matches at those positions, NIL past the end', async () => {
  const send = await fiveMessages();
  const rows: Array<[string, string]> = [
    ['SEARCH RETURN (PARTIAL 1:1) ALL', 'PARTIAL (1:1 1)'],
    ['SEARCH RETURN (PARTIAL 2:4) ALL', 'PARTIAL (2:4 2:4)'],
    ['SEARCH RETURN (PARTIAL 4:2) ALL', 'PARTIAL (2:4 2:4)'],
    ['SEARCH RETURN (PARTIAL 1:6) ALL', 'PARTIAL (1:6 1:5)'],
    ['SEARCH RETURN (PARTIAL 6:6) ALL', 'PARTIAL (6:6 NIL)'],
    ['SEARCH RETURN (PARTIAL 1:3) 1:2,4:5', 'PARTIAL (1:3 1:2,4)'],
    ['SEARCH RETURN (PARTIAL 2:10) 1:2,4:5', 'PARTIAL (2:10 2,4:5)'],
    ['SEARCH RETURN (PARTIAL 2:2 COUNT) 1:2,4:5', 'PARTIAL (2:2 2) COUNT 4'],
    ['UID SEARCH RETURN (PARTIAL 2:2) ALL', 'UID PARTIAL (2:2 2)'],
  ];
  for (const [cmd, want] of rows) {
    assert.equal(await send(`t ${cmd}`), `* ESEARCH (TAG "t") ${want}\r\nt OK SEARCH completed\r\n`, cmd);
  }
  // After an expunge, positions count the messages that are left.
  await send('x STORE 2 +FLAGS.SILENT (\\Deleted)');
  await send('y EXPUNGE');
  assert.match(
    await send('t UID SEARCH RETURN (PARTIAL 2:2) ALL'),
    /^\* ESEARCH \(TAG "t"\) UID PARTIAL \(2:2 3\)/,
  );
  assert.match(
    await send('t UID SEARCH RETURN (PARTIAL 5:10) ALL'),
    /^\* ESEARCH \(TAG "t"\) UID PARTIAL \(5:10 NIL\)/,
  );
});

test('RFC 5267 4.4: a malformed PARTIAL is BAD', () => {
  for (const line of [
    'a SEARCH RETURN (PARTIAL 1) ALL',
    'a SEARCH RETURN (PARTIAL 1:*) ALL',
    'a SEARCH RETURN (PARTIAL *:1) ALL',
    'a SEARCH RETURN (PARTIAL 0:5) ALL',
    'a SEARCH RETURN (PARTIAL) ALL',
    'a SEARCH RETURN (PARTIAL 1:5 ALL) ALL',
    'a SEARCH RETURN (PARTIAL 1:99999999999) ALL',
  ]) {
    assert.ok(isParseError(parseImapCommand({ segments: [Buffer.from(line)], literals: [] })), line);
  }
});
