// The web mail in a real browser (Debian's chromium via playwright-core): sign-in by role and name, cookie flags, CSRF, CSP, the hostile corpus.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { SHOTS, deliver, launchBrowser } from '../helpers/web-browser.js';

let server: MailroomInstance;
let browser: Browser;
let base: string;
/** A second origin on loopback: an attacker's page, and the tracker that counts fetches. */
let other: Server;
let otherBase: string;
const trackerHits: string[] = [];

before(async () => {
  server = await createMailroom({ enable: ['http'] });
  server.cli(['domain', 'add', 'example.test']);
  server.cli(['user', 'add', 'alice@example.test', '--password', 'alice secret']);
  server.cli(['user', 'add', 'bob@example.test', '--password', 'bob secret']);
  server.cli(['user', 'add', 'victim@example.test', '--password', 'victim secret']);
  await server.start();
  base = `http://127.0.0.1:${server.ports.http}`;
  other = createServer((req, res) => {
    if (req.url?.startsWith('/track')) {
      trackerHits.push(req.url);
      res.writeHead(200, { 'Content-Type': 'image/gif' });
      return res.end();
    }
    // The attacker's page: a form posting a JMAP request to the web mail with the victim's cookie.
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(
      `<form method="post" enctype="text/plain" action="${base}/jmap/api"><input name='{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{},"x"]],"p":"' value='"}'><button>Win a prize</button></form>`,
    );
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  browser = await launchBrowser();
  // The hostile corpus as real mail over SMTP, tracker URLs pointing at the loopback tracker above.
  for (const name of CORPUS)
    await deliver(server, {
      from: `Mallory ${name} <mallory-${name}@remote.example>`,
      to: 'victim@example.test',
      subject: `Hostile ${name}`,
      html: readFileSync(
        join(import.meta.dirname, '../fixtures/hostile-html', `${name}.html`),
        'utf8',
      ).replaceAll('{{TRACKER}}', `${otherBase}/track`),
    });
});

const CORPUS = [
  'script',
  'event-handlers',
  'javascript-links',
  'svg',
  'css',
  'base-meta',
  'forms',
  'tracking',
];

after(async () => {
  await browser?.close();
  await new Promise((r) => other?.close(r));
  await server?.cleanup();
});

async function signIn(context: BrowserContext, email: string, password: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(base);
  await page.getByRole('textbox', { name: 'Email' }).fill(email);
  await page.getByRole('textbox', { name: 'Password' }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return page;
}

describe('sign-in, session cookie, sign-out', () => {
  test('sign in by role and name; the cookie is HttpOnly and SameSite=Strict; sign out returns to the form', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(base);
    assert.equal(response?.status(), 200);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'sign-in.png') });
    await page.close();

    const signed = await signIn(context, 'alice@example.test', 'alice secret');
    await signed.getByRole('button', { name: 'Sign out' }).waitFor();
    await signed.getByRole('button', { name: 'Compose' }).waitFor();
    await signed.getByRole('searchbox', { name: 'Search' }).waitFor();
    await signed.waitForTimeout(300);
    await signed.screenshot({ path: join(SHOTS, 'inbox-empty.png') });
    const [cookie] = await context.cookies();
    assert.equal(cookie?.name, 'mailroom_session');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.equal(cookie?.secure, false); // plain loopback HTTP; Secure over TLS (test/integration/web-http.test.ts)
    assert.equal(await signed.evaluate('document.cookie'), '', 'scripts cannot read the session cookie');

    await signed.getByRole('button', { name: 'Sign out' }).click();
    await signed.getByRole('button', { name: 'Sign in' }).waitFor();
    await signed.reload();
    await signed.getByRole('button', { name: 'Sign in' }).waitFor(); // the session is gone server-side too
    await context.close();
  });

  test('a wrong password is refused with an alert, and the next wrong one is slowed', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(base);
    await page.getByRole('textbox', { name: 'Email' }).fill('bob@example.test');
    await page.getByRole('textbox', { name: 'Password' }).fill('wrong 0');
    const answer = page.waitForResponse((r) => r.url().endsWith('/web/signin'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const first = await answer;
    const answeredAt = Date.now();
    assert.equal(first.status(), 401);
    // The next attempt may be checked only a second after this failure (failure-limiter.ts). Timed from the
    // first answer, with the same request sent again at once: in the form, only the wait left after the
    // typing shows, and a slow page between the two attempts would shorten it.
    const request = first.request();
    const headers = Object.fromEntries(
      Object.entries(request.headers()).filter(([name]) => name === 'content-type' || name.startsWith('x-')),
    );
    const again = await page.evaluate(
      async ({ url, body, headers }) => {
        const started = performance.now();
        const response = await fetch(url, { method: 'POST', body, headers, credentials: 'same-origin' });
        return { status: response.status, ms: Math.round(performance.now() - started) };
      },
      { url: request.url(), body: request.postData() ?? '', headers },
    );
    assert.equal(again.status, 401);
    const gap = Date.now() - answeredAt;
    assert.ok(
      gap >= 900,
      `the second failure came ${gap} ms after the first (its request took ${again.ms} ms)`,
    );
    await page.getByRole('alert').filter({ hasText: 'Wrong email or password' }).waitFor();
    await context.close();
  });
});

