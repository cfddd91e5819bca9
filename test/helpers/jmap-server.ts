// An in-process Mailroom with [http] on port 0 and one or two accounts, for JMAP Mail integration tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseConfigText } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
export const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'];

/** One method response; the list is never empty for a request with calls. */
export type MethodResponse = [string, Record<string, unknown>, string];
export type Responses = [MethodResponse, ...MethodResponse[]];

export interface JmapTestServer {
  server: RunningServer;
  base: string;
  dataDir: string;
  /** JMAP account ids and store ids of bob and carol. */
  bob: { id: string; storeId: number; auth: string };
  carol: { id: string; storeId: number; auth: string };
  /** POSTs a request and returns its methodResponses. */
  call(calls: unknown[][], auth?: string): Promise<Responses>;
  /** Appends a message to a mailbox of an account (as IMAP APPEND). */
  append(storeId: number, mailbox: string, message: string, flags?: string[], date?: Date): Promise<void>;
  close(): Promise<void>;
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** `listen`: the mail listeners to open on 127.0.0.1:0 besides [http] (default IMAP). */
export async function startJmapServer(
  extraToml = '',
  listen: readonly string[] = ['imap'],
): Promise<JmapTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-jmapmail-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      ...['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'https', 'metrics'].map(
        (s) => (listen.includes(s) ? `[${s}]\nlisten = ["127.0.0.1:0"]` : `[${s}]\nlisten = []`),
      ),
      '[http]\nlisten = ["127.0.0.1:0"]',
      extraToml,
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  const server = await startServer({ config, logger: silentLogger(), shutdownGraceMs: 200 });
  server.store.addDomain('example.test');
  const make = async (name: string) => {
    const a = server.store.addAccount(
      `${name}@example.test`,
      await hashPassword(`${name} secret`, { params: PARAMS }),
    );
    return { id: `A${a.id}`, storeId: a.id, auth: basic(`${name}@example.test`, `${name} secret`) };
  };
  const bob = await make('bob');
  const carol = await make('carol');
  const base = `http://127.0.0.1:${server.addresses.http![0]!.port}`;
  return {
    server,
    base,
    dataDir: dir,
    bob,
    carol,
    async call(calls, auth = bob.auth) {
      const res = await fetch(`${base}/jmap/api`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ using: USING, methodCalls: calls }),
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { methodResponses: Responses }).methodResponses;
    },
    async append(storeId, mailbox, message, flags = [], date = new Date('2024-01-01T00:00:00Z')) {
      const box = server.store.mail.findMailbox(storeId, mailbox);
      if (!box) throw new Error(`no mailbox ${mailbox}`);
      const data = Buffer.from(message.replace(/\r?\n/g, '\r\n'));
      await server.store.mail.append(
        box.id,
        { kind: 'memory', chunks: [data], size: data.length },
        flags,
        date,
      );
    },
    async close() {
      await server.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
