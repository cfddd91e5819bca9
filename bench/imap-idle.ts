// Idle IMAP connections (issue 12): N held after LOGIN + SELECT INBOX; server memory per connection.
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fdLimits, raiseFdLimit } from './lib/proc.js';
import { fmt } from './lib/table.js';
import { freePort } from './lib/wait.js';
import { fillMailroom } from './imap/fill.js';
import { startMailroom, type MailroomServer } from './peers/mailroom.js';

/*
 * What it measures: (server memory with N connections held, each logged in with INBOX selected - the same
 * before them) / N, as the SMTP bench's load (c) does after EHLO. Before the baseline, a few sessions
 * run the same commands and close, so code loaded once (and the password check, which the server then
 * remembers) is not counted per connection. The connections come from several loopback addresses and
 * spread over several accounts, whose INBOXes hold --messages messages each: a session's view of a
 * mailbox it shares with others is part of what is measured. Goal: <= 16 KiB per connection.
 * The server's heap cannot be collected from outside, so the figure is read after the server has been
 * idle for --settle seconds (V8's memory reducer collects an idle heap) as the lowest of its samples then.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const DOMAIN = 'example.test';
const PASSWORD = 'bench-password';
const GOAL_KIB = 16;

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    connections: { type: 'string' },
    accounts: { type: 'string', default: '10' },
    messages: { type: 'string' },
    addresses: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '100' },
    settle: { type: 'string', default: '5' },
    'mailroom-conf': { type: 'string', default: '' },
    cli: { type: 'string' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(
    'usage: node --import tsx bench/imap-idle.ts [--quick] [--connections N] [--accounts A] [--messages M]\n' +
      '       [--addresses K] [--concurrency C] [--settle S] [--mailroom-conf "limits_key = value; ..."]\n' +
      '       [--cli dist/cli.js] [--json FILE] [--keep]\n',
  );
  process.exit(0);
}
const int = (name: string, text: string, min: number, max: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(
      `imap-idle bench: --${name} must be a whole number from ${min} to ${max}, got ${text}\n`,
    );
    process.exit(2);
  }
  return n;
};
let CONNECTIONS = int('connections', opt.connections ?? (opt.quick ? '1000' : '10000'), 1, 100_000);
const ACCOUNTS = int('accounts', opt.accounts, 1, 1000);
const MESSAGES = int('messages', opt.messages ?? (opt.quick ? '200' : '1000'), 0, 1_000_000);
const ADDRESSES = int('addresses', opt.addresses, 1, 250);
const CONCURRENCY = int('concurrency', opt.concurrency, 1, 1000);
const SETTLE_S = int('settle', opt.settle, 1, 600);
const CLI = opt.cli ?? join(HERE, '..', 'dist', 'cli.js');
const log = (s: string): void => void process.stderr.write(`imap-idle bench: ${s}\n`);
const notes: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

// One descriptor per connection here and in the server (which inherits the limit).
const fdWanted = CONNECTIONS + 1024;
if (raiseFdLimit(fdWanted) < fdWanted) {
  const soft = fdLimits().soft;
  CONNECTIONS = Math.max(100, soft - 1024);
  notes.push(`open-file limit is ${soft}: holding ${CONNECTIONS} connections instead`);
  log(notes[notes.length - 1] as string);
}

const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `idle${i}@${DOMAIN}`);
/** Source addresses 127.0.3.1 .. 127.0.3.K: no one address holds every connection (per-IP limits, ports). */
const sourceOf = (i: number): string => `127.0.3.${(i % ADDRESSES) + 1}`;

/**
 * One connection: greeting, LOGIN and SELECT INBOX pipelined, resolved at SELECT's tagged OK; the
 * socket is then left open and unread (the server sends an idle session nothing).
 */
function holdOne(port: number, i: number, timeoutMs = 60_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: sourceOf(i) });
    let text = '';
    let greeted = false;
    const timer = setTimeout(
      () => fail(new Error(`timeout; got ${JSON.stringify(text.slice(-200))}`)),
      timeoutMs,
    );
    const fail = (e: Error): void => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    s.on('error', fail);
    s.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!greeted && text.includes('\r\n')) {
        greeted = true;
        const user = accounts[i % accounts.length] as string;
        s.write(`a LOGIN ${user} ${PASSWORD}\r\nb SELECT INBOX\r\n`);
      }
      if (/^a (NO|BAD)/m.test(text) || /^b (NO|BAD)/m.test(text))
        fail(new Error(text.trim().split('\r\n').pop() ?? ''));
      else if (/^b OK/m.test(text)) {
        clearTimeout(timer);
        s.removeAllListeners('data');
        s.removeListener('error', fail);
        s.on('error', () => undefined);
        text = '';
        resolve(s);
      }
    });
  });
}

async function holdMany(
  port: number,
  count: number,
  offset: number,
): Promise<{ held: Socket[]; errors: string[] }> {
  const held: Socket[] = [];
  const errors: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = offset + next++;
      try {
        held.push(await holdOne(port, i));
      } catch (err) {
        if (errors.length < 1_000) errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, () => worker()));
  return { held, errors };
}

