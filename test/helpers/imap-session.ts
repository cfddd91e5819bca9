// Test helper: a temporary SQLite store with bob@example.test, and pure IMAP sessions on it (no sockets).
import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailboxIndexCache } from '../../src/imap/mailbox-index-cache.js';
import { isParseError, parseImapCommand } from '../../src/imap/proto/command-parser.js';
import { partsToBuffer } from '../../src/imap/proto/response-writer.js';
import type { ImapServices } from '../../src/imap/commands/context.js';
import { ImapSession } from '../../src/imap/session.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { StorageLevel } from '../../src/store/free-space.js';
import type { SpooledBody, Store } from '../../src/store/store.js';

export const TEST_NOW = new Date('2026-11-23T10:00:00Z');

/** A store in a temporary directory (removed after the test file) with example.test and bob's account. */
export async function openTestStore(
  options: { clock?: () => Date } = {},
): Promise<{ store: SqliteStore; bob: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-imap-test-'));
  const store = openSqliteStore({ dataDir: dir, ...(options.clock ? { clock: options.clock } : {}) });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'unused').id;
  return { store, bob };
}

/** Delivers `text` (as SMTP would, without trace headers) to the account's INBOX. */
export async function deliverText(
  store: Store,
  accountId: number,
  text: string,
  options: { queueId?: string; receivedAt?: Date } = {},
): Promise<void> {
  const b = Buffer.from(text);
  await store.deliver({
    queueId: options.queueId ?? 'Q1',
    envelope: { sender: 'x@remote.example' },
    traceHeaders: '',
    body: { kind: 'memory', chunks: [b], size: b.length },
    receivedAt: options.receivedAt ?? TEST_NOW,
    local: [{ accountId }],
    remote: [],
  });
}

/** Sends one command line, with the bytes of its one literal (an APPEND message) when given; returns the reply text. */
export type ImapSend = (line: string, literal?: Buffer) => Promise<string>;

/**
 * A session on `store` that accepts any password. A command that does not parse gets the BAD the
 * connection would send. Sessions of one "server" share `indexCache` when it is given.
 */
export function imapSession(
  store: Store,
  options: { indexCache?: MailboxIndexCache; now?: () => Date; storage?: StorageLevel } = {},
): ImapSend {
  const services: ImapServices = {
    store,
    authenticate: async (u) => ({ kind: 'ok', account: u.toLowerCase() }),
    now: options.now ?? (() => TEST_NOW),
    indexCache: options.indexCache ?? new MailboxIndexCache(store.mail),
    discardBody: () => undefined,
    ...(options.storage ? { storage: options.storage } : {}),
  };
  const session = new ImapSession(
    services,
    { hostname: 'mx.example.test', tlsAvailable: true, allowLoopbackPlaintext: true, maxAppendSize: 1 << 20 },
    { remoteAddress: '127.0.0.1', secure: false, loopback: true },
  );
  return async (line, literal) => {
    const cmd = parseImapCommand(
      literal
        ? {
            segments: [Buffer.from(`${line} {${literal.length}}`), Buffer.alloc(0)],
            literals: [{ streamed: false, bytes: literal, binary: false }],
          }
        : { segments: [Buffer.from(line)], literals: [] },
    );
    if (isParseError(cmd)) return `${cmd.tag ?? '*'} BAD ${cmd.text}\r\n`;
    // The connection hands the session each APPEND literal as a body (imap/connection.ts).
    const bodies: SpooledBody[] = literal
      ? [{ kind: 'memory', chunks: [literal], size: literal.length }]
      : [];
    return partsToBuffer((await session.handle(cmd, bodies)).parts).toString();
  };
}
