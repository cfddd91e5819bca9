// The HTTP route table: JMAP paths with their parameters, 404 and 405, percent-decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchRoute } from '../../../src/http/router.js';
import { contentDisposition, isMediaType } from '../../../src/http/security-headers.js';

test('the JMAP endpoints', () => {
  assert.deepEqual(matchRoute('GET', '/.well-known/jmap'), { kind: 'route', route: 'session', params: {} });
  assert.deepEqual(matchRoute('POST', '/jmap/api'), { kind: 'route', route: 'api', params: {} });
  assert.deepEqual(matchRoute('POST', '/jmap/upload/A1/'), {
    kind: 'route',
    route: 'upload',
    params: { accountId: 'A1' },
  });
  assert.deepEqual(matchRoute('GET', '/jmap/download/A1/U7/r%C3%A9sum%C3%A9%20final.pdf'), {
    kind: 'route',
    route: 'download',
    params: { accountId: 'A1', blobId: 'U7', name: 'résumé final.pdf' },
  });
  assert.deepEqual(matchRoute('GET', '/jmap/eventsource/'), {
    kind: 'route',
    route: 'eventsource',
    params: {},
  });
});

test('the web mail: sign-in and sign-out, and its files everywhere else', () => {
  assert.deepEqual(matchRoute('POST', '/web/signin'), { kind: 'route', route: 'signin', params: {} });
  assert.deepEqual(matchRoute('POST', '/web/signout'), { kind: 'route', route: 'signout', params: {} });
  for (const path of ['/', '/index.html', '/assets/index-abc.js', '/mailbox/Inbox'])
    assert.deepEqual(matchRoute('GET', path), { kind: 'route', route: 'static', params: {} }, path);
  assert.deepEqual(matchRoute('POST', '/'), { kind: 'method-not-allowed', allow: 'GET, HEAD' });
});

test('404, 405 with Allow, undecodable parameters, traversal-looking names stay one segment', () => {
  assert.deepEqual(matchRoute('GET', '/jmap/nope'), { kind: 'not-found' });
  assert.deepEqual(matchRoute('GET', '/.well-known/nope'), { kind: 'not-found' });
  assert.deepEqual(matchRoute('GET', '/web/signin'), { kind: 'method-not-allowed', allow: 'POST' });
  assert.deepEqual(matchRoute('GET', '/jmap/api'), { kind: 'method-not-allowed', allow: 'POST' });
  assert.deepEqual(matchRoute('DELETE', '/.well-known/jmap'), {
    kind: 'method-not-allowed',
    allow: 'GET, HEAD',
  });
  assert.deepEqual(matchRoute('GET', '/jmap/download/A1/U7/%E0%A4%A'), { kind: 'not-found' });
  assert.deepEqual(matchRoute('GET', '/jmap/download/A1/U7/a/b'), { kind: 'not-found' });
  const m = matchRoute('GET', '/jmap/download/A1/U7/..%2F..%2Fetc%2Fpasswd');
  assert.equal(m.kind === 'route' && m.params.name, '../../etc/passwd'); // only ever a download file name
});

test('download headers: Content-Disposition always attachment with an RFC 8187 name; accept= must be a media type', () => {
  assert.equal(
    contentDisposition('a "b".txt'),
    `attachment; filename="a _b_.txt"; filename*=UTF-8''a%20%22b%22.txt`,
  );
  assert.equal(
    contentDisposition('x\r\nSet-Cookie: a'),
    `attachment; filename="x__Set-Cookie: a"; filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a`,
  );
  for (const ok of ['text/plain', 'application/pdf', 'text/plain; charset=utf-8', 'image/svg+xml'])
    assert.ok(isMediaType(ok), ok);
  for (const bad of ['', 'text', 'text/', 'text/html\r\nX: 1', 'a/b; c', '<script>/x'])
    assert.ok(!isMediaType(bad), bad);
});
