// IMAP subscriptions as names (RFC 3501 6.3.6-6.3.9, RFC 9051 6.3.6-6.3.9, RFC 5258): LSUB "%", \NonExistent, DELETE/RENAME.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imapSession, openTestStore } from '../../helpers/imap-session.js';

async function setup(): Promise<(line: string) => Promise<string>> {
  const { store } = await openTestStore();
  const send = imapSession(store);
  assert.match(await send('a0 LOGIN bob@example.test x'), /^a0 OK/m);
  return send;
}

/** The untagged lines of a reply, without the tagged one. */
const untagged = (reply: string): string[] => reply.split('\r\n').filter((l) => l.startsWith('* '));

test('RFC 3501 6.3.9: LSUB "%" returns foo, \\Noselect, when only foo/bar is subscribed', async () => {
  const send = await setup();
  // CREATE does not subscribe (RFC 9051 6.3.4); the client subscribes what it wants.
  assert.match(await send('a1 CREATE foo/bar'), /^a1 OK/m);
  assert.match(await send('a2 SUBSCRIBE foo/bar'), /^a2 OK/m);
  const r = await send('a3 LSUB "" %');
  assert.ok(untagged(r).includes('* LSUB (\\Noselect) "/" "foo"'), r);
  assert.doesNotMatch(r, /foo\/bar/);
  assert.ok(untagged(r).includes('* LSUB (\\HasNoChildren) "/" "INBOX"'), r);
  // "*" reaches foo/bar itself, so foo is not listed (it is not subscribed).
  const all = untagged(await send('a4 LSUB "" *'));
  assert.ok(all.includes('* LSUB (\\HasNoChildren) "/" "foo/bar"'));
  assert.ok(!all.some((l) => l.endsWith('"foo"')));
  // One level down: "foo/%" with foo/bar/baz subscribed and foo/bar not.
  await send('a5 CREATE foo/bar/baz');
  await send('a6 SUBSCRIBE foo/bar/baz');
  await send('a6b UNSUBSCRIBE foo/bar');
  assert.deepEqual(untagged(await send('a7 LSUB "foo/" %')), ['* LSUB (\\Noselect) "/" "foo/bar"']);
  // A subscribed parent is listed as itself, once.
  await send('a8 SUBSCRIBE foo');
  const again = untagged(await send('a9 LSUB "" %')).filter((l) => l.endsWith('"foo"'));
  assert.deepEqual(again, ['* LSUB (\\HasChildren) "/" "foo"']);
});

test('RFC 5258 3.5: LIST (SUBSCRIBED RECURSIVEMATCH) CHILDINFO only for children the pattern does not reach', async () => {
  const send = await setup();
  await send('a1 CREATE Tree/Leaf');
  await send('a2 SUBSCRIBE Tree/Leaf');
  const pct = await send('a3 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"');
  assert.ok(untagged(pct).includes('* LIST (\\HasChildren) "/" "Tree" ("CHILDINFO" ("SUBSCRIBED"))'), pct);
  // Without RECURSIVEMATCH, no CHILDINFO and no unsubscribed name (RFC 5258 4).
  assert.doesNotMatch(await send('a4 LIST (SUBSCRIBED) "" "%"'), /"Tree"/);
  // "*" lists Tree/Leaf itself: Tree would be redundant (RFC 5258 3.5 SHOULD suppress).
  const star = untagged(await send('a5 LIST (SUBSCRIBED RECURSIVEMATCH) "" "*"'));
  assert.ok(star.includes('* LIST (\\HasNoChildren \\Subscribed) "/" "Tree/Leaf"'));
  assert.ok(!star.some((l) => l.includes('"Tree" ')), star.join('\n'));
});

