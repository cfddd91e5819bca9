// The web mail's HTTP side over real HTTP (in-process server on port 0): sign-in cookie, CSRF refusals, revocation, static files and headers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseConfigText } from '../../src/config/load.js';
import { createHttpServer } from '../../src/http/server.js';
import { createStaticFiles } from '../../src/http/static.js';
import { WEB_PAGE_CSP } from '../../src/http/security-headers.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const CORE = 'urn:ietf:params:jmap:core';
let server: RunningServer;
let dir: string;
let base: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-web-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      ...['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s'].map(
        (s) => `[${s}]\nlisten = []`,
      ),
      '[http]\nlisten = ["127.0.0.1:0"]',
      '[https]\nlisten = ["127.0.0.1:0"]',
      '[metrics]\nlisten = []',
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  server = await startServer({ config, logger: silentLogger(), shutdownGraceMs: 200 });
  server.store.addDomain('example.test');
  server.store.addAccount('bob@example.test', await hashPassword('bob secret', { params: PARAMS }));
  base = `http://127.0.0.1:${server.addresses.http![0]!.port}`;
});

after(async () => {
  await server.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function signIn(email: string, password: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/web/signin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base, ...headers },
    body: JSON.stringify({ email, password }),
  });
}

async function session(): Promise<{ cookie: string; token: string; setCookie: string }> {
  const res = await signIn('bob@example.test', 'bob secret');
  assert.equal(res.status, 200);
  const setCookie = res.headers.get('set-cookie')!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie: setCookie.split(';')[0]!, token: csrfToken, setCookie };
}

const echo = JSON.stringify({ using: [CORE], methodCalls: [['Core/echo', { hello: true }, 'c0']] });

function api(headers: Record<string, string>): Promise<Response> {
  return fetch(`${base}/jmap/api`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: echo,
  });
}

describe('browser sign-in', () => {
  test('right password: a session cookie HttpOnly, SameSite=Strict, not Secure over loopback HTTP', async () => {
    const { setCookie } = await session();
    assert.match(
      setCookie,
      /^mailroom_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
  });

  test('over https the cookie is Secure', async () => {
    const port = server.addresses.https![0]!.port;
    const setCookie = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/web/signin',
          method: 'POST',
          rejectUnauthorized: false,
          headers: { 'content-type': 'application/json', origin: `https://127.0.0.1:${port}` },
        },
        (res) => {
          res.resume();
          resolve(String(res.headers['set-cookie']));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ email: 'bob@example.test', password: 'bob secret' }));
    });
    assert.match(setCookie, /HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
  });

  test('wrong password and unknown user: the same 401, no cookie; other origin or not JSON: refused', async () => {
    for (const [email, password] of [
      ['bob@example.test', 'wrong'],
      ['nobody@example.test', 'x'],
    ] as const) {
      const res = await signIn(email, password);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('set-cookie'), null);
    }
    assert.equal(
      (await signIn('bob@example.test', 'bob secret', { origin: 'http://evil.test' })).status,
      403,
    );
    const form = await fetch(`${base}/web/signin`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: 'email=bob%40example.test&password=bob+secret',
    });
    assert.equal(form.status, 415);
  });
});

