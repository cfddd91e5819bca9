// Browser tests of the web mail: chromium via playwright-core, sign-in by role and name, mail in by SMTP (MX), mail seen by IMAP.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { MailroomInstance } from './mailroom-process.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = join(tmpdir(), 'mailroom-web-screenshots');
const WEB_BUILD = resolve(import.meta.dirname, '../../dist/web/index.html');

/** Loud, not skipped: scripts/install-test-tools.sh installs chromium; `npm run build` makes dist/web. */
export async function launchBrowser(): Promise<Browser> {
  assert.ok(
    existsSync(CHROMIUM),
    `no ${CHROMIUM}: run scripts/install-test-tools.sh (Debian package chromium)`,
  );
  assert.ok(existsSync(WEB_BUILD), `no ${WEB_BUILD}: run npm run build`);
  mkdirSync(SHOTS, { recursive: true });
  console.log(`web mail screenshots: ${SHOTS}`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/** Signs in through the form, as a person would, and waits for the signed-in page. */
export async function signIn(
  context: BrowserContext,
  base: string,
  email: string,
  password: string,
): Promise<Page> {
  const page = await context.newPage();
  await page.goto(base);
  await page.getByRole('textbox', { name: 'Email' }).fill(email);
  await page.getByRole('textbox', { name: 'Password' }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

export interface Outside {
  from: string;
  to: string;
  subject: string;
  text?: string;
  html?: string;
  headers?: Record<string, string>;
}

/** One message to the instance's MX listener (port 25's stand-in), unauthenticated, as the Internet sends. */
export async function deliver(server: MailroomInstance, m: Outside): Promise<string> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: server.ports.smtp,
    tls: { rejectUnauthorized: false },
  });
  try {
    const info = await transport.sendMail(m);
    return info.messageId;
  } finally {
    transport.close();
  }
}

/** An IMAP session (STARTTLS on loopback) for checking what the web mail did. */
export async function imapLogin(server: MailroomInstance, user: string, pass: string): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: server.ports.imap as number,
    secure: false,
    doSTARTTLS: true,
    auth: { user, pass },
    tls: { rejectUnauthorized: false },
    logger: false,
  });
  await client.connect();
  return client;
}

/** Polls `f` every 100 ms until it returns something truthy (bounded: `timeoutMs`). */
export async function until<T>(
  what: string,
  f: () => T | Promise<T>,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
