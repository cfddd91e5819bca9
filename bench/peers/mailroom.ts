// Starts our own server (`node dist/cli.js serve`) in a temp dir for the bench, with one local mailbox.
import {
  mkdtempSync,
  writeFileSync,
  rmSync,
  readFileSync,
  readdirSync,
  openSync,
  closeSync,
  existsSync,
} from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { mainThreadCpuSeconds, processCpuSeconds, readMemory, treePssKiB } from '../lib/proc.js';
import { pollUntil } from '../lib/wait.js';
import type { BenchServer } from './server.js';

export interface MailroomOptions {
  cli: string; // path to dist/cli.js
  /** [limits] heap (config/limits.ts HEAP_TUNINGS); unset: the server's default. */
  heap?: string;
  /** The config an old build understands (without the sections issue 11 added): bench/run.ts --old-config. */
  preIssue11Config?: boolean;
  port: number;
  domain: string;
  user: string; // local part; the account is user@domain with password "bench-password"
  /** Raised for the idle load; CONTRACT.md [limits]. */
  maxConnections: number;
  /** Per remote IP and listener; default: the same as maxConnections (all bench load comes from 127.0.0.1). */
  maxConnectionsPerIp?: number;
  keep?: boolean;
  /** IMAP listeners (off when absent): the IMAP bench turns them on. */
  imapPort?: number;
  imapsPort?: number;
  /** POP3 and submission listeners (off when absent): the soak bench turns them on. */
  pop3Port?: number;
  submissionPort?: number;
  /** The plain HTTP (JMAP) listener, off when absent: the JMAP bench turns it on (Basic over loopback). */
  httpPort?: number;
  /** [limits] jmap_workers (JMAP API worker threads); absent: the server's default. */
  jmapWorkers?: number;
  /** The [metrics] listener, off when absent: the SMTP bench's "logs and metrics on" run scrapes it. */
  metricsPort?: number;
  /**
   * MAILROOM_LOG_LEVEL for the server ("warn": the per-connection and per-message lines off, for the
   * logs-and-metrics cost figure); above info the `ready` line is not written, so readiness is seen
   * by connecting to the SMTP port instead.
   */
  logLevel?: string;
  /** Node flags for the server process only (e.g. --cpu-prof, which NODE_OPTIONS does not take). */
  nodeArgs?: string[];
  /** More accounts (full addresses, password "bench-password") besides user@domain. */
  accounts?: string[];
  /** More TOML appended to the config (e.g. [dns] and [inbound] for the inbound-checks mode). */
  extraToml?: string;
  /** Gets the server's log once it has stopped, before its temp dir is removed (e.g. its shutdown figures). */
  onStopped?: (log: string) => void;
  /** Runs on the data dir after the accounts exist and before `serve` starts (e.g. a mailbox fill). */
  prefill?: (dataDir: string) => Promise<void>;
}

/** Our server as the benches see it: what every server has, plus its CPU time. */
export interface MailroomServer extends BenchServer {
  /** CPU seconds (user + system) the server process has used so far. */
  cpuSeconds(): number;
  /** CPU seconds of its main thread alone (the event loop; worker threads excluded). */
  mainThreadCpuSeconds(): number;
  /** PSS of the server process (KiB), as Dovecot's tree is measured: comparable with a peer's PSS sum. */
  pssKiB(): number;
}

