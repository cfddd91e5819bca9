// IMAP bench (issue 4): SELECT + FETCH 1:* FLAGS on a big mailbox and a concurrent client mix, Mailroom vs a private Dovecot.
// Run: npm run build && node --import tsx bench/imap.ts [--quick] [--rounds N] ... (--help; bench/README.md)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PeakSampler } from './lib/proc.js';
import { fmt } from './lib/table.js';
import { freePort } from './lib/wait.js';
import { fillMaildir, fillMailroom } from './imap/fill.js';
import { runMix, selectFetch, warmUp, type ImapTarget, type MixOptions } from './imap/load.js';
import { mixTable, selectFetchTable, summary, type ServerResult } from './imap/report.js';
import { dovecotVersion, startDovecot } from './peers/dovecot.js';
import { startMailroom } from './peers/mailroom.js';
import type { BenchServer } from './peers/server.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DOMAIN = 'example.test';
const PASSWORD = 'bench-password';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true, // the old form: imap.ts [messages] [mix-seconds] [clients]
  options: {
    quick: { type: 'boolean', default: false },
    messages: { type: 'string' }, // the big mailbox
    'mix-messages': { type: 'string' },
    users: { type: 'string' },
    clients: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    'idle-ms': { type: 'string', default: '20' },
    // Pace the mix to this many ops/s in all (e.g. Dovecot's figure from a run): memory at the same work.
    rate: { type: 'string', default: '0' },
    tls: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    'no-dovecot': { type: 'boolean', default: false },
    // Extra Dovecot settings, ';'-separated (e.g. "maildir_very_dirty_syncs = yes"): Dovecot's defaults otherwise.
    'dovecot-conf': { type: 'string', default: '' },
    'dovecot-format': { type: 'string', default: 'maildir' }, // maildir (PEERS.md) | mdbox
    'no-ours': { type: 'boolean', default: false },
    // Extra [limits] keys for our server, ';'-separated (e.g. "header_cache = \"64M\""): its defaults otherwise.
    'mailroom-conf': { type: 'string', default: '' },
    // Node/V8 flags for our server process alone (e.g. "--max-semi-space-size=1"), space-separated.
    'node-args': { type: 'string', default: '' },
    cli: { type: 'string' },
    'old-config': { type: 'boolean', default: false }, // --cli is a build from before issue 11: no [metrics]/[https]
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(
    'usage: node --import tsx bench/imap.ts [--quick] [--messages N] [--mix-messages N] [--users U] [--clients C]\n' +
      '       [--seconds S] [--rounds R] [--idle-ms MS] [--rate OPS] [--tls] [--seed N] [--no-dovecot] [--no-ours]\n' +
      '       [--dovecot-conf "setting = value; ..."] [--dovecot-format maildir|mdbox]\n' +
      '       [--mailroom-conf "limits_key = value; ..."] [--node-args "--v8-flag ..."]\n' +
      '       [--cli dist/cli.js [--old-config]] [--json FILE] [--keep]\n',
  );
  process.exit(0);
}
const int = (name: string, text: string, min: number, max: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`imap bench: --${name} must be a whole number from ${min} to ${max}, got ${text}\n`);
    process.exit(2);
  }
  return n;
};
const BIG = int(
  'messages',
  opt.messages ?? positionals[0] ?? (opt.quick ? '20000' : '100000'),
  100,
  10_000_000,
);
const SECONDS = int('seconds', opt.seconds ?? positionals[1] ?? (opt.quick ? '5' : '10'), 1, 3600);
const CLIENTS = int('clients', opt.clients ?? positionals[2] ?? '20', 1, 1000);
const MIX_MESSAGES = int('mix-messages', opt['mix-messages'] ?? '10000', 100, 1_000_000);
const USERS = int('users', opt.users ?? (opt.quick ? '5' : '10'), 1, 1000);
const ROUNDS = int('rounds', opt.rounds ?? (opt.quick ? '1' : '3'), 1, 20);
const mixOptions: MixOptions = {
  clients: CLIENTS,
  seconds: SECONDS,
  idleMs: int('idle-ms', opt['idle-ms'], 0, 60_000),
  rate: int('rate', opt.rate, 0, 1_000_000),
  seed: int('seed', opt.seed, 0, 2 ** 31),
};
if (!['maildir', 'mdbox'].includes(opt['dovecot-format'])) {
  process.stderr.write(`imap bench: --dovecot-format takes maildir or mdbox, got ${opt['dovecot-format']}\n`);
  process.exit(2);
}
const DOVECOT_FORMAT = opt['dovecot-format'] as 'maildir' | 'mdbox';
const CLI = opt.cli ?? join(HERE, '..', 'dist', 'cli.js');
const log = (s: string): void => void process.stderr.write(`imap bench: ${s}\n`);
const bigUser = `big@${DOMAIN}`;
const mixUsers = Array.from({ length: USERS }, (_, i) => `mix${i}@${DOMAIN}`);

