// A private Postfix 3.7 instance on loopback delivering to Maildir, created under a temp dir for the bench.
// How: /work/shared/PEERS.md. `postfix -c DIR start` with our own main.cf/master.cf; the system
// instance (/etc/postfix) is never configured or started. Needs root (master binds and setuids).
import {
  mkdtempSync,
  writeFileSync,
  mkdirSync,
  chownSync,
  chmodSync,
  rmSync,
  readdirSync,
  readFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTree, treePssKiB } from '../lib/proc.js';
import { canConnect, pollUntil } from '../lib/wait.js';
import type { BenchServer } from './server.js';

export interface PostfixOptions {
  port: number;
  domain: string; // the one virtual mailbox domain
  user: string; // local part of the one mailbox
  /** Postfix forks one smtpd per connection: this caps them (the idle load needs it raised). */
  processLimit: number;
  keep?: boolean; // leave the temp dir for inspection
  /** Appended to main.cf (a later setting wins in Postfix): the relay bench turns this into a relay. */
  extraMainCf?: string;
  /** Extra master.cf rows (the relay bench adds the smtp client). */
  extraMasterCf?: string[];
}

/** The uid/gid Maildir files are written as: virtual(8) refuses root; nobody is always there. */
const MAIL_UID = 65534;

export function postfixMainCf(dir: string, o: PostfixOptions): string {
  return `# Private bench instance: nothing here touches /etc/postfix/main.cf or the network.
compatibility_level = 3.6
queue_directory = ${dir}/queue
data_directory = ${dir}/data
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.test
mydomain = bench.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
# Postfix 3.4+ logs to a file through postlogd: no syslog daemon needed, and errors are findable.
maillog_file = ${dir}/maillog
maillog_file_prefixes = ${dir}
# Durable delivery to Maildir (a trailing / in the map means Maildir).
virtual_mailbox_domains = ${o.domain}
virtual_mailbox_base = ${dir}/mail
virtual_mailbox_maps = texthash:${dir}/etc/vmailbox
virtual_uid_maps = static:${MAIL_UID}
virtual_gid_maps = static:${MAIL_UID}
virtual_minimum_uid = 100
# Off the network: nothing else is delivered anywhere.
default_transport = error:bench instance does not relay
relay_transport = error:bench instance does not relay
local_transport = error:bench instance has no local delivery
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
alias_maps =
alias_database =
biff = no
# All load comes from one client address: lift the per-client caps (0 = no limit).
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = ${o.processLimit}
${o.extraMainCf ?? ''}`;
}

/** One smtpd on 127.0.0.1:PORT plus the internal services; chroot off (our dirs are not a chroot jail). */
export function postfixMasterCf(o: PostfixOptions): string {
  const rows = [
    `127.0.0.1:${o.port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'virtual unix - n n - - virtual',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
    ...(o.extraMasterCf ?? []),
  ];
  return rows.join('\n') + '\n';
}

/** Runs a Postfix admin command; its errors go to stderr only on a terminal, so the maillog is quoted too. */
function postfixCmd(dir: string, args: string[]): void {
  // A time limit: a Postfix whose postlogd is wedged blocks `postfix stop` (its `master -t` logs
  // through postlogd) forever, and with it the whole bench run.
  const r = spawnSync('postfix', ['-c', join(dir, 'etc'), ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) {
    let log = '';
    try {
      log = readFileSync(join(dir, 'maillog'), 'utf8').split('\n').slice(-5).join('\n');
    } catch {
      // no log yet: the failure happened before postlogd started
    }
    throw new Error(
      `postfix ${args.join(' ')} failed (${r.status}): ${r.stderr || r.error?.message || ''}\n${log}`,
    );
  }
}

/** Counts Maildir files (new/ and cur/) under the mail base: one file per delivered message. */
export function countMaildir(base: string): number {
  let n = 0;
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return; // not created yet: nothing delivered
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (e.name === 'new' || e.name === 'cur') n += readdirSync(join(d, e.name)).length;
      else if (e.name !== 'tmp') walk(join(d, e.name));
    }
  };
  walk(base);
  return n;
}

export async function startPostfix(o: PostfixOptions): Promise<BenchServer> {
  if (process.getuid?.() !== 0) throw new Error('a private Postfix instance needs root');
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-bench-postfix-'));
  // Postfix daemons run as the postfix user and must reach the queue through this path.
  chmodSync(dir, 0o755);
  for (const sub of ['etc', 'queue', 'data', 'mail']) mkdirSync(join(dir, sub));
  const pw = spawnSync('id', ['-u', 'postfix'], { encoding: 'utf8' });
  const postfixUid = Number(pw.stdout.trim());
  if (!Number.isInteger(postfixUid)) throw new Error('no postfix user: run bench/setup-peers.sh');
  chownSync(join(dir, 'data'), postfixUid, -1);
  chownSync(join(dir, 'mail'), MAIL_UID, MAIL_UID);
  writeFileSync(join(dir, 'etc', 'vmailbox'), `${o.user}@${o.domain} ${o.domain}/${o.user}/\n`);
  writeFileSync(join(dir, 'etc', 'main.cf'), postfixMainCf(dir, o));
  writeFileSync(join(dir, 'etc', 'master.cf'), postfixMasterCf(o));
  const cleanup = (): void => {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    postfixCmd(dir, ['start']);
    if (!(await pollUntil(() => readdirSafe(join(dir, 'queue', 'pid')).includes('master.pid'), 10_000))) {
      throw new Error('postfix master did not write its pid file');
    }
  } catch (err) {
    cleanup();
    throw err;
  }
  const masterPid = Number(readFileSync(join(dir, 'queue', 'pid', 'master.pid'), 'utf8').trim());
  let up = false;
  for (let i = 0; i < 50 && !up; i++) {
    up = await canConnect('127.0.0.1', o.port);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async (): Promise<void> => {
    try {
      try {
        postfixCmd(dir, ['stop']);
      } catch (err) {
        // Not stoppable the polite way: end this instance's own processes (and only them) by pid.
        const msg = err instanceof Error ? err.message : String(err);
        process.stderr.write(`bench: ${msg.split('\n')[0]}; killing the private Postfix tree\n`);
        for (const pid of processTree(masterPid)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      // `postfix stop` signals master and returns; wait for the tree to go before removing its files.
      await pollUntil(() => !readdirSafe('/proc').includes(String(masterPid)), 10_000);
    } finally {
      cleanup();
    }
  };
  if (!up) {
    await stop();
    throw new Error(`postfix did not accept connections on 127.0.0.1:${o.port}`);
  }
  return {
    name: 'postfix',
    host: '127.0.0.1',
    port: o.port,
    storedCount: () => countMaildir(join(dir, 'mail')),
    memoryKiB: () => treePssKiB(masterPid),
    memoryKind: 'PSS summed over the master process tree',
    stop,
  };
}

function readdirSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

/** Postfix's version, or null when it is not installed. */
export function postfixVersion(): string | null {
  const r = spawnSync('postconf', ['-d', '-h', 'mail_version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}
