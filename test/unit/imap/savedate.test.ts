// IMAP SAVEDATE (RFC 8514) over the pure session: FETCH SAVEDATE after delivery, APPEND, COPY, MOVE; SEARCH SAVED*; the migration.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deliverText, imapSession, openTestStore } from '../../helpers/imap-session.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

/** The store's clock: the test moves it between steps. */
let now = new Date('2026-11-20T08:00:00Z');

async function setup(): Promise<(line: string, literal?: Buffer) => Promise<string>> {
  now = new Date('2026-11-20T08:00:00Z');
  const { store, bob } = await openTestStore({ clock: () => now });
  // Delivered on 18 November: saved to INBOX then.
  await deliverText(store, bob, 'Subject: Old\r\n\r\nbody\r\n', {
    queueId: 'Q1',
    receivedAt: new Date('2026-11-18T23:30:00Z'),
  });
  const send = imapSession(store, { now: () => now });
  assert.match(await send('l LOGIN bob@example.test x'), /^l OK/);
  return send;
}

test('RFC 8514 2: SAVEDATE is advertised after login', async () => {
  const send = await setup();
  assert.match(await send('c CAPABILITY'), /^\* CAPABILITY .* SAVEDATE[ \r]/);
});

test('RFC 8514 3: a delivered message was saved when it was received', async () => {
  const send = await setup();
  await send('s SELECT INBOX');
  assert.match(
    await send('f FETCH 1 (SAVEDATE)'),
    /^\* 1 FETCH \(SAVEDATE "18-Nov-2026 23:30:00 \+0000"\)\r\n/,
  );
});

test('RFC 8514 3: APPEND saves now, whatever internal date the client gives; COPY and MOVE save again', async () => {
  const send = await setup();
  assert.match(await send('c CREATE Kept'), /^c OK/);
  now = new Date('2026-11-20T09:15:00Z');
  const msg = Buffer.from('Subject: Appended\r\n\r\nx\r\n');
  assert.match(await send('a APPEND INBOX "01-Jan-2020 10:00:00 +0200"', msg), /^a OK/);
  await send('s SELECT INBOX');
  assert.match(
    await send('f FETCH 2 (INTERNALDATE SAVEDATE)'),
    /^\* 2 FETCH \(INTERNALDATE " 1-Jan-2020 10:00:00 \+0200" SAVEDATE "20-Nov-2026 09:15:00 \+0000"\)/,
  );
  now = new Date('2026-11-21T12:00:00Z');
  assert.match(await send('c COPY 1 Kept'), /^c OK/);
  now = new Date('2026-11-22T12:00:00Z');
  assert.match(await send('m MOVE 2 Kept'), /^m OK/m);
  await send('s SELECT Kept');
  const r = await send('f FETCH 1:2 (SAVEDATE)');
  assert.match(r, /^\* 1 FETCH \(SAVEDATE "21-Nov-2026 12:00:00 \+0000"\)/m);
  assert.match(r, /^\* 2 FETCH \(SAVEDATE "22-Nov-2026 12:00:00 \+0000"\)/m);
});

test('RFC 8514 4: SEARCH SAVEDBEFORE, SAVEDON, SAVEDSINCE (the day, in UTC) and SAVEDATESUPPORTED', async () => {
  const send = await setup();
  now = new Date('2026-11-20T09:15:00Z');
  assert.match(
    await send('a APPEND INBOX "01-Jan-2020 10:00:00 +0200"', Buffer.from('Subject: A\r\n\r\nx\r\n')),
    /^a OK/,
  );
  await send('s SELECT INBOX');
  assert.match(await send('x SEARCH SAVEDON 18-Nov-2026'), /^\* SEARCH 1\r\n/);
  assert.match(await send('x SEARCH SAVEDBEFORE 20-Nov-2026'), /^\* SEARCH 1\r\n/);
  assert.match(await send('x SEARCH SAVEDSINCE 19-Nov-2026'), /^\* SEARCH 2\r\n/);
  assert.match(await send('x SEARCH SAVEDSINCE 21-Nov-2026'), /^\* SEARCH\r\n/);
  // The internal date (2020) is not what SAVED* compares.
  assert.match(await send('x SEARCH BEFORE 1-Jan-2021'), /^\* SEARCH 2\r\n/);
  assert.match(await send('x SEARCH SAVEDATESUPPORTED'), /^\* SEARCH 1 2\r\n/);
  assert.match(await send('x SEARCH NOT SAVEDATESUPPORTED'), /^\* SEARCH\r\n/);
  assert.match(await send('x SEARCH SAVEDON'), /^x BAD /);
});

const dirs: string[] = [];
/** A data directory made by the code of schema 13 (test/fixtures/datadir-v13-make.txt). */
const FIXTURE_V13 = fileURLToPath(new URL('../../fixtures/datadir-v13', import.meta.url));
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('migration (schema.ts 21): a data directory from before save dates (the schema-13 fixture) gives each message its internal date', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-savedate-'));
  dirs.push(dir);
  cpSync(FIXTURE_V13, dir, { recursive: true });
  const old = new Database(join(dir, 'mailroom.db'), { readonly: true });
  const internal = old
    .prepare(
      "SELECT mm.uid, mm.received_at FROM mailbox_messages mm JOIN mailboxes b ON b.id = mm.mailbox_id JOIN accounts a ON a.id = b.account_id WHERE a.address = 'bob@example.test' AND b.name = 'INBOX' ORDER BY mm.uid",
    )
    .all() as { uid: number; received_at: number }[];
  old.close();
  assert.ok(internal.length > 0);
  const store = openSqliteStore({ dataDir: dir });
  try {
    const inbox = store.getMailbox(store.getAccount('bob@example.test')!.id, 'INBOX')!;
    const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
    const saved = db
      .prepare('SELECT uid, saved_at FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid')
      .all(inbox.id) as { uid: number; saved_at: number }[];
    db.close();
    assert.deepEqual(
      saved,
      internal.map((r) => ({ uid: r.uid, saved_at: r.received_at })),
    );
  } finally {
    await store.close();
  }
});
