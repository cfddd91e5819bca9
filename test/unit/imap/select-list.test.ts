// SELECT/EXAMINE in IMAP4rev2 send a LIST response with the mailbox's real attributes (RFC 9051 6.3.2).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailboxIndexCache } from '../../../src/imap/mailbox-index-cache.js';
import { isParseError, parseImapCommand } from '../../../src/imap/proto/command-parser.js';
import { partsToBuffer } from '../../../src/imap/proto/response-writer.js';
import { ImapSession } from '../../../src/imap/session.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

async function setup(): Promise<(line: string) => Promise<string>> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-select-list-'));
  const store = openSqliteStore({ dataDir: dir });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'unused').id;
  store.mail.createMailbox(bob, 'INBOX/Receipts');
  store.mail.createMailbox(bob, 'Projects/2026');
  const session = new ImapSession(
    {
      store,
      authenticate: async (u) => ({ kind: 'ok', account: u.toLowerCase() }),
      now: () => new Date('2026-11-23T10:00:00Z'),
      indexCache: new MailboxIndexCache(store.mail),
      discardBody: () => undefined,
    },
    { hostname: 'mx.example.test', tlsAvailable: true, allowLoopbackPlaintext: true, maxAppendSize: 1 << 20 },
    { remoteAddress: '127.0.0.1', secure: false, loopback: true },
  );
  return async (line) => {
    const cmd = parseImapCommand({ segments: [Buffer.from(line)], literals: [] });
    if (isParseError(cmd)) throw new Error(cmd.text);
    return partsToBuffer((await session.handle(cmd)).parts).toString();
  };
}

const listLine = (reply: string): string | undefined => /^\* LIST [^\r]*/m.exec(reply)?.[0];

test('rev2 SELECT/EXAMINE: LIST with \\HasChildren/\\HasNoChildren and the special use, as LIST gives them', async () => {
  const send = await setup();
  await send('a LOGIN bob@example.test x');
  assert.match(await send('b ENABLE IMAP4rev2'), /ENABLED IMAP4rev2/i);
  const rows: Array<[string, string]> = [
    ['INBOX', '* LIST (\\HasChildren) "/" "INBOX"'],
    ['Sent', '* LIST (\\HasNoChildren \\Sent) "/" "Sent"'],
    ['Projects', '* LIST (\\HasChildren) "/" "Projects"'],
    ['Projects/2026', '* LIST (\\HasNoChildren) "/" "Projects/2026"'],
    ['INBOX/Receipts', '* LIST (\\HasNoChildren) "/" "INBOX/Receipts"'],
  ];
  for (const [name, want] of rows) {
    for (const verb of ['SELECT', 'EXAMINE']) {
      const reply = await send(`s ${verb} "${name}"`);
      assert.match(reply, /^s OK/m, `${verb} ${name}`);
      assert.equal(listLine(reply), want, `${verb} ${name}`);
      // The same attributes as a plain LIST of that name.
      assert.equal(listLine(await send(`l LIST "" "${name}"`)), want, `LIST ${name}`);
    }
  }
  // Hostile: a name that does not exist gets NO, no LIST.
  const missing = await send('s SELECT "Nope/../INBOX"');
  assert.equal(listLine(missing), undefined);
  assert.match(missing, /^s NO/m);
});

test('rev1 SELECT sends no LIST response (RFC 3501 has none)', async () => {
  const send = await setup();
  await send('a LOGIN bob@example.test x');
  const reply = await send('s SELECT INBOX');
  assert.match(reply, /^s OK \[READ-WRITE\]/m);
  assert.equal(listLine(reply), undefined);
});