/** The bench config: only the MX listener, every other listener off so nothing collides with dev ports. */
export function mailroomConfig(dir: string, o: MailroomOptions): string {
  // A build from before issue 11 (bench/run.ts --cli) refuses [metrics] and [https] as unknown keys.
  const off = o.preIssue11Config ? ['submissions', 'pop3s'] : ['submissions', 'pop3s', 'https'];
  const access = (name: string, port: number | undefined): string[] => [
    '',
    `[${name}]`,
    port === undefined ? 'listen = []' : `listen = ["127.0.0.1:${port}"]`,
  ];
  return [
    `hostname = "mailroom.bench.test"`,
    `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
    '',
    '[smtp]',
    `listen = ["127.0.0.1:${o.port}"]`,
    ...access('imap', o.imapPort),
    ...access('imaps', o.imapsPort),
    ...access('pop3', o.pop3Port),
    ...access('submission', o.submissionPort),
    ...access('http', o.httpPort),
    ...(o.preIssue11Config ? [] : access('metrics', o.metricsPort)),
    ...off.flatMap((s) => ['', `[${s}]`, 'listen = []']),
    '',
    // JMAP's Basic auth over plain HTTP is only allowed on loopback with this (CONTRACT.md [auth]).
    ...(o.httpPort === undefined ? [] : ['[auth]', 'allow_loopback_plaintext = true', '']),
    '[limits]',
    `max_connections = ${o.maxConnections}`,
    `max_connections_per_ip = ${o.maxConnectionsPerIp ?? o.maxConnections}`,
    ...(o.jmapWorkers === undefined ? [] : [`jmap_workers = ${o.jmapWorkers}`]),
    ...(o.heap === undefined ? [] : [`heap = ${JSON.stringify(o.heap)}`]),
    '',
    ...(o.extraToml ? [o.extraToml, ''] : []),
  ].join('\n');
}

function admin(cli: string, config: string, args: string[]): void {
  const r = spawnSync(process.execPath, [cli, ...args, '--config', config], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) {
    throw new Error(
      `mailroom ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.error?.message || '').trim()}`,
    );
  }
}

/**
 * Messages in mailboxes, read from the SQLite store the way an outside reader would (read-only, WAL
 * lets it read while the server writes). One row in mailbox_messages = one message in one mailbox.
 */
export function countStoredMessages(dataDir: string): number {
  const dbs = readdirSafe(dataDir).filter((f) => f.endsWith('.db'));
  const file = dbs.includes('mailroom.db') ? 'mailroom.db' : dbs[0];
  if (!file) return NaN;
  const db = new Database(join(dataDir, file), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT COUNT(*) AS n FROM mailbox_messages').get() as { n: number } | undefined;
    return row?.n ?? NaN;
  } catch {
    return NaN; // schema without that table: the count is reported as unknown, not guessed
  } finally {
    db.close();
  }
}

export async function startMailroom(o: MailroomOptions): Promise<MailroomServer> {
  if (!existsSync(o.cli)) throw new Error(`${o.cli} not found (npm run build)`);
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-bench-ours-'));
  const config = join(dir, 'mailroom.toml');
  const logFile = join(dir, 'server.log');
  writeFileSync(config, mailroomConfig(dir, o));
  let child: ChildProcess | undefined;
  const cleanup = (): void => {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  };
  const logTail = (): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-6).join('\n');
    } catch {
      return '';
    }
  };
  try {
    admin(o.cli, config, ['domain', 'add', o.domain]);
    admin(o.cli, config, ['user', 'add', `${o.user}@${o.domain}`, '--password', 'bench-password']);
    for (const address of o.accounts ?? [])
      admin(o.cli, config, ['user', 'add', address, '--password', 'bench-password']);
    if (o.prefill) await o.prefill(join(dir, 'data'));
    // Logs go to a file, not a pipe we drain: the bench process also runs the load generator and
    // must not spend its CPU reading the server's per-message log lines.
    const fd = openSync(logFile, 'a');
    child = spawn(process.execPath, [...(o.nodeArgs ?? []), o.cli, 'serve', '--config', config], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...(o.logLevel ? { MAILROOM_LOG_LEVEL: o.logLevel } : {}) },
    });
    closeSync(fd);
    let exited: number | null = null;
    child.once('exit', (code) => (exited = code ?? -1));
    const quiet = o.logLevel !== undefined && !['trace', 'debug', 'info'].includes(o.logLevel);
    let accepting = false;
    const ready = await pollUntil(
      () => {
        if (quiet && !accepting) void canConnect(o.port).then((ok) => (accepting ||= ok));
        return exited !== null || (quiet ? accepting : /ready/.test(readFileSafe(logFile)));
      },
      30_000,
      50,
    );
    if (!ready || exited !== null) {
      throw new Error(`mailroom serve did not become ready (exit ${exited}):\n${logTail()}`);
    }
  } catch (err) {
    child?.kill('SIGKILL');
    cleanup();
    throw err;
  }
  const proc = child;
  const pid = proc.pid ?? -1;
  return {
    name: 'mailroom',
    host: '127.0.0.1',
    port: o.port,
    storedCount: () => countStoredMessages(join(dir, 'data')),
    memoryKiB: () => readMemory(pid)?.rssKiB ?? NaN,
    memoryKind: 'VmRSS of the server process',
    cpuSeconds: () => processCpuSeconds(pid),
    mainThreadCpuSeconds: () => mainThreadCpuSeconds(pid),
    pssKiB: () => treePssKiB(pid),
    stop: async () => {
      // CONTRACT.md: SIGTERM stops cleanly; if it does not within 10 s that is itself worth knowing.
      const gone = new Promise<boolean>((resolve) => {
        if (proc.exitCode !== null) resolve(true);
        proc.once('exit', () => resolve(true));
        setTimeout(() => resolve(false), 10_000).unref();
      });
      proc.kill('SIGTERM');
      if (!(await gone)) {
        process.stderr.write('bench: mailroom did not exit within 10 s of SIGTERM; killing it\n');
        proc.kill('SIGKILL');
      }
      o.onStopped?.(readFileSafe(logFile));
      // Async, so two servers' dirs (100,000s of files for the IMAP bench) are removed side by side.
      if (!o.keep) await rm(dir, { recursive: true, force: true });
    },
  };
}

function readFileSafe(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

function readdirSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

/** Whether something accepts a TCP connection on 127.0.0.1:port now (closed at once). */
function canConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}
