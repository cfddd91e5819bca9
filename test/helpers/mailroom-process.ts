// Runs `node dist/cli.js` as a user would: a temp data dir and config on free loopback ports, `serve` in a child process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePorts } from './free-ports.js';

export { freePorts };

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
