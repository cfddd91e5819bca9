// The IMAP session driven by scripted transcripts (RFC 9051 examples first, hostile rows after), no sockets.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapSession } from '../../../src/imap/session.js';
import { MailboxIndexCache } from '../../../src/imap/mailbox-index-cache.js';
import { isParseError, parseImapCommand } from '../../../src/imap/proto/command-parser.js';
import { partsToBuffer } from '../../../src/imap/proto/response-writer.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

async function newSession() {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-imap-unit-'));
  const store = openSqliteStore({ dataDir: dir, clock: () => new Date('2026-11-23T10:00:00Z') });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  store.addDomain('example.test');
  store.addAccount('bob@example.test', 'unused');
  const session = new ImapSession(
    {
      store,
      // Only "secret" works: the authenticator itself is tested in test/unit/auth.
      authenticate: async (u, p) =>
        p === 'secret' ? { kind: 'ok', account: u.toLowerCase() } : { kind: 'failed' },
      now: () => new Date('2026-11-23T10:00:00Z'),
      indexCache: new MailboxIndexCache(store.mail),
      discardBody: () => undefined,
    },
    { hostname: 'mx.example.test', tlsAvailable: true, allowLoopbackPlaintext: true, maxAppendSize: 1 << 20 },
    { remoteAddress: '127.0.0.1', secure: false, loopback: true },
  );
  /** Sends one command line; returns the response text. */
  const send = async (line: string): Promise<string> => {
    const cmd = parseImapCommand({ segments: [Buffer.from(line)], literals: [] });
    if (isParseError(cmd)) return `${cmd.tag ?? '*'} BAD ${cmd.text}\r\n`;
    const out = await session.handle(cmd);
    return partsToBuffer(out.parts).toString();
  };
  return { session, send, store };
}

test('RFC 9051 6.1.1/6.2.3: CAPABILITY before login, LOGIN, capabilities change', async () => {
  const { send, session } = await newSession();
  assert.match(
    session.greeting().toString(),
    /^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 .*STARTTLS.*AUTH=PLAIN/,
  );
  assert.match(await send('a1 CAPABILITY'), /^\* CAPABILITY .*\r\na1 OK/);
  assert.match(await send('a2 LOGIN bob@example.test wrong'), /^a2 NO \[AUTHENTICATIONFAILED\]/);
  assert.match(await send('a3 LOGIN bob@example.test secret'), /^a3 OK \[CAPABILITY .*UIDPLUS.*\] Logged in/);
  assert.equal(session.state.kind, 'authenticated');
});

test('state table: commands outside their state get BAD, never run', async () => {
  const { send } = await newSession();
  assert.match(await send('a1 SELECT INBOX'), /^a1 BAD SELECT is not allowed before login/);
  assert.match(await send('a2 FETCH 1 FLAGS'), /^a2 BAD FETCH is not allowed/);
  await send('a3 LOGIN bob@example.test secret');
  assert.match(await send('a4 FETCH 1 FLAGS'), /^a4 BAD FETCH is not allowed without a selected mailbox/);
  assert.match(await send('a5 LOGIN x y'), /^a5 BAD LOGIN is not allowed/);
});

test('RFC 9051 6.3.2: SELECT INBOX responses; EXAMINE is read-only', async () => {
  const { send } = await newSession();
  await send('a1 LOGIN bob@example.test secret');
  const r = await send('A142 SELECT INBOX');
  assert.match(r, /\* 0 EXISTS\r\n/);
  assert.match(r, /\* FLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft\)/);
  assert.match(r, /\* OK \[UIDVALIDITY \d+\]/);
  assert.match(r, /\* OK \[UIDNEXT 1\]/);
  assert.match(r, /\* OK \[HIGHESTMODSEQ 0\]/);
  assert.match(r, /A142 OK \[READ-WRITE\] SELECT completed\r\n$/);
  assert.match(await send('a2 EXAMINE INBOX'), /\* OK \[CLOSED\][^]*a2 OK \[READ-ONLY\]/);
  assert.match(await send('a3 STORE 1 +FLAGS (\\Seen)'), /^a3 NO \[READ-ONLY\]/);
  assert.match(await send('a4 FETCH 1 FLAGS'), /^a4 BAD Invalid message sequence number/);
});

