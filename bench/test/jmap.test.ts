// Unit tests of the JMAP bench's pure parts: the request it sends, the checks of both servers' answers, the bench config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkImapPage, checkPage, pageRequest, PAGE } from '../jmap/load.js';
import { internalDate } from '../imap/messages.js';
import { mailroomConfig } from '../peers/mailroom.js';
import { HttpConnection, HttpResponseReader, requestBytes, type HttpAnswer } from '../jmap/http-client.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

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

void test('HttpResponseReader: answers framed by Content-Length at every split; chunked, lengthless or malformed answers are errors', () => {
  const body = JSON.stringify({ methodResponses: [['Core/echo', { s: 'é€😀' }, 'e']] });
  const one = (status: number, b: string) =>
    `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\ncontent-length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
  const stream = Buffer.from(one(200, body) + one(429, '{}') + one(204, ''), 'utf8');
  for (let cut = 0; cut <= stream.length; cut += 7) {
    const got: HttpAnswer[] = [];
    const r = new HttpResponseReader(
      (a) => got.push(a),
      (e) => assert.fail(e),
    );
    r.push(stream.subarray(0, cut));
    for (let i = cut; i < stream.length; i += 13) r.push(stream.subarray(i, Math.min(stream.length, i + 13)));
    assert.deepEqual(got, [
      { status: 200, body },
      { status: 429, body: '{}' },
      { status: 204, body: '' },
    ]);
  }
  for (const [bad, why] of [
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', /chunked/],
    ['HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}', /one Content-Length/],
    ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', /one Content-Length/],
    ['HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n{}', /malformed status/],
  ] as const) {
    const errors: Error[] = [];
    new HttpResponseReader(
      () => assert.fail('no answer expected'),
      (e) => errors.push(e),
    ).push(Buffer.from(bad));
    assert.match(errors[0]?.message ?? '', why);
  }
});

void test('HttpConnection: the same request bytes again and again on one connection; a closed one is opened again', async () => {
  const seen: string[] = [];
  let sockets = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization} ${body}`);
      if (body === 'bye') res.setHeader('Connection', 'close');
      const answer = JSON.stringify({ echo: body });
      res.writeHead(body === 'busy' ? 429 : 200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(answer),
      });
      res.end(answer);
    });
  });
  server.on('connection', () => sockets++);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  const conn = new HttpConnection(port);
  try {
    const req = requestBytes('POST', '/jmap/api/', port, { Authorization: 'Basic eA==' }, 'page');
    for (let i = 0; i < 3; i++)
      assert.deepEqual(await conn.send(req), { status: 200, body: '{"echo":"page"}' });
    const busy = requestBytes('POST', '/jmap/api/', port, {}, 'busy');
    assert.equal((await conn.send(busy)).status, 429);
    assert.equal(sockets, 1, 'one keep-alive connection');
    await conn.send(requestBytes('POST', '/x', port, {}, 'bye'));
    assert.deepEqual(await conn.send(req), { status: 200, body: '{"echo":"page"}' });
    assert.equal(sockets, 2, 'opened again after the server closed it');
    assert.equal(seen[0], 'POST /jmap/api/ Basic eA== page');
  } finally {
    conn.close();
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});
