// Real clients against `mailroom serve` on mail delivered over SMTP by nodemailer: imaplib sort()/thread() (RFC 5256); imaplib and imapflow LIST-STATUS, ESEARCH, SAVEDATE.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';

let server: MailroomInstance;

before(async () => {
  server = await createMailroom({ enable: ['imap'] });
  server.cli(['domain', 'add', 'example.test']);
  server.cli(['user', 'add', 'sorter@example.test', '--password', 'sort-secret']);
  await server.start();
});

after(async () => {
  await server.cleanup();
});

/** One message over SMTP with the threading headers nodemailer lets a sender set. */
async function send(m: {
  from: string;
  subject: string;
  date: string;
  id: string;
  replyTo?: string[];
}): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: server.ports.smtp,
    name: 'client.example.net',
    tls: { rejectUnauthorized: false },
  });
  const info = await transport.sendMail({
    from: m.from,
    to: 'sorter@example.test',
    subject: m.subject,
    date: new Date(m.date),
    messageId: `<${m.id}@example.net>`,
    ...(m.replyTo
      ? {
          inReplyTo: `<${m.replyTo[m.replyTo.length - 1]}@example.net>`,
          references: m.replyTo.map((r) => `<${r}@example.net>`),
        }
      : {}),
    text: `${m.subject}\n`,
  });
  assert.deepEqual(info.accepted, ['sorter@example.test']);
}

