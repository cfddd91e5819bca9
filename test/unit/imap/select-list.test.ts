// SELECT/EXAMINE in IMAP4rev2 send a LIST response with the mailbox's real attributes (RFC 9051 6.3.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imapSession, openTestStore } from '../../helpers/imap-session.js';

async function setup(): Promise<(line: string) => Promise<string>> {
  const { store, bob } = await openTestStore();
  store.mail.createMailbox(bob, 'INBOX/Receipts');
  store.mail.createMailbox(bob, 'Projects/2026');
  return imapSession(store);
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
