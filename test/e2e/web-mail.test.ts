// The web mail in chromium against the real server: read SMTP mail, reply (seen by IMAP), attachments, search, flags, move, delete, shortcuts, drafts, push.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { SHOTS, deliver, imapLogin, launchBrowser, signIn, until } from '../helpers/web-browser.js';

let server: MailroomInstance;
let browser: Browser;
let base: string;

/** One account per test, so the tests do not see each other's mail. */
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace'];
const pass = (user: string) => `${user} secret`;
const addr = (user: string) => `${user}@example.test`;

before(async () => {
  server = await createMailroom({ enable: ['http', 'imap'] });
  server.cli(['domain', 'add', 'example.test']);
  for (const u of USERS) server.cli(['user', 'add', addr(u), '--password', pass(u)]);
  await server.start();
  base = `http://127.0.0.1:${server.ports.http}`;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
});

describe('the web mail on the real JMAP server', () => {
  test('read a message sent over SMTP, reply with Cc, and the reply arrives over IMAP threaded', async () => {
    const messageId = await deliver(server, {
      from: 'Bob Builder <bob@example.test>',
      to: addr('alice'),
      subject: 'Lunch plans',
      text: 'Shall we meet at noon?\nBob',
    });
    const context = await browser.newContext();
    const page = await signIn(context, base, addr('alice'), pass('alice'));
    const nav = page.getByRole('navigation', { name: 'Mailboxes' });
    for (const name of ['Inbox', 'Drafts', 'Sent', 'Junk', 'Trash'])
      await nav.getByRole('link', { name: new RegExp(`^${name}`) }).waitFor();
    await nav.getByRole('link', { name: /Inbox.*1 unread/ }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'inbox.png') });

    await page.getByRole('link', { name: /Bob Builder.*Lunch plans/ }).click();
    await page.getByRole('heading', { name: 'Lunch plans' }).waitFor();
    await page.getByRole('article').getByText('Shall we meet at noon?').waitFor();
    await page.screenshot({ path: join(SHOTS, 'read-message.png') });
    // Opening marks it read: the count goes (the name is "Inbox" alone).
    await nav.getByRole('link', { name: 'Inbox', exact: true }).waitFor();
    for (const name of ['Reply', 'Reply all', 'Forward', 'Delete', 'Mark as unread'])
      await page.getByRole('button', { name, exact: true }).waitFor();

    await page.getByRole('button', { name: 'Reply', exact: true }).click();
    assert.equal(
      await page.getByRole('textbox', { name: 'To' }).inputValue(),
      'Bob Builder <bob@example.test>',
    );
    assert.equal(await page.getByRole('textbox', { name: 'Subject' }).inputValue(), 'Re: Lunch plans');
    await page.getByRole('textbox', { name: 'Cc' }).fill('Grace <grace@example.test>');
    const body = page.getByRole('textbox', { name: 'Message' });
    // The quote: one "> " per line of the original (RFC 8621 bodyValues have LF line ends), none after it.
    assert.match(await body.inputValue(), /wrote:\n> Shall we meet at noon\?\n> Bob$/);
    await body.press('Control+Home');
    await body.pressSequentially('Noon is fine.');
    await page.screenshot({ path: join(SHOTS, 'composer.png') });
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('textbox', { name: 'To' }).waitFor({ state: 'detached' });

    for (const user of ['bob', 'grace']) {
      const imap = await imapLogin(server, addr(user), pass(user));
      try {
        const lock = await imap.getMailboxLock('INBOX');
        try {
          const found = await until(`the reply in ${user}'s INBOX`, async () => {
            for await (const m of imap.fetch('1:*', { envelope: true, source: true }))
              if (m.envelope?.subject === 'Re: Lunch plans') return m;
            return null;
          });
          assert.equal(found.envelope?.inReplyTo, messageId);
          const source = found.source!.toString('utf8');
          assert.match(source, /^Cc: Grace <grace@example\.test>\r$/m);
          assert.match(source, /^Noon is fine\.\r$/m);
          assert.match(source, /^> Shall we meet at noon\?\r$/m);
        } finally {
          lock.release();
        }
      } finally {
        await imap.logout();
      }
    }
    // The sent copy is in Sent, not in Drafts.
    await nav.getByRole('link', { name: /^Sent/ }).click();
    await page.getByRole('link', { name: /Re: Lunch plans/ }).waitFor();
    await nav.getByRole('link', { name: /^Drafts/ }).click();
    await page.getByText('No messages').waitFor();
    await context.close();
  });

  test('attachments round trip: upload in the composer, send to self, download the same bytes, forward them', async () => {
    const bytes = randomBytes(150_000);
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await signIn(context, base, addr('bob'), pass('bob'));
    await page.getByRole('button', { name: 'Compose' }).click();
    await page.getByRole('textbox', { name: 'To' }).fill(addr('bob'));
    await page.getByRole('textbox', { name: 'Subject' }).fill('The file');
    await page.getByRole('textbox', { name: 'Message' }).fill('Here it is.');
    await page.getByLabel('Attach files').setInputFiles({
      name: 'data.bin',
      mimeType: 'application/octet-stream',
      buffer: bytes,
    });
    await page.getByRole('status').filter({ hasText: 'data.bin attached' }).waitFor();
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('textbox', { name: 'To' }).waitFor({ state: 'detached' });
    // Delivered to self: it appears in the Inbox by push, no reload.
    await page.getByRole('link', { name: /bob@example\.test.*The file/ }).click();
    await page.getByRole('heading', { name: 'The file' }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'data.bin' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'data.bin');
    const got = readFileSync((await download.path())!);
    assert.ok(got.equals(bytes), `downloaded ${got.length} bytes, sent ${bytes.length}`);

    // Forward: the attachment goes along by its blob id (a part of the received message), no re-upload.
    await page.getByRole('button', { name: 'Forward' }).click();
    assert.equal(await page.getByRole('textbox', { name: 'Subject' }).inputValue(), 'Fwd: The file');
    await page.getByRole('textbox', { name: 'To' }).fill(addr('grace'));
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('textbox', { name: 'To' }).waitFor({ state: 'detached' });
    const imap = await imapLogin(server, addr('grace'), pass('grace'));
    try {
      const lock = await imap.getMailboxLock('INBOX');
      try {
        const uid = await until('the forward in INBOX', async () => {
          for await (const m of imap.fetch('1:*', { envelope: true, uid: true }))
            if (m.envelope?.subject === 'Fwd: The file') return m.uid;
          return null;
        });
        const one = await imap.fetchOne(String(uid), { bodyStructure: true }, { uid: true });
        assert.ok(one && one.bodyStructure);
        const structure = one.bodyStructure;
        const part = structure.childNodes?.find((n) => n.dispositionParameters?.filename === 'data.bin');
        assert.ok(part?.part, JSON.stringify(structure));
        const { content } = await imap.download(String(uid), part.part, { uid: true });
        const chunks: Buffer[] = [];
        for await (const c of content) chunks.push(c as Buffer);
        assert.ok(Buffer.concat(chunks).equals(bytes), 'the forwarded attachment is the same bytes');
      } finally {
        lock.release();
      }
    } finally {
      await imap.logout();
    }
    await context.close();
  });

  test('search, flag and unflag, read and unread, move, delete to Trash, empty Trash', async () => {
    for (const [subject, text] of [
      ['Zebra crossing', 'stripes'],
      ['Weekly report', 'numbers'],
      ['Garden party', 'bring a zebra costume'],
    ] as const)
      await deliver(server, { from: 'news@remote.example', to: addr('carol'), subject, text });
    const context = await browser.newContext();
    const page = await signIn(context, base, addr('carol'), pass('carol'));
    const nav = page.getByRole('navigation', { name: 'Mailboxes' });
    const list = page.getByRole('list', { name: 'Messages' });
    await nav.getByRole('link', { name: /Inbox.*3 unread/ }).waitFor();

    await page.getByRole('searchbox', { name: 'Search' }).fill('zebra');
    await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await list.getByRole('link', { name: /Weekly report/ }).waitFor({ state: 'detached' });
    await list.getByRole('link', { name: /Garden party/ }).waitFor();
    await list.getByRole('link', { name: /Zebra crossing/ }).waitFor();
    assert.equal(await list.getByRole('link').count(), 2);
    await page.getByRole('searchbox', { name: 'Search' }).fill('');
    await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await list.getByRole('link', { name: /Weekly report/ }).waitFor();

    // Flag, unflag.
    await list.getByRole('link', { name: /Weekly report/ }).click();
    await page.getByRole('heading', { name: 'Weekly report' }).waitFor();
    await nav.getByRole('link', { name: /Inbox.*2 unread/ }).waitFor();
    const flag = page.getByRole('button', { name: 'Flag' });
    await flag.click();
    await list.getByRole('link', { name: /Flagged.*Weekly report/ }).waitFor();
    assert.equal(await flag.getAttribute('aria-pressed'), 'true');
    await flag.click();
    await until('unflagged', async () => (await flag.getAttribute('aria-pressed')) === 'false');
    await list.getByRole('link', { name: /Flagged.*Weekly report/ }).waitFor({ state: 'detached' });

    // Unread again.
    await page.getByRole('button', { name: 'Mark as unread' }).click();
    await nav.getByRole('link', { name: /Inbox.*3 unread/ }).waitFor();
    await list.getByRole('link', { name: /Unread.*Weekly report/ }).waitFor();

    // Move to Junk by the menu.
    await list.getByRole('link', { name: /Zebra crossing/ }).click();
    await page.getByRole('heading', { name: 'Zebra crossing' }).waitFor();
    await page.getByLabel('Move to').selectOption({ label: 'Junk' });
    await list.getByRole('link', { name: /Zebra crossing/ }).waitFor({ state: 'detached' });
    await nav.getByRole('link', { name: /^Junk/ }).click();
    await list.getByRole('link', { name: /Zebra crossing/ }).waitFor();

    // Delete moves to Trash; emptying Trash destroys.
    await nav.getByRole('link', { name: /^Inbox/ }).click();
    await list.getByRole('link', { name: /Garden party/ }).click();
    await page.getByRole('heading', { name: 'Garden party' }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    await list.getByRole('link', { name: /Garden party/ }).waitFor({ state: 'detached' });
    await nav.getByRole('link', { name: /^Trash/ }).click();
    await list.getByRole('link', { name: /Garden party/ }).waitFor();
    await page.getByRole('button', { name: 'Empty Trash' }).click();
    await page.getByText('No messages').waitFor();
    const imap = await imapLogin(server, addr('carol'), pass('carol'));
    try {
      assert.equal((await imap.status('Trash', { messages: true })).messages, 0);
      assert.equal((await imap.status('Junk', { messages: true })).messages, 1);
      assert.equal((await imap.status('INBOX', { messages: true, unseen: true })).messages, 1);
    } finally {
      await imap.logout();
    }
    await context.close();
  });

  test('keyboard shortcuts: j, k, o, r, c and #', async () => {
    for (const subject of ['First', 'Second', 'Third']) {
      await deliver(server, { from: 'Pat <pat@remote.example>', to: addr('dave'), subject, text: subject });
      await new Promise((r) => setTimeout(r, 20)); // distinct receivedAt, newest first
    }
    const context = await browser.newContext();
    const page = await signIn(context, base, addr('dave'), pass('dave'));
    const list = page.getByRole('list', { name: 'Messages' });
    await list.getByRole('link', { name: /Third/ }).waitFor();
    await page.keyboard.press('j');
    await page.keyboard.press('o');
    await page.getByRole('heading', { name: 'Second' }).waitFor();
    await page.keyboard.press('k');
    await page.keyboard.press('o');
    await page.getByRole('heading', { name: 'Third' }).waitFor();
    await page.keyboard.press('r');
    assert.equal(await page.getByRole('textbox', { name: 'Subject' }).inputValue(), 'Re: Third');
    assert.equal(await page.getByRole('textbox', { name: 'To' }).inputValue(), 'Pat <pat@remote.example>');
    await page.getByRole('button', { name: 'Close' }).click();
    await page.keyboard.press('c');
    assert.equal(await page.getByRole('textbox', { name: 'To' }).inputValue(), '');
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('heading', { name: 'Third' }).waitFor();
    await page.keyboard.press('#');
    await list.getByRole('link', { name: /Third/ }).waitFor({ state: 'detached' });
    const imap = await imapLogin(server, addr('dave'), pass('dave'));
    try {
      assert.equal((await imap.status('Trash', { messages: true })).messages, 1);
    } finally {
      await imap.logout();
    }
    await context.close();
  });

  test('a draft is saved while typing and IMAP sees it in Drafts', async () => {
    const context = await browser.newContext();
    const page = await signIn(context, base, addr('erin'), pass('erin'));
    await page.keyboard.press('c');
    await page.getByRole('textbox', { name: 'To' }).fill(addr('frank'));
    await page.getByRole('textbox', { name: 'Subject' }).fill('Half written');
    await page.getByRole('textbox', { name: 'Message' }).pressSequentially('Dear Frank,');
    await page.getByRole('status').filter({ hasText: 'Draft saved' }).waitFor();
    // More typing replaces the saved draft (one draft, the newest text).
    await page.getByRole('textbox', { name: 'Message' }).pressSequentially(' more');
    await until('the second save', async () => {
      const imap = await imapLogin(server, addr('erin'), pass('erin'));
      try {
        const lock = await imap.getMailboxLock('Drafts');
        try {
          const all = [];
          for await (const m of imap.fetch('1:*', { flags: true, source: true })) all.push(m);
          return (
            all.length === 1 &&
            all[0]!.flags?.has('\\Draft') &&
            /Dear Frank, more/.test(all[0]!.source!.toString()) &&
            /^Subject: Half written\r$/m.test(all[0]!.source!.toString())
          );
        } finally {
          lock.release();
        }
      } finally {
        await imap.logout();
      }
    });
    await page.getByRole('button', { name: 'Close' }).click();
    await page
      .getByRole('navigation', { name: 'Mailboxes' })
      .getByRole('link', { name: /^Drafts/ })
      .click();
    await page.getByRole('link', { name: /Half written/ }).waitFor();
    await context.close();
  });

  test('live update: a message delivered by SMTP appears in the open list without reload', async () => {
    const context = await browser.newContext();
    const page = await signIn(context, base, addr('frank'), pass('frank'));
    const nav = page.getByRole('navigation', { name: 'Mailboxes' });
    await nav.getByRole('link', { name: 'Inbox', exact: true }).waitFor();
    await page.getByText('No messages').waitFor();
    const t0 = Date.now();
    await deliver(server, {
      from: 'Quick <q@remote.example>',
      to: addr('frank'),
      subject: 'Pushed',
      text: 'x',
    });
    await page.getByRole('link', { name: /Quick.*Pushed/ }).waitFor({ timeout: 3000 });
    await nav.getByRole('link', { name: /Inbox.*1 unread/ }).waitFor({ timeout: 3000 });
    console.log(`delivered to shown: ${Date.now() - t0} ms`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await context.close();
  });
});