test('imaplib: sort() and thread() with REFERENCES and ORDEREDSUBJECT, and their UID forms', async () => {
  await send({ from: 'Zed <zed@example.net>', subject: 'Budget', date: '2026-11-02T10:00:00Z', id: 'a' });
  await send({
    from: 'amy@example.net',
    subject: 'Re: Budget',
    date: '2026-11-02T12:00:00Z',
    id: 'b',
    replyTo: ['a'],
  });
  await send({
    from: 'Bob <bob@example.net>',
    subject: '[team] Offsite',
    date: '2026-11-02T08:00:00Z',
    id: 'c',
  });
  await send({
    from: 'cy@example.net',
    subject: 'Re: Re: Budget',
    date: '2026-11-02T11:00:00Z',
    id: 'd',
    replyTo: ['a', 'b'],
  });
  const result = spawnSync(
    'python3',
    [
      '-c',
      `
import imaplib, json
s = lambda v: [x.decode() for x in v]
M = imaplib.IMAP4('127.0.0.1', ${server.ports.imap})
M.login('sorter@example.test', 'sort-secret')
r = {'caps': sorted(c for c in M.capability()[1][0].decode().split() if c.startswith(('SORT', 'THREAD', 'ESORT')))}
M.select('INBOX')
r['date'] = s(M.sort('(DATE)', 'UTF-8', 'ALL')[1])
r['subject'] = s(M.sort('(SUBJECT REVERSE DATE)', 'UTF-8', 'ALL')[1])
r['from'] = s(M.sort('(FROM)', 'UTF-8', 'ALL')[1])
r['displayfrom'] = s(M.sort('(DISPLAYFROM)', 'UTF-8', 'ALL')[1])
r['search'] = s(M.sort('(REVERSE ARRIVAL)', 'UTF-8', 'SUBJECT', 'budget')[1])
r['uidsort'] = s(M.uid('SORT', '(DATE)', 'UTF-8', 'ALL')[1])
r['references'] = s(M.thread('REFERENCES', 'UTF-8', 'ALL')[1])
r['ordered'] = s(M.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL')[1])
r['uidthread'] = s(M.uid('THREAD', 'REFERENCES', 'UTF-8', 'ALL')[1])
typ, data = M.sort('(DATE)', 'KOI8-R', 'ALL')
r['badcharset'] = typ + ' ' + data[0].decode()
M.logout()
print(json.dumps(r))
`,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(result.status, 0, `python failed: ${result.stderr}`);
  const r = JSON.parse(result.stdout) as Record<string, unknown>;
  assert.deepEqual(r.caps, ['ESORT', 'SORT', 'SORT=DISPLAY', 'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES']);
  // Sent dates: c 08:00, a 10:00, d 11:00, b 12:00.
  assert.deepEqual(r.date, ['3 1 4 2']);
  // Base subjects BUDGET (1, 2, 4) and OFFSITE (3); within BUDGET newest first.
  assert.deepEqual(r.subject, ['2 4 1 3']);
  // addr-mailbox: amy, bob, cy, zed; display: amy@example.net, Bob, cy@example.net, Zed.
  assert.deepEqual(r.from, ['2 3 4 1']);
  assert.deepEqual(r.displayfrom, ['2 3 4 1']);
  assert.deepEqual(r.search, ['4 2 1']);
  assert.deepEqual(r.uidsort, ['3 1 4 2']);
  // a <- b <- d by References; c alone and older.
  assert.deepEqual(r.references, ['(3)(1 2 4)']);
  // ORDEREDSUBJECT: BUDGET is a (10:00), d (11:00), b (12:00).
  assert.deepEqual(r.ordered, ['(3)(1 (4)(2))']);
  assert.deepEqual(r.uidthread, ['(3)(1 2 4)']);
  assert.match(r.badcharset as string, /^NO \[BADCHARSET/);
});

test('imaplib and imapflow: LIST-STATUS (RFC 5819), ESEARCH (RFC 4731) and SAVEDATE (RFC 8514) on the same mail', async () => {
  // The four messages of the test above are in INBOX, none read.
  const result = spawnSync(
    'python3',
    [
      '-c',
      `
import imaplib, json
M = imaplib.IMAP4('127.0.0.1', ${server.ports.imap})
M.login('sorter@example.test', 'sort-secret')
r = {}
typ, data = M.list('""', '"INBOX" RETURN (STATUS (MESSAGES UNSEEN))')
r['list'] = [d.decode() for d in data]
r['status'] = [d.decode() for d in M.response('STATUS')[1]]
M.select('INBOX')
typ, data = M.search(None, 'RETURN (MIN MAX COUNT) SUBJECT budget')
r['esearch'] = [d.decode() for d in M.response('ESEARCH')[1]]
typ, data = M.fetch('1', '(SAVEDATE)')
r['savedate'] = data[0].decode()
typ, data = M.search(None, 'SAVEDATESUPPORTED')
r['supported'] = data[0].decode()
M.logout()
print(json.dumps(r))
`,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(result.status, 0, `python failed: ${result.stderr}`);
  const r = JSON.parse(result.stdout) as Record<string, string[] | string>;
  assert.match(String(r.list), /\) "\/" "?INBOX"?/);
  assert.deepEqual(r.status, ['"INBOX" (MESSAGES 4 UNSEEN 4)']);
  assert.match(String(r.esearch), /^\(TAG "[^"]+"\) MIN 1 MAX 4 COUNT 3$/);
  assert.match(r.savedate as string, /^1 \(SAVEDATE "[ \d]\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d \+0000"\)$/);
  assert.equal(r.supported, '1 2 3 4');

  // imapflow asks LIST-STATUS itself when the server offers it (lib/commands/list.js), and ESEARCH for returnOptions.
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: server.ports.imap as number,
    secure: false,
    auth: { user: 'sorter@example.test', pass: 'sort-secret' },
    tls: { rejectUnauthorized: false },
    logger: false,
  });
  await client.connect();
  try {
    const boxes = await client.list({ statusQuery: { messages: true, unseen: true } });
    const inbox = boxes.find((b) => b.path === 'INBOX');
    assert.deepEqual([inbox?.status?.messages, inbox?.status?.unseen], [4, 4]);
    const lock = await client.getMailboxLock('INBOX');
    try {
      const found = await client.search({ subject: 'budget' }, { returnOptions: ['COUNT', 'MIN'] } as never);
      assert.deepEqual(found, { count: 3, min: 1 });
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
});
