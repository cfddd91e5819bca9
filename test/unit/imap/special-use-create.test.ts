// IMAP CREATE with special uses (RFC 6154 3, CREATE-SPECIAL-USE; RFC 8457 \Important) over the pure session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imapSession, openTestStore } from '../../helpers/imap-session.js';

async function setup(): Promise<(line: string) => Promise<string>> {
  const { store } = await openTestStore();
  const send = imapSession(store);
  assert.match(await send('l LOGIN bob@example.test x'), /^l OK/);
  return send;
}

test('RFC 6154 5.2 example: CREATE "Important Messages" (USE (\\Important)) and LIST shows the use', async () => {
  const send = await setup();
  assert.match(await send('c CAPABILITY'), / CREATE-SPECIAL-USE[ \r]/);
  assert.match(await send('t1 CREATE "Important Messages" (USE (\\Important))'), /^t1 OK /m);
  assert.match(
    await send('t2 LIST "" "Important Messages"'),
    /^\* LIST \([^)]*\\Important[^)]*\) "\/" "Important Messages"\r\n/,
  );
});

test('RFC 6154 3: special-use names are matched like flags (any case) and stored in their registered spelling', async () => {
  const send = await setup();
  assert.match(await send('c CREATE Starred (USE (\\fLaGgEd))'), /^c OK /m);
  assert.match(
    await send('l LIST (SPECIAL-USE) "" "*"'),
    /^\* LIST \([^)]*\\Flagged[^)]*\) "\/" "Starred"\r\n/m,
  );
});

test('RFC 6154 3: an unknown use, two uses, or a use another mailbox has: NO [USEATTR] and nothing is created', async () => {
  const send = await setup();
  assert.match(await send('c CREATE Odd (USE (\\Bogus))'), /^c NO \[USEATTR\] /m);
  assert.match(await send('c CREATE Two (USE (\\Sent \\Archive))'), /^c NO \[USEATTR\] /m);
  // Drafts (made with the account) has \Drafts; a second one would give two mailboxes the JMAP role "drafts".
  assert.match(await send('l LIST (SPECIAL-USE) "" "*"'), /\\Drafts\) "\/" "Drafts"\r\n/);
  assert.match(await send('c CREATE MyDrafts (USE (\\Drafts))'), /^c NO \[USEATTR\] /m);
  const list = await send('l LIST "" "*"');
  assert.doesNotMatch(list, /Odd|Two|MyDrafts/);
  // The name is looked at first: an existing name is ALREADYEXISTS, as without USE.
  assert.match(await send('c CREATE Drafts (USE (\\Drafts))'), /^c NO \[ALREADYEXISTS\] /m);
  // Without USE a mailbox of any name is still fine, and the use is free again once its holder is deleted.
  assert.match(await send('d DELETE Drafts'), /^d OK/m);
  assert.match(await send('c CREATE MyDrafts (USE (\\Drafts))'), /^c OK /m);
});
