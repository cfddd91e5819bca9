// IMAP OBJECTID (RFC 8474) over the pure session: MAILBOXID on CREATE/SELECT/STATUS, FETCH EMAILID/THREADID, SEARCH by them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliverText, imapSession, openTestStore } from '../../helpers/imap-session.js';

const NOW = new Date('2026-11-23T10:00:00Z');

async function setup(): Promise<{
  send: (line: string) => Promise<string>;
  store: Awaited<ReturnType<typeof openTestStore>>['store'];
  bob: number;
}> {
  const { store, bob } = await openTestStore({ clock: () => NOW });
  await deliverText(store, bob, 'Subject: Plan\r\nMessage-ID: <a@x>\r\n\r\nbody\r\n', { queueId: 'Q1' });
  await deliverText(
    store,
    bob,
    'Subject: Re: Plan\r\nMessage-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\n\r\nbody\r\n',
    {
      queueId: 'Q2',
    },
  );
  await deliverText(store, bob, 'Subject: Other\r\nMessage-ID: <c@x>\r\n\r\nbody\r\n', { queueId: 'Q3' });
  const send = imapSession(store, { now: () => NOW });
  assert.match(await send('l LOGIN bob@example.test x'), /^l OK/);
  return { send, store, bob };
}

test('RFC 8474 3: OBJECTID is advertised after login', async () => {
  const { send } = await setup();
  assert.match(await send('c CAPABILITY'), /^\* CAPABILITY .* OBJECTID[ \r]/);
});

test('RFC 8474 4.1/4.2: CREATE answers [MAILBOXID], SELECT and STATUS show the same id; RENAME keeps it', async () => {
  const { send, store, bob } = await setup();
  const created = await send('c CREATE Projects');
  const m = /^c OK \[MAILBOXID \(([A-Za-z0-9_-]+)\)\] /.exec(created);
  assert.ok(m, created);
  const id = m[1] as string;
  assert.equal(id, store.jmap.mailboxObjectId(store.getMailbox(bob, 'Projects')?.id as number));
  assert.match(
    await send('s STATUS Projects (MESSAGES MAILBOXID)'),
    new RegExp(`^\\* STATUS "Projects" \\(MESSAGES 0 MAILBOXID \\(${id}\\)\\)\r\n`),
  );
  assert.match(await send('r RENAME Projects Work'), /^r OK/);
  assert.match(await send('e EXAMINE Work'), new RegExp(`\\* OK \\[MAILBOXID \\(${id}\\)\\]`));
  const inbox = await send('s SELECT INBOX');
  const inboxId = /\* OK \[MAILBOXID \(([^)]+)\)\]/.exec(inbox)?.[1];
  assert.ok(inboxId && inboxId !== id);
});

test('RFC 8474 5: FETCH EMAILID/THREADID; COPY keeps EMAILID (5.1); a reply shares its THREADID', async () => {
  const { send } = await setup();
  await send('s SELECT INBOX');
  const r = await send('f FETCH 1:3 (EMAILID THREADID)');
  const rows = [
    ...r.matchAll(/\* (\d) FETCH \(EMAILID \(([A-Za-z0-9_-]+)\) THREADID \(([A-Za-z0-9_-]+)\)\)/g),
  ];
  assert.equal(rows.length, 3, r);
  const [one, two, three] = rows.map((x) => ({ email: x[2] as string, thread: x[3] as string }));
  assert.ok(one && two && three);
  assert.equal(two.thread, one.thread, "the reply is in its parent's thread");
  assert.notEqual(three.thread, one.thread);
  assert.equal(new Set([one.email, two.email, three.email]).size, 3);
  assert.match(await send('c CREATE Kept'), /^c OK/);
  assert.match(await send('c2 COPY 1 Kept'), /c2 OK/);
  await send('s2 SELECT Kept');
  assert.match(
    await send('f2 UID FETCH 1 (EMAILID)'),
    new RegExp(`\\* 1 FETCH \\(UID 1 EMAILID \\(${one.email}\\)\\)`),
  );
});

test('RFC 8474 6/7: SEARCH EMAILID and THREADID; ids of the wrong kind or malformed', async () => {
  const { send } = await setup();
  await send('s SELECT INBOX');
  const r = await send('f FETCH 1:3 (EMAILID THREADID)');
  const ids = [...r.matchAll(/EMAILID \(([^)]+)\) THREADID \(([^)]+)\)/g)].map((x) => [
    x[1] as string,
    x[2] as string,
  ]);
  const [e1, t1] = ids[0] as [string, string];
  const [e3] = ids[2] as [string, string];
  assert.match(await send(`a SEARCH EMAILID ${e3}`), /^\* SEARCH 3\r\n/);
  assert.match(await send(`b SEARCH THREADID ${t1}`), /^\* SEARCH 1 2\r\n/);
  assert.match(await send(`c UID SEARCH NOT THREADID ${t1}`), /^\* SEARCH 3\r\n/);
  assert.match(await send(`d SEARCH EMAILID ${t1}`), /^\* SEARCH\r\n/, 'a thread id is no email id');
  assert.match(await send(`e SEARCH THREADID ${e1}`), /^\* SEARCH\r\n/);
  assert.match(await send('g SEARCH EMAILID M-nope'), /^\* SEARCH\r\n/);
  assert.match(await send('h SEARCH EMAILID "a b"'), /^h BAD/);
});