/** The lowest of a few samples over `seconds`: an idle heap shrinks as the memory reducer collects it. */
async function settled(read: () => number, seconds: number): Promise<number> {
  let low = Infinity;
  for (let t = 0; t < seconds * 4; t++) {
    await sleep(250);
    const v = read();
    if (Number.isFinite(v)) low = Math.min(low, v);
  }
  return low;
}

const ourConf = opt['mailroom-conf']
  .split(';')
  .map((s) => s.trim())
  .filter((s) => s.length > 0);

let server: MailroomServer | null = null;
let failed: unknown = null;
const figures: Record<string, number> = {};
try {
  const t0 = performance.now();
  const imapPort = await freePort();
  server = await startMailroom({
    cli: CLI,
    port: await freePort(),
    imapPort,
    domain: DOMAIN,
    user: 'postmaster',
    accounts,
    maxConnections: CONNECTIONS + 200,
    maxConnectionsPerIp: CONNECTIONS + 200,
    keep: opt.keep,
    prefill: (dataDir) =>
      fillMailroom({
        cli: CLI,
        dataDir,
        mailboxes: accounts.map((address) => ({ address, count: MESSAGES })),
      }),
    ...(ourConf.length > 0 ? { extraToml: ourConf.join('\n') } : {}),
  });
  const s = server;
  notes.push(
    `mailroom: ${ACCOUNTS} accounts of ${fmt(MESSAGES)} messages filled and started in ${fmt((performance.now() - t0) / 1000, 1)} s`,
  );
  if (ourConf.length > 0) notes.push(`mailroom [limits]: ${ourConf.join('; ')}`);
  log(notes[notes.length - 1] as string);
  // Warm-up: every account's password verified once (remembered afterwards) and its INBOX index cached.
  const warm = await holdMany(imapPort, Math.max(ACCOUNTS, 20), 0);
  for (const w of warm.held) w.destroy();
  if (warm.errors.length > 0) throw new Error(`warm-up failed: ${warm.errors[0]}`);
  figures.baselineRssKiB = await settled(() => s.memoryKiB(), SETTLE_S);
  figures.baselinePssKiB = s.pssKiB();
  const t1 = performance.now();
  const hold = await holdMany(imapPort, CONNECTIONS, 0);
  figures.openSeconds = (performance.now() - t1) / 1000;
  log(`${hold.held.length} held (${hold.errors.length} failed) in ${fmt(figures.openSeconds, 1)} s`);
  if (hold.errors.length > 0)
    notes.push(`${hold.errors.length} connections failed: ${hold.errors.slice(0, 3).join('; ')}`);
  let closedByServer = 0;
  for (const c of hold.held) c.once('close', () => closedByServer++);
  figures.heldRssKiB = await settled(() => s.memoryKiB(), SETTLE_S);
  figures.heldPssKiB = s.pssKiB();
  const open = hold.held.length - closedByServer;
  if (closedByServer > 0) notes.push(`${closedByServer} held connections were closed by the server`);
  figures.held = open;
  figures.kibPerConnection = open > 0 ? (figures.heldRssKiB - figures.baselineRssKiB) / open : NaN;
  figures.pssKibPerConnection = open > 0 ? (figures.heldPssKiB - figures.baselinePssKiB) / open : NaN;
  for (const c of hold.held) c.destroy();
} catch (err) {
  failed = err;
}
const k = figures.kibPerConnection ?? NaN;
const out = [
  `Mailroom idle IMAP bench: ${new Date().toISOString()}, Node ${process.version}`,
  `${fmt(figures.held ?? 0)}/${fmt(CONNECTIONS)} connections held after LOGIN + SELECT INBOX ` +
    `(${ACCOUNTS} accounts, INBOX of ${fmt(MESSAGES)} messages each, from ${ADDRESSES} loopback addresses), ` +
    `opened in ${fmt(figures.openSeconds ?? NaN, 1)} s`,
  `server RSS before ${fmt((figures.baselineRssKiB ?? NaN) / 1024, 1)} MiB, with them held ` +
    `${fmt((figures.heldRssKiB ?? NaN) / 1024, 1)} MiB (lowest over ${SETTLE_S} s idle each)`,
  `per connection: ${fmt(k, 1)} KiB RSS, ${fmt(figures.pssKibPerConnection ?? NaN, 1)} KiB PSS; ` +
    `goal <= ${GOAL_KIB} KiB: ${k <= GOAL_KIB ? 'met' : 'NOT met'}`,
  ...notes.map((n) => `note: ${n}`),
];
process.stdout.write(out.join('\n') + '\n');
if (opt.json)
  writeFileSync(
    opt.json,
    JSON.stringify({ connections: CONNECTIONS, accounts: ACCOUNTS, messages: MESSAGES, ...figures }, null, 2),
  );
await server?.stop();
if (failed) {
  process.stderr.write(
    `imap-idle bench failed: ${failed instanceof Error ? (failed.stack ?? failed.message) : String(failed)}\n`,
  );
  process.exit(1);
}
