// Web mail sessions, cookies and CSRF checks (pure): expiry, bounds, revocation by credential, origin and token rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WEB_SESSION_LIMITS } from '../../../src/config/limits.js';
import {
  checkCsrfToken,
  checkOrigin,
  credentialOf,
  readCookie,
  sessionCookie,
  WebSessions,
  type WebSessionLimits,
} from '../../../src/http/web-session.js';

function table(limits: WebSessionLimits = WEB_SESSION_LIMITS) {
  let clock = 1_000_000;
  let n = 0;
  const random = (bytes: number) => Buffer.alloc(bytes, ++n);
  const sessions = new WebSessions(() => clock, random, limits);
  return { sessions, tick: (ms: number) => void (clock += ms) };
}
const alice = { id: 1, address: 'alice@example.test', passwordHash: 'scrypt$a' };

test('a session: 256-bit cookie, a separate CSRF token, the credential of the password hash', () => {
  const { sessions } = table();
  const { cookieValue, session } = sessions.create(alice);
  assert.equal(Buffer.from(cookieValue, 'base64url').length, 32);
  assert.notEqual(session.csrfToken, cookieValue);
  assert.equal(session.credential, credentialOf('scrypt$a'));
  assert.notEqual(session.credential, credentialOf('scrypt$b'));
  assert.equal(sessions.use(cookieValue)?.address, 'alice@example.test');
  assert.equal(sessions.use('not-a-session'), null);
});

test('idle expiry is pushed back by use; absolute expiry is not', () => {
  const { sessions, tick } = table();
  const { cookieValue } = sessions.create(alice);
  const step = WEB_SESSION_LIMITS.idleTimeoutMs - 1;
  let elapsed = 0;
  while (elapsed + step < WEB_SESSION_LIMITS.absoluteTimeoutMs) {
    tick(step);
    elapsed += step;
    assert.ok(sessions.use(cookieValue), `alive after ${elapsed} ms of regular use`);
  }
  tick(WEB_SESSION_LIMITS.absoluteTimeoutMs - elapsed);
  assert.equal(sessions.use(cookieValue), null, 'gone after the absolute lifetime');
  const again = sessions.create(alice);
  tick(WEB_SESSION_LIMITS.idleTimeoutMs);
  assert.equal(sessions.use(again.cookieValue), null, 'gone after the idle timeout');
});

test('bounded per account and in all (least recently used goes first); sign-out and dropAccount', () => {
  const limits = { ...WEB_SESSION_LIMITS, maxSessions: 5, maxSessionsPerAccount: 3 };
  const { sessions } = table(limits);
  const a = [1, 2, 3].map(() => sessions.create(alice).cookieValue);
  sessions.use(a[0]!); // a[1] is now alice's least recently used
  const a4 = sessions.create(alice).cookieValue;
  assert.equal(sessions.use(a[1]!), null);
  assert.ok(sessions.use(a[0]!) && sessions.use(a[2]!) && sessions.use(a4));
  const others = [2, 3, 4].map((id) => sessions.create({ ...alice, id, address: `u${id}@x` }).cookieValue);
  assert.equal(sessions.size, 5);
  assert.ok(sessions.use(others[2]!));
  sessions.drop(others[2]!);
  assert.equal(sessions.use(others[2]!), null);
  sessions.dropAccount(1);
  assert.equal(sessions.use(a4), null);
});

test('cookie attributes: HttpOnly, SameSite=Strict, Path=/, Secure only over TLS; clearing sets Max-Age=0', () => {
  assert.equal(
    sessionCookie('v', true),
    `mailroom_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=${WEB_SESSION_LIMITS.absoluteTimeoutMs / 1000}; Secure`,
  );
  assert.doesNotMatch(sessionCookie('v', false), /Secure/);
  assert.match(sessionCookie(null, false), /^mailroom_session=; .*Max-Age=0/);
  assert.equal(readCookie('a=1; mailroom_session=xyz; b=2', 'mailroom_session'), 'xyz');
  assert.equal(readCookie('mailroom_sessionx=1', 'mailroom_session'), null);
  assert.equal(readCookie(undefined, 'mailroom_session'), null);
});

test('origin check: own Origin or same-origin fetch metadata; another site, or neither header, is refused', () => {
  const own = 'https://mail.example.test';
  const rows: [string | undefined, string | undefined, boolean][] = [
    [own, undefined, true],
    [own, 'same-origin', true],
    [undefined, 'same-origin', true],
    ['https://evil.example', undefined, false],
    ['https://evil.example', 'cross-site', false],
    [own, 'same-site', false], // a sibling subdomain is another origin
    ['null', undefined, false], // sandboxed frames and data: pages
    [undefined, 'cross-site', false],
    [undefined, undefined, false],
    ['http://mail.example.test', undefined, false], // the same host without TLS is another origin
  ];
  for (const [origin, secFetchSite, ok] of rows)
    assert.equal(
      checkOrigin({ origin, secFetchSite, ownOrigin: own }) === null,
      ok,
      `${origin} ${secFetchSite}`,
    );
});

test('token check: the session token exactly', () => {
  const { sessions } = table();
  const { session } = sessions.create(alice);
  assert.equal(checkCsrfToken(session.csrfToken, session), null);
  assert.equal(checkCsrfToken(undefined, session), 'no CSRF token');
  assert.equal(checkCsrfToken(session.csrfToken + 'x', session), 'wrong CSRF token');
  assert.equal(checkCsrfToken('', session), 'wrong CSRF token');
});
