// Runs `node dist/cli.js` as a user would: a temp data dir and config on free loopback ports, `serve` in a child process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

/** Runs a CLI command with this config, without blocking the event loop (servers and senders keep going). */
export function runCli(
  args: string[],
  configPath: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args, '--config', configPath], { cwd: tmpdir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.end();
    child.once('close', (status) => done({ status, stdout, stderr }));
  });
}

/** The lowest port the OS hands out by itself (Linux: ip_local_port_range), where it can be read. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Where test servers' ports are drawn from: below the ephemeral range (see freePorts). */
const PORT_FLOOR = 10_000;

function tryListen(port: number): Promise<Server | null> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(null));
    server.listen(port, '127.0.0.1', () => done(server));
  });
}

/**
 * Ports free right now (each bound, then released), for a server a test starts next. Drawn at random
 * below the OS's ephemeral range, not by binding port 0: port 0 gets a port from that range, which every
 * outgoing connection of every test process also takes its source port from, so between the release
 * here and the server's listen one of the suite's many connections could take it (seen in CI:
 * `serve` refused to start with EADDRINUSE). Below the range a port is only ever taken on request.
 */
export async function freePorts(count: number): Promise<number[]> {
  const high = ephemeralLow() - 1;
  const held: Server[] = [];
  try {
    for (let tries = 0; held.length < count && tries < 1000; tries++) {
      const port =
        high - PORT_FLOOR >= 1000 ? PORT_FLOOR + Math.floor(Math.random() * (high - PORT_FLOOR + 1)) : 0; // no room below the range: let the OS pick
      const server = await tryListen(port);
      if (server) held.push(server);
    }
    if (held.length < count) throw new Error(`no ${count} free loopback ports found`);
    return held.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(held.map((s) => new Promise((done) => s.close(done))));
  }
}

export interface MailroomPorts {
  smtp: number;
  submission: number;
  submissions: number;
  /** Set only for the access listeners asked for in createMailroom's `enable`. */
  imap?: number;
  imaps?: number;
  pop3?: number;
  pop3s?: number;
  http?: number;
  https?: number;
  metrics?: number;
}

/** Access listeners that are off unless a test asks for them (each gets a free port). */
export type AccessListener = 'imap' | 'imaps' | 'pop3' | 'pop3s' | 'http' | 'https' | 'metrics';

export interface MailroomInstance {
  dir: string;
  configPath: string;
  dataDir: string;
  ports: MailroomPorts;
  hostname: string;
  process: ChildProcess | null;
  /** Everything the server printed, for assertions and for failure messages. */
  output: string[];
  /** Runs a CLI command against this instance's config; throws with stderr on a non-zero exit. */
  cli(args: string[], input?: string): string;
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  cleanup(): Promise<void>;
}

/** Makes a temp instance; `extraToml` is appended to the generated config. */
export async function createMailroom(
  options: { hostname?: string; extraToml?: string; enable?: AccessListener[] } = {},
): Promise<MailroomInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-e2e-'));
  const [smtp, submission, submissions] = (await freePorts(3)) as [number, number, number];
  const enable = options.enable ?? [];
  const accessPorts = await freePorts(enable.length);
  const access: Partial<Record<AccessListener, number>> = {};
  enable.forEach((name, i) => (access[name] = accessPorts[i]));
  const listenOf = (name: AccessListener): string =>
    access[name] === undefined ? 'listen = []' : `listen = ["127.0.0.1:${access[name]}"]`;
  const hostname = options.hostname ?? 'mx.example.test';
  const configPath = join(dir, 'mailroom.toml');
  const dataDir = join(dir, 'data');
  writeFileSync(
    configPath,
    [
      `hostname = "${hostname}"`,
      `data_dir = "${dataDir}"`,
      `[smtp]`,
      `listen = ["127.0.0.1:${smtp}"]`,
      `[submission]`,
      `listen = ["127.0.0.1:${submission}"]`,
      `[submissions]`,
      `listen = ["127.0.0.1:${submissions}"]`,
      `[imap]`,
      listenOf('imap'),
      `[imaps]`,
      listenOf('imaps'),
      `[pop3]`,
      listenOf('pop3'),
      `[pop3s]`,
      listenOf('pop3s'),
      `[http]`,
      listenOf('http'),
      `[https]`,
      listenOf('https'),
      `[metrics]`,
      listenOf('metrics'),
      options.extraToml ?? '',
    ].join('\n'),
  );

  const instance: MailroomInstance = {
    dir,
    configPath,
    dataDir,
    hostname,
    ports: { smtp, submission, submissions, ...access },
    process: null,
    output: [],
    cli(args, input) {
      const result = spawnSync(process.execPath, [CLI, ...args, '--config', configPath], {
        input: input ?? '',
        encoding: 'utf8',
      });
      if (result.status !== 0) {
        throw new Error(`mailroom ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
      }
      return result.stdout;
    },
    async start() {
      const child = spawn(process.execPath, [CLI, 'serve', '--config', configPath], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      instance.process = child;
      await new Promise<void>((ready, fail) => {
        let buffered = '';
        const timer = setTimeout(
          () => fail(new Error(`no ready line in 20s:\n${instance.output.join('\n')}`)),
          20_000,
        );
        const onData = (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            instance.output.push(line);
            if (line.includes('ready')) {
              clearTimeout(timer);
              ready();
            }
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', (chunk: Buffer) => instance.output.push(chunk.toString('utf8')));
        child.once('exit', (code) => {
          clearTimeout(timer);
          fail(new Error(`serve exited with ${code} before ready:\n${instance.output.join('\n')}`));
        });
      });
    },
    async kill(signal = 'SIGTERM') {
      const child = instance.process;
      if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      child.kill(signal);
      const code = await exited;
      instance.process = null;
      return code;
    },
    async cleanup() {
      await instance.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return instance;
}
