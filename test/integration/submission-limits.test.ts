// Per-account submission limits shared by SMTP submission and JMAP EmailSubmission (issue 10 item 5), in-process server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { startJmapServer, type JmapTestServer } from '../helpers/jmap-server.js';

let s: JmapTestServer;
before(async () => {
  s = await startJmapServer(
    '[limits]\nsubmission_messages_per_hour = 2\nsubmission_recipients_per_hour = 3',
    ['submission'],
  );
});
after(async () => {
  await s.close();
  rmSync(s.dataDir, { recursive: true, force: true });
});

const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:submission'];

/** One JMAP call with the submission capability; its first response's arguments. */
async function call(
  name: string,
  args: Record<string, unknown>,
  auth: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${s.base}/jmap/api`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ using: USING, methodCalls: [[name, args, '0']] }),
  });
  const body = (await res.json()) as { methodResponses: [string, Record<string, unknown>, string][] };
  return body.methodResponses[0]![1];
}

let drafts = 0;

/** A JMAP EmailSubmission of a new draft from `who` to `to`; returns the set response's created/notCreated. */
async function jmapSend(who: 'bob' | 'carol', to: string[]) {
  const account = s[who];
  const subject = `draft ${++drafts}`;
  await s.append(
    account.storeId,
    'Drafts',
    `From: ${who}@example.test\r\nTo: ${to.join(', ')}\r\nSubject: ${subject}\r\n\r\nhi\r\n`,
  );
  const q = await call('Email/query', { accountId: account.id, filter: { subject } }, account.auth);
  const ids = await call('Identity/get', { accountId: account.id, ids: null }, account.auth);
  const identityId = (ids.list as { id: string; email: string }[]).find(
    (i) => i.email === `${who}@example.test`,
  )!.id;
  const set = await call(
    'EmailSubmission/set',
    { accountId: account.id, create: { k: { identityId, emailId: (q.ids as string[])[0] } } },
    account.auth,
  );
  return set as { created?: Record<string, unknown>; notCreated?: Record<string, { type: string }> };
}

/** An SMTP submission session as bob; `lines` are sent one at a time and the reply code of each returned. */
async function smtp(lines: string[]): Promise<string[]> {
  const socket = net.connect(s.server.addresses.submission![0]!.port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (d) => (text += d.toString()));
  const next = async () => {
    const deadline = Date.now() + 5000;
    while (!/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(text)) {
      if (Date.now() > deadline) throw new Error(`no reply: ${JSON.stringify(text)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const last = text.trim().split('\r\n').at(-1)!;
    text = '';
    return last;
  };
  await next();
  const out: string[] = [];
  const auth = Buffer.from('\0bob@example.test\0bob secret').toString('base64');
  for (const line of ['EHLO c.test', `AUTH PLAIN ${auth}`, ...lines]) {
    socket.write(`${line}\r\n`);
    out.push((await next()).slice(0, 9));
  }
  socket.end('QUIT\r\n');
  return out.slice(2);
}

describe('submission limits per account and hour (SMTP and JMAP share them)', () => {
  test('messages and recipients over the hour get 451 4.7.1 on SMTP and forbiddenToSend on JMAP; other accounts are not affected', async () => {
    // 1 message, 1 recipient over JMAP.
    assert.ok((await jmapSend('bob', ['carol@example.test'])).created?.k);
    // SMTP: the 3rd recipient of the hour is the last one allowed; the 4th is refused at RCPT.
    const r = await smtp([
      'MAIL FROM:<bob@example.test>',
      'RCPT TO:<carol@example.test>',
      'RCPT TO:<bob@example.test>',
      'RCPT TO:<postmaster@example.test>',
      'DATA',
      'Subject: y\r\n\r\nbody\r\n.',
    ]);
    assert.deepEqual(r, ['250 2.1.0', '250 2.1.5', '250 2.1.5', '451 4.7.1', '354 End d', '250 2.0.0']);
    // Two messages sent in the hour: the next is refused at MAIL, and over JMAP.
    assert.deepEqual(await smtp(['MAIL FROM:<bob@example.test>']), ['451 4.7.1']);
    const refused = await jmapSend('bob', ['carol@example.test']);
    assert.equal(refused.notCreated?.k?.type, 'forbiddenToSend');
    // Carol has her own counters.
    assert.ok((await jmapSend('carol', ['bob@example.test'])).created?.k);
  });
});