test('LIST, CREATE, RENAME, DELETE, STATUS, ENABLE, NAMESPACE, ID', async () => {
  const { send } = await newSession();
  await send('a1 LOGIN bob@example.test secret');
  assert.match(await send('a2 LIST "" ""'), /^\* LIST \(\\Noselect\) "\/" ""\r\na2 OK/);
  assert.match(await send('a3 LIST "" "*"'), /\* LIST \(\\HasNoChildren \\Sent\) "\/" "Sent"/);
  assert.match(await send('a4 CREATE a/b'), /^a4 OK/);
  assert.match(await send('a5 CREATE a'), /^a5 NO \[ALREADYEXISTS\]/);
  assert.match(await send('a6 LIST "" %'), /\* LIST \(\\HasChildren\) "\/" "a"/);
  assert.match(await send('a7 DELETE a'), /^a7 NO \[INUSE\]/);
  assert.match(await send('a8 RENAME a c'), /^a8 OK/);
  assert.match(await send('a9 LIST "" "c/*"'), /"c\/b"/);
  assert.match(await send('b1 DELETE INBOX'), /^b1 NO \[CANNOT\]/);
  assert.match(
    await send('b2 STATUS INBOX (MESSAGES UIDNEXT UNSEEN)'),
    /\* STATUS "INBOX" \(MESSAGES 0 UIDNEXT 1 UNSEEN 0\)/,
  );
  assert.match(await send('b3 STATUS nope (MESSAGES)'), /^b3 NO \[NONEXISTENT\]/);
  assert.match(await send('b4 ENABLE CONDSTORE X-UNKNOWN'), /^\* ENABLED CONDSTORE\r\nb4 OK/);
  assert.match(await send('b5 NAMESPACE'), /^\* NAMESPACE \(\("" "\/"\)\) NIL NIL/);
  assert.match(await send('b6 ID NIL'), /^\* ID \("name" "Mailroom"\)/);
  assert.match(await send('b7 SELECT "&Jjo-"'), /^b7 NO \[NONEXISTENT\]/);
  assert.match(await send('b8 SELECT "&Jjo"'), /^b8 NO \[NONEXISTENT\]/);
});

test('AUTHENTICATE PLAIN with SASL-IR and as an exchange; cancel', async () => {
  const { session, send } = await newSession();
  const ir = Buffer.from('\0bob@example.test\0secret').toString('base64');
  assert.match(await send(`a1 AUTHENTICATE PLAIN ${ir}`), /^a1 OK/);
  const { send: send2, session: s2 } = await newSession();
  assert.equal(await send2('a1 AUTHENTICATE PLAIN'), '+ \r\n');
  const cancel = await s2.continueLine('*');
  assert.match(partsToBuffer(cancel.parts).toString(), /^a1 BAD Authentication cancelled/);
  assert.equal(session.state.kind, 'authenticated');
});

test('hostile: SEARCH with an unknown charset gets NO [BADCHARSET]', async () => {
  const { send } = await newSession();
  await send('a1 LOGIN bob@example.test secret');
  await send('a2 SELECT INBOX');
  assert.match(await send('a3 SEARCH CHARSET KOI8-R ALL'), /^a3 NO \[BADCHARSET \(UTF-8 US-ASCII\)\]/);
  assert.match(await send('a4 SEARCH ALL'), /^\* SEARCH\r\na4 OK/);
  assert.match(
    await send('a5 UID SEARCH RETURN (COUNT) ALL'),
    /^\* ESEARCH \(TAG "a5"\) UID COUNT 0\r\na5 OK/,
  );
});

test('RFC 5258 3.5: LIST (SUBSCRIBED RECURSIVEMATCH) gives CHILDINFO for parents of subscribed mailboxes', async () => {
  const { send } = await newSession();
  await send('a1 LOGIN bob@example.test secret');
  assert.match(await send('a2 CREATE Tree/Leaf'), /^a2 OK/);
  assert.match(await send('a3 SUBSCRIBE Tree/Leaf'), /^a3 OK/); // CREATE does not subscribe
  const r = await send('a4 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"');
  // Tree is not subscribed but its child is: listed without \Subscribed, with CHILDINFO.
  assert.match(r, /\* LIST \(\\HasChildren\) "\/" "Tree" \("CHILDINFO" \("SUBSCRIBED"\)\)\r\n/);
  assert.match(r, /\* LIST \(\\HasNoChildren \\Subscribed\) "\/" "INBOX"\r\n/);
  assert.doesNotMatch(r, /Tree\/Leaf/);
  // Without RECURSIVEMATCH only subscribed mailboxes matching the pattern appear.
  assert.doesNotMatch(await send('a5 LIST (SUBSCRIBED) "" "%"'), /"Tree"/);
});