describe('CSRF and CSP', () => {
  test('a form on another origin posting with the victim cookie is refused (403); our page without the token too', async () => {
    const context = await browser.newContext();
    const page = await signIn(context, 'alice@example.test', 'alice secret');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const attacker = await context.newPage();
    await attacker.goto(otherBase);
    const [response] = await Promise.all([
      attacker.waitForNavigation(),
      attacker.getByRole('button', { name: 'Win a prize' }).click(),
    ]);
    assert.equal(response?.status(), 403);
    // Our own origin, the cookie, but no token: refused; with the token from the session resource: served.
    const statuses = await page.evaluate(async () => {
      const body = JSON.stringify({
        using: ['urn:ietf:params:jmap:core'],
        methodCalls: [['Core/echo', {}, 'x']],
      });
      const without = await fetch('/jmap/api', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      const session = await fetch('/.well-known/jmap');
      const token = session.headers.get('X-Mailroom-CSRF') ?? '';
      const withToken = await fetch('/jmap/api', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Mailroom-CSRF': token },
        body,
      });
      return [without.status, withToken.status];
    });
    assert.deepEqual(statuses, [403, 200]);
    await context.close();
  });

  test('the page has a strict CSP and an inline script does not run', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(base);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    const violations: string[] = [];
    page.on('console', (m) => violations.push(m.text()));
    // A string: the test is compiled without DOM types; it runs in the page.
    const ran = await page.evaluate(`(async () => {
      const s = document.createElement('script');
      s.textContent = 'window.inlineRan = true';
      document.head.append(s);
      await new Promise((r) => setTimeout(r, 100));
      return window.inlineRan === true;
    })()`);
    assert.equal(ran, false);
    assert.ok(
      violations.some((v) => /Content Security Policy/.test(v)),
      violations.join('\n'),
    );
    await context.close();
  });
});

describe('hostile HTML in the reader', () => {
  test('the corpus, shown in the sandboxed frame, runs and fetches nothing until remote content is allowed', async () => {
    const context = await browser.newContext();
    const page = await signIn(context, 'victim@example.test', 'victim secret');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const nav = page.getByRole('navigation', { name: 'Mailboxes' });
    await nav.getByRole('link', { name: /Inbox.*8 unread/ }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'inbox-corpus.png') });
    for (const name of CORPUS) {
      await page.getByRole('link', { name: new RegExp(`Mallory ${name}.*Hostile ${name}`) }).click();
      const heading = page.getByRole('heading', { name: `Hostile ${name}` });
      await heading.waitFor();
      const frame = page.locator('iframe[title="Message body"]');
      await frame.waitFor();
      const sandbox = (await frame.getAttribute('sandbox')) ?? '';
      assert.doesNotMatch(sandbox, /allow-scripts|allow-same-origin/);
      // Hover and click inside, as a reader would.
      await frame.hover();
      await frame.click({ position: { x: 20, y: 20 } }).catch(() => undefined);
      await page.waitForTimeout(250);
      // The message fits the pane: pointing into the frame scrolls nothing under the toolbar (the subject stays readable).
      const bar = (await page.getByRole('toolbar', { name: 'Message actions' }).boundingBox())!;
      const top = (await heading.boundingBox())!.y;
      assert.ok(
        top >= bar.y + bar.height,
        `${name}: heading at ${top}, toolbar ends at ${bar.y + bar.height}`,
      );
      assert.deepEqual(trackerHits, [], `${name}: the tracker was reached`);
    }
    await page.screenshot({ path: join(SHOTS, 'read-hostile.png') });
    assert.deepEqual(dialogs, []);
    await page.getByRole('button', { name: 'Load remote content' }).click();
    await page.waitForTimeout(500);
    assert.ok(
      trackerHits.some((u) => u.includes('pixel.gif')),
      `after allowing: ${trackerHits.join()}`,
    );
    await context.close();
  });

  test('a phone-sized screen shows one pane at a time', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 800 } });
    const page = await signIn(context, 'victim@example.test', 'victim secret');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('link', { name: /Mallory tracking/ }).click();
    await page.getByRole('heading', { name: 'Hostile tracking' }).waitFor();
    await page.frameLocator('iframe[title="Message body"]').getByText('Newsletter').waitFor();
    assert.equal(await page.getByRole('list', { name: 'Messages' }).isVisible(), false);
    await page.screenshot({ path: join(SHOTS, 'phone-read.png') });
    await context.close();
  });
});
