// A private Dovecot 2.3 IMAP instance on loopback serving Maildirs, created under a temp dir for the IMAP bench.
// How: /work/shared/PEERS.md. `dovecot -c FILE` with our own config (own base_dir, state_dir, log, instance
// name); the system instance (/etc/dovecot) is never used. Needs root (master binds and setuids).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { treeCpuSeconds, treePssKiB } from '../lib/proc.js';
import { canConnect, pollUntil, sleep } from '../lib/wait.js';
import { countMaildir } from './postfix.js';
import type { BenchServer } from './server.js';

/** Mail files are owned by, and Dovecot's imap processes run as, this uid/gid (nobody is always there). */
export const DOVECOT_MAIL_UID = 65534;

export interface DovecotOptions {
  imapPort: number;
  imapsPort: number;
  users: { login: string; password: string }[];
  /** Raised for load tests: Dovecot's default (10 per user and IP) would refuse the mix's clients. */
  maxUserIpConnections: number;
  /** Fills each user's Maildir before the server starts (`maildirOf(login)` is the Maildir root). */
  prefill?: (maildirOf: (login: string) => string) => Promise<void>;
  keep?: boolean;
  /**
   * Mailbox format. Maildir (PEERS.md) by default; mdbox is Dovecot's own format for big mailboxes:
   * the prefilled Maildirs are then imported with `doveadm import` after start (flags and dates kept).
   */
  format?: 'maildir' | 'mdbox';
  /** Appended to the config (a later setting wins): for trying Dovecot's own tunings against its defaults. */
  extraConfig?: string;
}

export interface DovecotServer extends BenchServer {
  readonly imapPort: number;
  readonly imapsPort: number;
  readonly version: string;
  /** CPU seconds (user + system) used so far by the master's process tree, reaped children included. */
  cpuSeconds(): number;
}

export function dovecotConfig(dir: string, o: DovecotOptions): string {
  return `# Private bench instance: nothing here reads /etc/dovecot or listens beyond 127.0.0.1.
instance_name = mailroom-bench-${dir.slice(-6)}
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <${dir}/cert.pem
ssl_key = <${dir}/key.pem
# Loopback bench: LOGIN over plain IMAP, as Mailroom allows on loopback (CONTRACT.md [auth]).
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${DOVECOT_MAIL_UID} gid=${DOVECOT_MAIL_UID} home=${dir}/home/%u
}
mail_location = ${o.format === 'mdbox' ? 'mdbox:~/mdbox' : 'maildir:~/Maildir'}
first_valid_uid = 1
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${o.imapPort}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${o.imapsPort}
    ssl = yes
  }
}
protocol imap {
  mail_max_userip_connections = ${o.maxUserIpConnections}
}
# Everything else (fsync policy, login process mode, index and cache) is Dovecot's default.
${o.extraConfig ?? ''}
`;
}

