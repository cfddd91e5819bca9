// The two relays the relay bench compares: Mailroom (authenticated submission, [outbound] routes) and a private Postfix 3.7.
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMemory } from './lib/proc.js';
import { pollUntil } from './lib/wait.js';
import { startPostfix } from './peers/postfix.js';
import type { Sink } from './relay-sinks.js';

export interface Relay {
  name: string;
  host: string;
  port: number;
  /** Credentials for AUTH PLAIN on submission; absent: the relay trusts loopback (Postfix mynetworks). */
  auth?: { username: string; password: string };
  from: string;
  memoryKiB(): number;
  stop(): Promise<void>;
}

export const SENDER = 'alice@relay.bench.test';

/**
 * Mailroom as a relay: only the submission listener, AUTH PLAIN over loopback (allow_loopback_plaintext, as
 * a local MUA would), no per-account submission limit, every sink domain routed statically ([outbound] routes,
 * CONTRACT.md), the first retry late so a deferred domain is only tried once during a run.
 */
export function relayMailroomConfig(dir: string, port: number, sinks: Sink[]): string {
  // [metrics] too: its default 127.0.0.1:9187 is often taken (another server on the machine), and a relay that
  // cannot bind it does not start.
  const off = ['smtp', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'http', 'https', 'metrics'];
  const routes = sinks.map((s) => `${JSON.stringify(s.domain)} = "127.0.0.1:${s.port}"`).join(', ');
  return [
    'hostname = "mailroom.relay.bench.test"',
    `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
    '[submission]',
    `listen = ["127.0.0.1:${port}"]`,
    ...off.flatMap((s) => [`[${s}]`, 'listen = []']),
    '[auth]',
    'allow_loopback_plaintext = true',
    '[limits]',
    'max_connections = 2000',
    'max_connections_per_ip = 2000',
    // One account submits the whole load (5,000 messages to 15,000 recipients in about a minute): a bulk sender
    // an operator lets through. The per-account defaults (500 messages, 2,000 recipients an hour; issue 10) are
    // there for a stolen password, and refused this bench's 501st message with 451 4.7.1.
    'submission_messages_per_hour = 0',
    'submission_recipients_per_hour = 0',
    '[queue]',
    'retry_intervals = ["10m"]',
    '[outbound]',
    `routes = { ${routes} }`,
    '',
  ].join('\n');
}

function admin(cli: string, config: string, args: string[]): void {
  const r = spawnSync(process.execPath, [cli, ...args, '--config', config], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0)
    throw new Error(`mailroom ${args.join(' ')} failed (${r.status}): ${(r.stderr || '').trim()}`);
}

export async function startMailroomRelay(o: {
  cli: string;
  port: number;
  sinks: Sink[];
  keep: boolean;
  /** Runs on the data dir after the accounts exist and before `serve` starts (e.g. queue-fill.ts). */
  prefill?: (dataDir: string) => Promise<void>;
  name?: string;
}): Promise<Relay> {
  if (!existsSync(o.cli)) throw new Error(`${o.cli} not found (npm run build)`);
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-bench-relay-'));
  const config = join(dir, 'mailroom.toml');
  const logFile = join(dir, 'server.log');
  writeFileSync(config, relayMailroomConfig(dir, o.port, o.sinks));
  const cleanup = (): void => {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  };
  let child: ChildProcess | undefined;
  try {
    admin(o.cli, config, ['domain', 'add', 'relay.bench.test']);
    admin(o.cli, config, ['user', 'add', SENDER, '--password', 'bench-password']);
    if (o.prefill) await o.prefill(join(dir, 'data'));
    const fd = openSync(logFile, 'a');
    child = spawn(process.execPath, [o.cli, 'serve', '--config', config], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    let exited: number | null = null;
    child.once('exit', (code) => (exited = code ?? -1));
    const read = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
    const ready = await pollUntil(() => exited !== null || /ready/.test(read()), 30_000, 50);
    if (!ready || exited !== null)
      throw new Error(`mailroom serve did not become ready:\n${read().slice(-800)}`);
  } catch (error) {
    child?.kill('SIGKILL');
    cleanup();
    throw error;
  }
  const proc = child;
  return {
    name: o.name ?? 'mailroom',
    host: '127.0.0.1',
    port: o.port,
    auth: { username: SENDER, password: 'bench-password' },
    from: SENDER,
    memoryKiB: () => readMemory(proc.pid ?? -1)?.rssKiB ?? NaN,
    stop: async () => {
      const gone = new Promise<void>((resolve) => {
        if (proc.exitCode !== null) resolve();
        proc.once('exit', () => resolve());
        setTimeout(() => {
          proc.kill('SIGKILL');
          resolve();
        }, 10_000).unref();
      });
      proc.kill('SIGTERM');
      await gone;
      cleanup();
    },
  };
}

/**
 * Postfix 3.7 as a relay (PEERS.md): clients on 127.0.0.0/8 may relay (mynetworks; it has no SASL
 * configured, so our submission's AUTH costs one round trip per connection Postfix does not pay),
 * transport_maps sends each sink domain to smtp:[127.0.0.1]:PORT, DNS off, TLS off to the sinks as our
 * sinks offer none. Everything else, including its connection cache and concurrency limits, is default.
 */
export async function startPostfixRelay(o: { port: number; sinks: Sink[]; keep: boolean }): Promise<Relay> {
  const transport = o.sinks.map((s) => `${s.domain} smtp:[127.0.0.1]:${s.port}`).join('\n') + '\n';
  // The transport file must exist before `postfix start`: written into a dir Postfix reads at start.
  const tdir = mkdtempSync(join(tmpdir(), 'mailroom-bench-transport-'));
  const tfile = join(tdir, 'transport');
  writeFileSync(tfile, transport);
  spawnSync('chmod', ['755', tdir]);
  const server = await startPostfix({
    port: o.port,
    domain: 'local.bench.test',
    user: 'nobody',
    processLimit: 200,
    keep: o.keep,
    extraMainCf: [
      '# Relay bench: relay for loopback clients to the sinks named in transport_maps.',
      'default_transport = smtp',
      'relay_transport = smtp',
      `transport_maps = texthash:${tfile}`,
      `relay_domains = ${o.sinks.map((s) => s.domain).join(' ')}`,
      'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
      'smtp_tls_security_level = none',
      '',
    ].join('\n'),
    extraMasterCf: ['smtp unix - - n - - smtp'],
  });
  return {
    name: 'postfix',
    host: server.host,
    port: server.port,
    from: SENDER,
    memoryKiB: () => server.memoryKiB(),
    stop: async () => {
      await server.stop();
      rmSync(tdir, { recursive: true, force: true });
    },
  };
}
