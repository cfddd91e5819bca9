// Fills the IMAP bench mailboxes with the same messages on both servers: Mailroom through its Store API, Dovecot as Maildir files.
import { closeSync, openSync, utimesSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ENVELOPE_SENDER, internalDate, messageBody, storedMessage } from './messages.js';

/** The slice of the Store API the fill uses; typed here so the build under test's dist can be loaded. */
interface FillStore {
  getAccount(address: string): { id: number } | null;
  deliver(request: {
    queueId: string;
    envelope: { sender: string };
    traceHeaders: string;
    body: { kind: 'memory'; chunks: Buffer[]; size: number };
    receivedAt: Date;
    local: { accountId: number }[];
    remote: never[];
  }): Promise<void>;
  close(): Promise<void>;
}

/**
 * Delivers messages 0..count-1 into each account's INBOX through the Store of the build whose CLI is
 * `cli` (its dist/store/sqlite/sqlite-store.js, so the schema matches the server that will run), as
 * local SMTP delivery would: Return-Path is added by the store, INTERNALDATE is `internalDate(i)`.
 * Deliveries go in concurrent batches so they share group commits.
 */
export async function fillMailroom(o: {
  cli: string;
  dataDir: string;
  mailboxes: { address: string; count: number }[];
}): Promise<void> {
  const url = pathToFileURL(join(dirname(o.cli), 'store', 'sqlite', 'sqlite-store.js')).href;
  const mod = (await import(url)) as { openSqliteStore(o: { dataDir: string }): FillStore };
  const store = mod.openSqliteStore({ dataDir: o.dataDir });
  const BATCH = 2000;
  try {
    for (const box of o.mailboxes) {
      const accountId = store.getAccount(box.address)?.id;
      if (accountId === undefined) throw new Error(`no account ${box.address}`);
      for (let start = 0; start < box.count; start += BATCH) {
        const jobs: Promise<void>[] = [];
        for (let i = start; i < Math.min(box.count, start + BATCH); i++) {
          const body = messageBody(i);
          jobs.push(
            store.deliver({
              queueId: `B${accountId}x${i}`,
              envelope: { sender: ENVELOPE_SENDER },
              traceHeaders: '',
              body: { kind: 'memory', chunks: [body], size: body.length },
              receivedAt: internalDate(i),
              local: [{ accountId }],
              remote: [],
            }),
          );
        }
        await Promise.all(jobs);
      }
    }
  } finally {
    await store.close();
  }
}

/**
 * The Maildir file name Dovecot itself would give message `i` (Maildir spec and Dovecot's extensions):
 * `<secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>,W=<rfc822 size>:2,<flags>`. S= and W= spare Dovecot a
 * stat and a size count; the time prefix orders the messages, so UIDs follow i as ours do.
 */
export function maildirName(i: number, size: number): string {
  const secs = Math.floor(internalDate(i).getTime() / 1000);
  // The bodies use CRLF already, so the RFC 822 (CRLF) size W equals the file size S.
  return `${secs}.M${i % 1_000_000}P1Q${i}.bench.test,S=${size},W=${size}:2,`;
}

/**
 * Writes messages 0..count-1 into `maildir`/cur, byte for byte what Mailroom stores, each file's
 * mtime = INTERNALDATE (Dovecot takes a Maildir message's internal date from its mtime). cur/ with no
 * flags after ":2," = not \Seen, as the Mailroom fill leaves them. No fsync: a bench fixture.
 */
export function fillMaildir(maildir: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const bytes = storedMessage(i);
    const file = join(maildir, 'cur', maildirName(i, bytes.length));
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
    const when = internalDate(i);
    utimesSync(file, when, when);
  }
}
