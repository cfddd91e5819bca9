// Test helper: an in-process server (MX, submission, POP3, IMAP, [metrics] on port 0) whose JSON log lines are kept, plus a line client and a scraper.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseConfigText } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { captureLogs } from './log-capture.js';

export interface ObservedServer {
  server: RunningServer;
  dir: string;
  /** Every log line the server wrote, parsed. */
  lines: Record<string, unknown>[];
  port(name: 'smtp' | 'submission' | 'pop3' | 'imap' | 'metrics'): number;
  /** GET on the [metrics] listener: status and body. */
  get(path: string): Promise<{ status: number; body: string; type: string }>;
  close(): Promise<void>;
}

/** Starts the server with a local domain, bob@example.test / alice@example.test ("pw secret 1"), remote mail to `relayPort`. */
export async function startObservedServer(relayPort: number): Promise<ObservedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-observed-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      ...['smtp', 'submission', 'pop3', 'imap', 'metrics'].map((s) => `[${s}]\nlisten = ["127.0.0.1:0"]`),
      ...['submissions', 'pop3s', 'imaps', 'http', 'https'].map((s) => `[${s}]\nlisten = []`),
      `[outbound]\nroutes = { "*" = "127.0.0.1:${relayPort}" }`,
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  const { logger, lines } = captureLogs();
  const server = await startServer({ config, logger, shutdownGraceMs: 200 });
  server.store.addDomain('example.test');
  const hash = await hashPassword('pw secret 1');
  server.store.addAccount('bob@example.test', hash);
  server.store.addAccount('alice@example.test', hash);
  const port: ObservedServer['port'] = (name) => server.addresses[name]![0]!.port;
  return {
    server,
    dir,
    lines,
    port,
    get: (path) =>
      new Promise((done, fail) => {
        const req = request({ host: '127.0.0.1', port: port('metrics'), path, timeout: 5_000 }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () =>
            done({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }),
          );
        });
        req.on('error', fail);
        req.end();
      }),
    async close() {
      await server.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A line-at-a-time SMTP/POP3 client: sends a line, reads one reply (SMTP: up to its last line). */
export async function lineClient(
  port: number,
): Promise<{ send(line: string): Promise<string>; close(): void; socket: Socket }> {
  const socket: Socket = connect(port, '127.0.0.1');
  let buffer = '';
  let wake: (() => void) | null = null;
  socket.on('data', (d: Buffer) => {
    buffer += d.toString('latin1');
    wake?.();
  });
  socket.on('error', () => undefined);
  /** SMTP: up to the last line of a reply; POP3: one line; IMAP: the tagged line (untagged ones skipped, except the greeting). */
  const read = async (greeting = false): Promise<string> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*(?:\d{3} |[+-]|\* |\w+ (?:OK|NO|BAD) )[^\r\n]*\r\n/.exec(buffer);
      if (m) {
        buffer = buffer.slice(m[0].length);
        if (m[0].startsWith('* ') && !greeting) continue;
        return m[0];
      }
      if (Date.now() > deadline) throw new Error(`no reply; have ${JSON.stringify(buffer)}`);
      await new Promise<void>((done) => {
        wake = done;
        setTimeout(done, 200);
      });
    }
  };
  await read(true); // greeting
  return {
    socket,
    async send(line) {
      socket.write(line + '\r\n');
      return read();
    },
    close: () => socket.destroy(),
  };
}

/** Sends one message over SMTP (MX or, with `auth`, submission after AUTH PLAIN); returns the reply to the data. */
export async function sendMail(
  port: number,
  envelope: { from: string; to: string[]; auth?: { user: string; pass: string }; messageId?: string },
): Promise<string> {
  const c = await lineClient(port);
  try {
    await c.send('EHLO client.test');
    if (envelope.auth) {
      const token = Buffer.from(`\0${envelope.auth.user}\0${envelope.auth.pass}`).toString('base64');
      const r = await c.send(`AUTH PLAIN ${token}`);
      if (!r.startsWith('235')) throw new Error(`AUTH: ${r}`);
    }
    await c.send(`MAIL FROM:<${envelope.from}>`);
    for (const to of envelope.to) await c.send(`RCPT TO:<${to}>`);
    await c.send('DATA');
    const body = [
      `From: <${envelope.from}>`,
      `To: ${envelope.to.map((t) => `<${t}>`).join(', ')}`,
      'Subject: observed',
      `Message-ID: ${envelope.messageId ?? '<observed@client.test>'}`,
      '',
      'hello',
      '.',
    ].join('\r\n');
    const reply = await c.send(body);
    await c.send('QUIT');
    return reply;
  } finally {
    c.close();
  }
}

/** Polls `check` every 20 ms for at most `ms`. */
export async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** One sample's value from Prometheus text: `name{labels}` exactly as printed (labels in their order), or NaN. */
export function sample(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return NaN;
}
