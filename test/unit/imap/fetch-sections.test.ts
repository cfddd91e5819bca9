// FETCH of top-level sections (HEADER, TEXT, HEADER.FIELDS, RFC822.HEADER/TEXT) reads only where the body starts, not the parsed structure; same bytes as before.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverText, imapSession } from '../../helpers/imap-session.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { MetaDetail } from '../../../src/store/mail-store.js';
import { parseMimeStructure } from '../../../src/mail/mime-structure.js';
import { sectionBytes } from '../../../src/imap/message-sections.js';
import { parseImapCommand, isParseError } from '../../../src/imap/proto/command-parser.js';

/** Messages whose header ends in the ways the MIME parser knows (mail/mime-structure.ts). */
const MESSAGES = [
  // The usual: CRLF, a blank line, a body that looks like header fields (must not leak into HEADER.FIELDS).
  'From: a@example.net\r\nSubject: first\r\nX-Folded: one\r\n two\r\n\r\nSubject: not a header\r\nbody\r\n',
  // A line that is not a field ends the header without a blank line (missing-header-separator):
  // the fields after it are body, so HEADER.FIELDS must not show them.
  'From: b@example.net\r\nno colon here\r\nSubject: in the body\r\n\r\nmore\r\n',
  // No body at all, no blank line.
  'From: c@example.net\r\nSubject: header only\r\n',
  // Bare LF line ends.
  'From: d@example.net\nSubject: lf\n\nbody\n',
];

const FETCHES = [
  'BODY.PEEK[HEADER.FIELDS (From Subject)]',
  'BODY.PEEK[HEADER.FIELDS.NOT (From)]',
  'BODY.PEEK[HEADER]',
  'BODY.PEEK[TEXT]',
  'BODY.PEEK[HEADER.FIELDS (Subject)]<2.5>',
  'RFC822.HEADER',
  'RFC822.TEXT',
];

async function setup(): Promise<{ store: SqliteStore; dir: string; bob: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-fetch-sections-'));
  const store = openSqliteStore({ dataDir: dir });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'unused').id;
  for (const [i, text] of MESSAGES.entries()) await deliverText(store, bob, text, { queueId: `Q${i}` });
  return { store, dir, bob };
}

/** The literal of `* n FETCH (NAME {len}\r\nBYTES)` as a string. */
function literalOf(reply: string): string {
  const m = /\{(\d+)\}\r\n/.exec(reply);
  assert.ok(m, reply);
  const start = m.index + m[0].length;
  return Buffer.from(reply, 'latin1')
    .subarray(start, start + Number(m[1]))
    .toString('latin1');
}

/** What the section is by the whole parsed structure (the path FETCH took for every section before). */
async function expected(store: SqliteStore, seq: number, item: string): Promise<string> {
  const [meta] = await store.mail.messageMeta(1, seq, seq, true);
  const msg = await store.readMessage(meta!.messageId);
  const s = parseMimeStructure(msg);
  const bare = item.replace('BODY.PEEK', 'BODY').replace(/<.*>$/, '');
  const spec = bare === 'RFC822.HEADER' ? 'BODY[HEADER]' : bare === 'RFC822.TEXT' ? 'BODY[TEXT]' : bare;
  const cmd = parseImapCommand({ segments: [Buffer.from(`f FETCH 1 (${spec})`)], literals: [] });
  assert.ok(!isParseError(cmd) && cmd.name === 'FETCH');
  const fi = cmd.items[0]!;
  assert.ok(fi.type === 'BODY[]');
  const bytes = (sectionBytes(msg, s, fi.section) ?? Buffer.alloc(0)).toString('latin1');
  const partial = /<(\d+)\.(\d+)>$/.exec(item);
  return partial ? bytes.slice(Number(partial[1]), Number(partial[1]) + Number(partial[2])) : bytes;
}

test('FETCH asks the store for only what its items need of the structure', async () => {
  const { store } = await setup();
  const asked: MetaDetail[] = [];
  const real = store.mail.messageMeta.bind(store.mail);
  store.mail.messageMeta = (mailboxId, lo, hi, detail) => {
    asked.push(detail);
    return real(mailboxId, lo, hi, detail);
  };
  const send = imapSession(store);
  await send('l LOGIN bob@example.test x');
  await send('s SELECT INBOX');
  const cases: Array<[string, MetaDetail]> = [
    ['BODY.PEEK[HEADER.FIELDS (From To Subject Date)]', 'bodyStart'],
    ['BODY.PEEK[HEADER]', 'bodyStart'],
    ['RFC822.HEADER', 'bodyStart'],
    ['BODY.PEEK[]', false],
    ['RFC822.SIZE INTERNALDATE', false],
    ['BINARY.PEEK[]', false],
    ['BODYSTRUCTURE', true],
    ['ENVELOPE BODY.PEEK[HEADER]', true],
    ['BODY.PEEK[1]', true],
  ];
  for (const [items, want] of cases) {
    asked.length = 0;
    assert.match(await send(`f FETCH 1 (${items})`), /^f OK/m, items);
    assert.deepEqual(asked, [want], items);
  }
});

test('top-level sections are the bytes the parsed structure gives, whatever way the header ends', async () => {
  const { store } = await setup();
  const send = imapSession(store);
  await send('l LOGIN bob@example.test x');
  await send('s SELECT INBOX');
  for (let seq = 1; seq <= MESSAGES.length; seq++) {
    for (const item of FETCHES) {
      const reply = await send(`f FETCH ${seq} (${item})`);
      assert.match(reply, /^f OK/m, reply);
      assert.equal(literalOf(reply), await expected(store, seq, item), `message ${seq}, ${item}`);
    }
  }
  // The second message's header ends at its first non-field line: the body's "Subject:" is not shown.
  const r = await send('f FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject)])');
  assert.equal(literalOf(r), '\r\n');
});

test('a message stored without a readable structure gets it computed again, and the sections stay right', async () => {
  const { store, dir } = await setup();
  const db = new Database(join(dir, 'mailroom.db'));
  after(() => db.close());
  const send = imapSession(store);
  await send('l LOGIN bob@example.test x');
  await send('s SELECT INBOX');
  const want = await expected(store, 1, 'BODY.PEEK[HEADER.FIELDS (From Subject)]');
  for (const broken of [null, '{"root": ', '{"envelope": null}']) {
    db.prepare('UPDATE messages SET bodystructure_json = ?').run(broken);
    const reply = await send('f FETCH 1:4 (BODY.PEEK[HEADER.FIELDS (From Subject)])');
    assert.match(reply, /^f OK/m, reply);
    assert.equal(literalOf(reply), want, String(broken));
    // Recomputed and kept for the message asked first (fillStructure), as for a full structure.
    const row = db.prepare('SELECT bodystructure_json AS bs FROM messages ORDER BY id LIMIT 1').get() as {
      bs: string;
    };
    assert.equal(
      JSON.parse(row.bs).root.bodyStart,
      parseMimeStructure(Buffer.from(`Return-Path: <x@remote.example>\r\n${MESSAGES[0]}`)).root.bodyStart,
    );
  }
});