describe('cookie authentication and CSRF', () => {
  test('the session resource works with the cookie and hands back the CSRF token', async () => {
    const { cookie, token } = await session();
    const res = await fetch(`${base}/.well-known/jmap`, { headers: { cookie } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-mailroom-csrf'), token);
    assert.equal(((await res.json()) as { username: string }).username, 'bob@example.test');
  });

  test('a state-changing request needs our Origin (or same-origin fetch metadata) AND the token', async () => {
    const { cookie, token } = await session();
    const ok = await api({ cookie, origin: base, 'x-mailroom-csrf': token });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { methodResponses: unknown[][] }).methodResponses[0]![0], 'Core/echo');
    assert.equal(
      (await api({ cookie, 'sec-fetch-site': 'same-origin', 'x-mailroom-csrf': token })).status,
      200,
    );
    const refused: Record<string, string>[] = [
      { cookie, origin: base }, // no token
      { cookie, origin: base, 'x-mailroom-csrf': 'guess' },
      { cookie, origin: 'http://evil.test', 'x-mailroom-csrf': token },
      { cookie, 'sec-fetch-site': 'cross-site', 'x-mailroom-csrf': token },
      { cookie, 'x-mailroom-csrf': token }, // neither Origin nor Sec-Fetch-Site
    ];
    for (const headers of refused) assert.equal((await api(headers)).status, 403, JSON.stringify(headers));
    const upload = await fetch(`${base}/jmap/upload/A1/`, {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.test' },
      body: 'x',
    });
    assert.equal(upload.status, 403);
  });

  test('sign-out ends the session; the cookie no longer works', async () => {
    const { cookie, token } = await session();
    assert.equal(
      (
        await fetch(`${base}/web/signout`, {
          method: 'POST',
          headers: { cookie, origin: 'http://evil.test', 'x-mailroom-csrf': token },
        })
      ).status,
      403,
    );
    const out = await fetch(`${base}/web/signout`, {
      method: 'POST',
      headers: { cookie, origin: base, 'x-mailroom-csrf': token },
    });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie')!, /Max-Age=0/);
    const after = await fetch(`${base}/.well-known/jmap`, {
      headers: { cookie, 'x-mailroom-client': 'web' },
    });
    assert.equal(after.status, 401);
    assert.doesNotMatch(after.headers.get('www-authenticate') ?? '', /Basic/); // no browser password dialog
  });

  test('a password change (as the CLI does it, in the store) ends the sessions of that account', async () => {
    const { cookie } = await session();
    assert.equal((await fetch(`${base}/.well-known/jmap`, { headers: { cookie } })).status, 200);
    server.store.setPasswordHash('bob@example.test', await hashPassword('bob secret', { params: PARAMS }));
    assert.equal((await fetch(`${base}/.well-known/jmap`, { headers: { cookie } })).status, 401);
  });

  test('user disable ends the web sessions of that account and refuses cookie, Basic and sign-in; enable restores', async () => {
    const { cookie } = await session();
    const basic = { authorization: `Basic ${Buffer.from('bob@example.test:bob secret').toString('base64')}` };
    server.store.setAccountState('bob@example.test', 'disabled');
    try {
      assert.equal((await fetch(`${base}/.well-known/jmap`, { headers: { cookie } })).status, 401);
      assert.equal((await fetch(`${base}/.well-known/jmap`, { headers: basic })).status, 401);
      assert.equal((await signIn('bob@example.test', 'bob secret')).status, 401);
    } finally {
      server.store.setAccountState('bob@example.test', 'active');
    }
    assert.equal((await fetch(`${base}/.well-known/jmap`, { headers: basic })).status, 200);
    await session();
  });
});

describe('static files', () => {
  test('the page with its CSP and no-cache, hashed assets immutable, client routes get the page, ETag 304, no traversal', async () => {
    const root = join(dir, 'web');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(
      join(root, 'index.html'),
      '<!doctype html><title>Mail</title><script type="module" src="/assets/app-abc.js"></script>',
    );
    writeFileSync(join(root, 'assets', 'app-abc.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'secret');
    const files = createStaticFiles(root);
    const http = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (!files.serve(req, res, url.pathname, false)) {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const at = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      const page = await fetch(`${at}/`);
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(page.headers.get('content-security-policy'), WEB_PAGE_CSP);
      assert.equal(page.headers.get('cache-control'), 'no-cache');
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      assert.doesNotMatch(WEB_PAGE_CSP, /script-src[^;]*(?:unsafe|https?:|\*)/);
      assert.match(WEB_PAGE_CSP, /frame-ancestors 'none'/);
      const js = await fetch(`${at}/assets/app-abc.js`);
      assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      const etag = js.headers.get('etag')!;
      assert.equal(
        (await fetch(`${at}/assets/app-abc.js`, { headers: { 'if-none-match': etag } })).status,
        304,
      );
      assert.equal(
        await (await fetch(`${at}/mailbox/Inbox`)).text(),
        await (await fetch(`${at}/index.html`)).text(),
      );
      assert.equal((await fetch(`${at}/assets/missing.js`)).status, 404);
      assert.equal((await fetch(`${at}/../secret.txt`)).status, 404);
      assert.equal((await fetch(`${at}/%2e%2e/secret.txt`)).status, 404);
    } finally {
      await new Promise<void>((r) => http.close(() => r()));
    }
  });
});