function readFileSafe(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

/** Dovecot's version, or null when it is not installed. */
export function dovecotVersion(): string | null {
  const r = spawnSync('dovecot', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export async function startDovecot(o: DovecotOptions): Promise<DovecotServer> {
  if (process.getuid?.() !== 0) throw new Error('a private Dovecot instance needs root');
  const version = dovecotVersion();
  if (!version) throw new Error('dovecot is not installed (sh bench/setup-peers.sh dovecot)');
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-bench-dovecot-'));
  const config = join(dir, 'dovecot.conf');
  const cleanup = (): void => {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  };
  let masterPid = -1;
  try {
    // Dovecot's auth process (user dovecot) reads the passwd file; its imap processes reach the homes.
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'home'));
    writeFileSync(
      join(dir, 'passwd'),
      o.users.map((u) => `${u.login}:{PLAIN}${u.password}::::::\n`).join(''),
    );
    chmodSync(join(dir, 'passwd'), 0o644);
    const maildirOf = (login: string): string => join(dir, 'home', login, 'Maildir');
    for (const u of o.users) {
      for (const sub of ['cur', 'new', 'tmp', '.Sent/cur', '.Sent/new', '.Sent/tmp']) {
        mkdirSync(join(maildirOf(u.login), sub), { recursive: true });
      }
    }
    const cert = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '30',
        '-subj',
        '/CN=dovecot.bench.test',
      ].concat(['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]),
      { encoding: 'utf8' },
    );
    if (cert.status !== 0) throw new Error(`openssl could not make a certificate: ${cert.stderr}`);
    if (o.prefill) await o.prefill(maildirOf);
    // One recursive chown after the fill (cheaper than one per file while writing).
    const own = spawnSync('chown', ['-R', `${DOVECOT_MAIL_UID}:${DOVECOT_MAIL_UID}`, join(dir, 'home')]);
    if (own.status !== 0) throw new Error(`chown of the homes failed: ${String(own.stderr)}`);
    chownSync(join(dir, 'home'), 0, 0);
    writeFileSync(config, dovecotConfig(dir, o));
    // It daemonizes and keeps inherited descriptors (PEERS.md): no pipes, so spawnSync returns.
    const r = spawnSync('dovecot', ['-c', config], { stdio: 'ignore' });
    if (r.status !== 0) {
      throw new Error(
        `dovecot -c ${config} failed (${r.status}):\n${readFileSafe(join(dir, 'dovecot.log'))}`,
      );
    }
    const pidFile = join(dir, 'run', 'master.pid');
    if (!(await pollUntil(() => readFileSafe(pidFile).trim() !== '', 10_000))) {
      throw new Error(`dovecot wrote no master.pid:\n${readFileSafe(join(dir, 'dovecot.log'))}`);
    }
    masterPid = Number(readFileSafe(pidFile).trim());
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = (await canConnect('127.0.0.1', o.imapPort)) && (await canConnect('127.0.0.1', o.imapsPort));
      if (!up) await sleep(100);
    }
    if (!up) throw new Error(`dovecot did not listen:\n${readFileSafe(join(dir, 'dovecot.log'))}`);
    if (o.format === 'mdbox') {
      // Two at a time: each import is one doveadm process working on one user's mailboxes.
      const importOne = (login: string): Promise<void> =>
        new Promise((done, fail) => {
          const child = spawn(
            'doveadm',
            ['-c', config, 'import', '-u', login, `maildir:${maildirOf(login)}`, '', 'all'],
            { stdio: ['ignore', 'ignore', 'pipe'] },
          );
          let err = '';
          child.stderr.on('data', (c: Buffer) => (err += c.toString()));
          child.once('exit', (code) =>
            code === 0 ? done() : fail(new Error(`doveadm import ${login}: ${err}`)),
          );
        });
      for (let i = 0; i < o.users.length; i += 2) {
        await Promise.all(o.users.slice(i, i + 2).map((u) => importOne(u.login)));
      }
    }
  } catch (err) {
    if (masterPid > 0) spawnSync('doveadm', ['-c', config, 'stop'], { stdio: 'ignore' });
    cleanup();
    throw err;
  }
  const pid = masterPid;
  return {
    name: 'dovecot',
    host: '127.0.0.1',
    port: o.imapPort,
    imapPort: o.imapPort,
    imapsPort: o.imapsPort,
    version,
    storedCount: () => (o.format === 'mdbox' ? NaN : countMaildir(join(dir, 'home'))),
    memoryKiB: () => treePssKiB(pid),
    memoryKind: 'PSS summed over the master process tree',
    cpuSeconds: () => treeCpuSeconds(pid),
    stop: async () => {
      try {
        spawnSync('doveadm', ['-c', config, 'stop'], { stdio: 'ignore', timeout: 20_000 });
        await pollUntil(() => readFileSafe(`/proc/${pid}/stat`) === '', 10_000);
      } finally {
        // Async, so two servers' dirs (100,000s of files for the IMAP bench) are removed side by side.
        if (!o.keep) await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
