// A JMAP Mail test bench without HTTP: a SQLite store in a temp dir, one account, and processRequest with the mail methods.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processRequest } from '../../src/jmap/core/engine.js';
import { userOfAccount } from '../../src/jmap/core/session.js';
import { mailCapabilities, mailMethods, type MailMethodDeps } from '../../src/jmap/mail/index.js';
import { silentLogger } from '../../src/observability/logger.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

export const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'];

export interface MailBench {
  store: SqliteStore;
  accountId: string;
  storeId: number;
  deps: MailMethodDeps;
  /** Mailbox id (JMAP) by IMAP name. */
  box(name: string): string;
  /** Appends a message (CRLF added) to a mailbox with flags and a received date; returns its Email id. */
  add(mailbox: string, message: string, options?: { flags?: string[]; at?: Date }): Promise<string>;
  /** One request with these calls; returns the method responses. readOnly: as a JMAP worker runs it. */
  call(
    calls: Array<[string, Record<string, unknown>, string]>,
    options?: { readOnly?: boolean },
  ): Promise<Array<[string, Record<string, unknown>, string]>>;
  close(): Promise<void>;
}

export async function mailBench(
  options: { now?: () => Date; deps?: Partial<MailMethodDeps> } = {},
): Promise<MailBench> {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-jmapmail-'));
  const store = openSqliteStore({ dataDir: dir });
  store.addDomain('example.test');
  const account = store.addAccount('bob@example.test', 'x');
  const deps: MailMethodDeps = {
    store,
    logger: silentLogger(),
    hostname: 'mx.example.test',
    now: options.now ?? (() => new Date('2024-01-02T03:04:05Z')),
    ...options.deps,
  };
  const capabilities = mailCapabilities(deps);
  const methods = mailMethods(deps);
  const user = userOfAccount(account, capabilities);
  const accountId = `A${account.id}`;
  const box = (name: string): string => {
    const m = store.mail.findMailbox(account.id, name);
    if (!m) throw new Error(`no mailbox ${name}`);
    return store.jmap.mailboxObjectId(m.id);
  };
  return {
    store,
    accountId,
    storeId: account.id,
    deps,
    box,
    async add(mailbox, message, o = {}) {
      const m = store.mail.findMailbox(account.id, mailbox);
      if (!m) throw new Error(`no mailbox ${mailbox}`);
      const data = Buffer.from(message.replace(/\r?\n/g, '\r\n'));
      const { uid } = await store.mail.append(
        m.id,
        { kind: 'memory', chunks: [data], size: data.length },
        o.flags ?? [],
        o.at ?? new Date('2024-01-01T00:00:00Z'),
      );
      const row = store.mail.listIndex(m.id).find((r) => r.uid === uid);
      const ids = store.jmap.objectIds(account.id, [row!.messageId]);
      return ids[0]!.emailId;
    },
    async call(calls, options = {}) {
      const r = await processRequest(
        { using: USING, methodCalls: calls },
        {
          user,
          methods,
          limits: { maxObjectsInGet: 500, maxObjectsInSet: 500 },
          sessionState: 's',
          ...(options.readOnly ? { readOnly: true } : {}),
          onServerFail: (e) => {
            throw e;
          },
        },
      );
      return r.methodResponses as Array<[string, Record<string, unknown>, string]>;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
