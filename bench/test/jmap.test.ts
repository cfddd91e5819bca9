// Unit tests of the JMAP bench's pure parts: the request it sends, the checks of both servers' answers, the bench config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkImapPage, checkPage, pageRequest, PAGE } from '../jmap/load.js';
import { internalDate } from '../imap/messages.js';
import { mailroomConfig } from '../peers/mailroom.js';

const email = (i: number) => ({
  id: `M${i}`,
  from: [{ name: null, email: 'a@b' }],
  subject: 's',
  preview: 'p',
  keywords: {},
  receivedAt: internalDate(i)
    .toISOString()
    .replace(/\.000Z$/, 'Z'),
});
const answer = (list: unknown[], status = 200) => ({
  status,
  body: JSON.stringify({
    methodResponses: [
      ['Email/query', { ids: [] }, 'q'],
      ['Email/get', { list }, 'g'],
    ],
  }),
});

void test('pageRequest: Email/query newest 50 in INBOX, then Email/get of #ids with the list properties', () => {
  const r = JSON.parse(pageRequest('A1', 'MB1')) as {
    methodCalls: [string, Record<string, unknown>, string][];
  };
  const [q, g] = r.methodCalls;
  assert.deepEqual(q?.[1], {
    accountId: 'A1',
    filter: { inMailbox: 'MB1' },
    sort: [{ property: 'receivedAt', isAscending: false }],
    limit: PAGE,
  });
  assert.deepEqual(g?.[1]['#ids'], { resultOf: 'q', name: 'Email/query', path: '/ids' });
  assert.deepEqual(g?.[1].properties, ['from', 'subject', 'preview', 'keywords', 'receivedAt']);
});

void test('checkPage: right page passes; a 429, a short list, a missing property or the wrong order fail', () => {
  const count = 1000;
  const good = Array.from({ length: PAGE }, (_, k) => email(count - 1 - k));
  assert.equal(checkPage(answer(good), count), null);
  assert.match(checkPage(answer(good, 429), count) ?? '', /HTTP 429/);
  assert.match(checkPage(answer(good.slice(1)), count) ?? '', /listed 49 of 50/);
  const { preview: _drop, ...noPreview } = good[0]!;
  assert.match(checkPage(answer([noPreview, ...good.slice(1)]), count) ?? '', /without preview/);
  assert.match(checkPage(answer([...good].reverse()), count) ?? '', /first receivedAt/);
});

void test('checkImapPage: 50 FETCH responses with ENVELOPE and FLAGS for the last 50; anything else fails', () => {
  const count = 120;
  const fetches = Array.from({ length: PAGE }, (_, k) => ({
    text: `${count - k} FETCH (FLAGS () ENVELOPE ("d" "s" NIL NIL NIL NIL NIL NIL NIL NIL))`,
  }));
  assert.equal(checkImapPage({ status: 'OK', text: 'OK', untagged: fetches }, count), null);
  assert.match(checkImapPage({ status: 'NO', text: 'NO x', untagged: fetches }, count) ?? '', /FETCH: NO/);
  assert.match(
    checkImapPage({ status: 'OK', text: 'OK', untagged: fetches.slice(1) }, count) ?? '',
    /49 FETCH responses/,
  );
  const noEnvelope = [{ text: `${count} FETCH (FLAGS ())` }, ...fetches.slice(1)];
  assert.match(
    checkImapPage({ status: 'OK', text: 'OK', untagged: noEnvelope }, count) ?? '',
    /without ENVELOPE/,
  );
});

void test('mailroom config: the JMAP bench turns on [http] and Basic over loopback; other benches do not', () => {
  const base = { cli: 'x', port: 3025, domain: 'd.test', user: 'u', maxConnections: 100 };
  const withHttp = mailroomConfig('/tmp/mr', { ...base, httpPort: 8081 });
  assert.match(withHttp, /\[http\]\nlisten = \["127\.0\.0\.1:8081"\]/);
  assert.match(withHttp, /\[auth\]\nallow_loopback_plaintext = true/);
  assert.match(withHttp, /\[https\]\nlisten = \[\]/);
  const without = mailroomConfig('/tmp/mr', base);
  assert.match(without, /\[http\]\nlisten = \[\]/);
  assert.doesNotMatch(without, /allow_loopback_plaintext/);
});