// ---- the peer: install Dovecot when missing and possible; the bench still runs without it.
const isRoot = process.getuid?.() === 0;
let dcVersion = dovecotVersion();
if (!dcVersion && !opt['no-dovecot'] && isRoot) {
  log('dovecot not found: installing dovecot-imapd (bench/setup-peers.sh dovecot)');
  const r = spawnSync('sh', [join(HERE, 'setup-peers.sh'), 'dovecot'], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0) log('Dovecot install failed: measuring our server alone');
  dcVersion = dovecotVersion();
}
const withDovecot = !opt['no-dovecot'] && isRoot && dcVersion !== null;
let noPeerWhy = opt['no-dovecot'] ? '--no-dovecot' : '';
if (!opt['no-dovecot'] && !withDovecot) {
  noPeerWhy = isRoot ? 'dovecot-imapd is not installed' : 'not root: cannot run a private Dovecot';
  log(`${noPeerWhy}: no peer figures`);
}

// Ctrl-C must not leave a private Dovecot (or our server) running, nor its temp dir behind.
const active = new Set<BenchServer>();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping ${active.size} server(s)`);
    void Promise.allSettled([...active].map((s) => s.stop())).then(() => process.exit(130));
  });
}

const seconds = (t0: number): string => fmt((performance.now() - t0) / 1000, 1);
const fills = [
  { address: bigUser, count: BIG },
  ...mixUsers.map((address) => ({ address, count: MIX_MESSAGES })),
];
const targetOf = (
  name: string,
  port: number,
  s: { memoryKiB(): number; cpuSeconds(): number },
): ImapTarget => ({
  name,
  endpoint: { host: '127.0.0.1', port, tls: opt.tls },
  password: PASSWORD,
  bigUser,
  bigCount: BIG,
  mixUsers,
  mixCount: MIX_MESSAGES,
  memoryKiB: () => s.memoryKiB(),
  cpuSeconds: () => s.cpuSeconds(),
});

interface Contender {
  target: ImapTarget;
  result: ServerResult;
}
const contenders: Contender[] = [];
/** Our server's RSS over the timed turns (the PSS is the compared figure; RSS also counts shared pages whole). */
let ourRss: PeakSampler | null = null;
let ourPeakRssKiB = 0;
const nodeArgs = opt['node-args'].split(/\s+/).filter((s) => s.length > 0);
const ourConf = opt['mailroom-conf']
  .split(';')
  .map((s) => s.trim())
  .filter((s) => s.length > 0);
const notes: string[] = [];
if (mixOptions.rate) notes.push(`mix paced to ${mixOptions.rate} ops/s in all (--rate), for both servers`);

async function main(): Promise<void> {
  if (!opt['no-ours']) await tryStart('mailroom', startOurs);
  if (withDovecot) await tryStart('dovecot', startPeer);
  for (const c of [...contenders]) {
    const t0 = performance.now();
    try {
      c.result.warmUp = await warmUp(c.target);
    } catch (err) {
      // A server that cannot serve its own mailboxes right is reported, and the other still measured.
      notes.push(`${c.target.name} failed the warm-up and was not timed: ${errorText(err)}`);
      log(notes[notes.length - 1] as string);
      contenders.splice(contenders.indexOf(c), 1);
      continue;
    }
    log(`${c.target.name}: warm-up (first sync of every mailbox) in ${seconds(t0)} s`);
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which server goes first: load from elsewhere on the shared machine then hits both alike.
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      const mem = new PeakSampler(() => c.target.memoryKiB(), 250).start();
      if (c.target.name === 'mailroom') ourRss?.start();
      const sf = await selectFetch(c.target);
      c.result.selectFetch.push(sf);
      const mix = await runMix(c.target, { ...mixOptions, seed: mixOptions.seed + round * 1000 });
      c.result.mix.push(mix);
      c.result.peakMemKiB = Math.max(c.result.peakMemKiB, mem.stop(), mix.peakMemKiB);
      if (c.target.name === 'mailroom' && ourRss) ourPeakRssKiB = Math.max(ourPeakRssKiB, ourRss.stop());
      log(
        `round ${round + 1}/${ROUNDS} ${c.target.name}: SELECT+FETCH ${fmt(sf.totalMs)} ms; mix ${fmt(mix.opsPerSec)} ops/s, ` +
          `${mix.errors} errors, server ${fmt(mix.serverCores, 2)} cores, generator ${fmt(mix.generatorCores, 2)} cores`,
      );
    }
  }
}

async function startOurs(): Promise<void> {
  const t0 = performance.now();
  const [imapPort, imapsPort] = [await freePort(), await freePort()];
  const ours = await startMailroom({
    cli: CLI,
    port: await freePort(),
    imapPort,
    imapsPort,
    domain: DOMAIN,
    user: 'big',
    accounts: mixUsers,
    maxConnections: CLIENTS + USERS + 100,
    keep: opt.keep,
    preIssue11Config: opt['old-config'],
    prefill: (dataDir) => fillMailroom({ cli: CLI, dataDir, mailboxes: fills }),
    ...(ourConf.length > 0 ? { extraToml: ourConf.join('\n') } : {}),
    ...(nodeArgs.length > 0 ? { nodeArgs } : {}),
  });
  if (nodeArgs.length > 0) notes.push(`mailroom node flags: ${nodeArgs.join(' ')}`);
  if (ourConf.length > 0) notes.push(`mailroom [limits]: ${ourConf.join('; ')}`);
  // PSS, as Dovecot's tree is measured (issue 12: "measured the same way"); the RSS peak is kept beside it.
  ourRss = new PeakSampler(() => ours.memoryKiB(), 250);
  active.add(ours);
  notes.push(`mailroom: filled (store API, group commit) and started in ${seconds(t0)} s`);
  log(notes[notes.length - 1] as string);
  contenders.push({
    target: targetOf('mailroom', opt.tls ? imapsPort : imapPort, {
      memoryKiB: () => ours.pssKiB(),
      cpuSeconds: () => ours.cpuSeconds(),
    }),
    result: { name: 'mailroom', memoryKind: 'PSS (process)', selectFetch: [], mix: [], peakMemKiB: 0 },
  });
}

async function startPeer(): Promise<void> {
  const t0 = performance.now();
  const dc = await startDovecot({
    imapPort: await freePort(),
    imapsPort: await freePort(),
    users: [bigUser, ...mixUsers].map((login) => ({ login, password: PASSWORD })),
    maxUserIpConnections: CLIENTS + 100,
    keep: opt.keep,
    prefill: async (maildirOf) => {
      for (const f of fills) fillMaildir(maildirOf(f.address), f.count);
    },
  });
  active.add(dc);
  notes.push(
    `dovecot ${dc.version}: Maildir written and started${DOVECOT_FORMAT === 'mdbox' ? ', imported into mdbox,' : ''} in ${seconds(t0)} s`,
  );
  log(notes[notes.length - 1] as string);
  contenders.push({
    target: targetOf('dovecot', opt.tls ? dc.imapsPort : dc.imapPort, dc),
    result: { name: 'dovecot', memoryKind: 'PSS (process tree)', selectFetch: [], mix: [], peakMemKiB: 0 },
  });
}

const errorText = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

/** Starts one server; one that fails to start is reported and the other still measured. */
async function tryStart(name: string, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (err) {
    notes.push(`${name} did not start: ${errorText(err)}`);
    log(notes[notes.length - 1] as string);
  }
}

let failed: unknown = null;
try {
  await main();
} catch (err) {
  failed = err;
}
report();
await Promise.allSettled([...active].map((s) => s.stop()));
if (failed) {
  process.stderr.write(
    `imap bench failed: ${failed instanceof Error ? (failed.stack ?? failed.message) : String(failed)}\n`,
  );
  process.exit(1);
}

/** Prints the tables (before the servers are stopped and their files removed, which takes a while). */
function report(): void {
  const ours = contenders.find((c) => c.target.name === 'mailroom')?.result;
  const peer = contenders.find((c) => c.target.name === 'dovecot')?.result;
  const out: string[] = [
    `Mailroom IMAP bench${opt.quick ? ' (--quick)' : ''}: ${new Date().toISOString()}, Node ${process.version}, ` +
      (withDovecot
        ? `Dovecot ${dcVersion} (private instance, ${DOVECOT_FORMAT === 'mdbox' ? 'mdbox' : 'Maildir'})`
        : `no Dovecot (${noPeerWhy})`) +
      `, ${opt.tls ? 'imaps (TLS)' : 'plain IMAP'} on loopback`,
    '',
    selectFetchTable(
      contenders.map((c) => c.result),
      BIG,
    ),
    '',
    mixTable(ours, peer),
    '',
    `mix: ${CLIENTS} clients over ${USERS} accounts (INBOX of ${fmt(MIX_MESSAGES)} msgs each), ${SECONDS} s per round, ` +
      `${ROUNDS} alternating round(s), the median round shown; every client logs in once, SELECTs and learns the UIDs ` +
      `(not timed), then loops: SELECT/EXAMINE INBOX 10%, FETCH 100 FLAGS 20%, FETCH 20 headers 20%, ` +
      `UID FETCH BODY.PEEK[] 20%, SEARCH SUBJECT/FROM 5%, UID STORE +/-FLAGS \\Seen 10%, APPEND 4 KiB to Sent 5%, ` +
      `IDLE ${mixOptions.idleMs} ms 10% (IDLE latency excludes the wait).`,
    'Each client runs one command at a time (closed loop), so per-command ops/s follow the weights and share the total ' +
      'ratio; the latency columns show which commands cost each server its time.',
    'Every response is parsed and checked (EXISTS, FLAGS per message, header fields, BODY[] byte for byte, SEARCH hit ' +
      'counts, STORE flags); a NO/BAD/BYE, a wrong or malformed response, a timeout counts as an error.',
    'Both servers hold the same messages (same bytes, same internal dates). Before timing, each server saw a first sync of ' +
      'every mailbox (warm-up, not timed): SELECT; FETCH 1:* FLAGS of the big one; headers of every message and one SEARCH ' +
      'by Subject and by From in each mix mailbox. Dovecot builds its index and header cache then ("first SELECT after start").',
    ...summary(ours, peer),
    ...(ours && ourPeakRssKiB > 0
      ? [`mailroom: peak RSS ${fmt(ourPeakRssKiB / 1024, 1)} MiB (VmRSS of the server process)`]
      : []),
    ...notes.map((n) => `note: ${n}`),
  ];
  process.stdout.write(out.join('\n') + '\n');
  if (opt.json) {
    writeFileSync(
      opt.json,
      JSON.stringify(
        {
          dovecot: dcVersion,
          big: BIG,
          mix: { ...mixOptions, users: USERS, mixMessages: MIX_MESSAGES },
          results: contenders.map((c) => c.result),
        },
        null,
        2,
      ),
    );
  }
}