test('RFC 9051 6.3.7: DELETE keeps the subscription; LIST (SUBSCRIBED) shows \\NonExistent \\Subscribed', async () => {
  const send = await setup();
  await send('a1 CREATE Old');
  await send('a1b SUBSCRIBE Old');
  assert.match(await send('a2 DELETE Old'), /^a2 OK/m);
  assert.ok(
    untagged(await send('a3 LIST (SUBSCRIBED) "" "*"')).includes(
      '* LIST (\\NonExistent \\Subscribed) "/" "Old"',
    ),
  );
  // LSUB still has it, not selectable; plain LIST does not (it lists mailboxes).
  assert.ok(untagged(await send('a4 LSUB "" Old')).includes('* LSUB (\\Noselect) "/" "Old"'));
  assert.deepEqual(untagged(await send('a5 LIST "" Old')), []);
  // RETURN (STATUS) gives no STATUS for a name with no mailbox (RFC 5819).
  const st = await send('a6 LIST (SUBSCRIBED) "" "Old" RETURN (STATUS (MESSAGES))');
  assert.deepEqual(untagged(st), ['* LIST (\\NonExistent \\Subscribed) "/" "Old"']);
  assert.match(await send('a7 UNSUBSCRIBE Old'), /^a7 OK/m);
  assert.deepEqual(untagged(await send('a8 LSUB "" Old')), []);
});

test("RFC 9051 6.3.4: CREATE does not subscribe; a new account's default folders are subscribed", async () => {
  const send = await setup();
  assert.match(await send('a1 CREATE a/b'), /^a1 OK/m);
  const lsub = untagged(await send('a2 LSUB "" *'));
  assert.ok(!lsub.some((l) => l.includes('"a')), lsub.join('\n'));
  for (const name of ['INBOX', 'Sent', 'Drafts', 'Trash', 'Junk', 'Archive'])
    assert.ok(
      lsub.some((l) => l.endsWith(`"${name}"`)),
      name,
    );
});

test('RFC 9051 6.3.7/6.3.8: SUBSCRIBE of a name with no mailbox is OK; UNSUBSCRIBE of one not subscribed is NO', async () => {
  const send = await setup();
  assert.match(await send('a1 SUBSCRIBE Future'), /^a1 OK/m);
  assert.ok(untagged(await send('a2 LSUB "" Future')).includes('* LSUB (\\Noselect) "/" "Future"'));
  assert.match(await send('a3 CREATE Future'), /^a3 OK/m);
  assert.ok(untagged(await send('a4 LSUB "" Future')).includes('* LSUB (\\HasNoChildren) "/" "Future"'));
  assert.match(await send('a5 UNSUBSCRIBE Future'), /^a5 OK/m);
  assert.match(await send('a6 UNSUBSCRIBE Future'), /^a6 NO /m);
  assert.match(await send('a7 UNSUBSCRIBE Nothing'), /^a7 NO /m);
  // Hostile: names no mailbox could have are refused as CREATE refuses them.
  assert.match(await send('a8 SUBSCRIBE "a//b"'), /^a8 NO \[CANNOT\]/m);
  assert.match(await send('a9 SUBSCRIBE "a%"'), /^a9 NO \[CANNOT\]/m);
});

test('RFC 9051 6.3.6: RENAME leaves subscriptions on the old names', async () => {
  const send = await setup();
  await send('a1 CREATE p/c');
  await send('a1b SUBSCRIBE p');
  await send('a1c SUBSCRIBE p/c');
  assert.match(await send('a2 RENAME p q'), /^a2 OK/m);
  const list = untagged(await send('a3 LIST (SUBSCRIBED) "" "*"'));
  assert.ok(list.includes('* LIST (\\NonExistent \\Subscribed) "/" "p"'), list.join('\n'));
  assert.ok(list.includes('* LIST (\\NonExistent \\Subscribed) "/" "p/c"'));
  assert.ok(!list.some((l) => l.includes('"q')));
  assert.ok(
    untagged(await send('a4 LIST "" "q*" RETURN (SUBSCRIBED)')).includes('* LIST (\\HasChildren) "/" "q"'),
  );
});
