// IMAP benchmark against `mailroom serve`: SELECT + FETCH 1:* FLAGS on 100,000 messages, then a concurrent command mix.
// Run: npm run build && node --import tsx bench/imap.ts [messages=100000] [mix-seconds=10] [clients=10]
// Dovecot is not compared yet (not installed here); see the report at the end of the run.
import { performance } from 'node:perf_hooks';
import { createMailroom, type MailroomInstance } from '../test/helpers/mailroom-process.js';
import { RawImap } from '../test/helpers/imap-raw.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';

const BIG = Number(process.argv[2] ?? '100000');
const MIX_SECONDS = Number(process.argv[3] ?? '10');
const CLIENTS = Number(process.argv[4] ?? '10');
const MIX_MESSAGES = 10_000;

function message(i: number): Buffer {
  return Buffer.from(
    `From: sender${i % 97}@remote.example\r\nTo: user@example.test\r\nSubject: message ${i} ${i % 7 === 0 ? 'invoice' : 'hello'}\r\n` +
      `Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${i}@remote.example>\r\n\r\nbody of message ${i}\r\n${'x'.repeat(200)}\r\n`,
  );
}

/** Fills an account's INBOX through the store API: concurrent deliveries share group commits. */
async function fill(store: Store, accountId: number, count: number): Promise<void> {
  const batch = 2000;
  for (let start = 0; start < count; start += batch) {
    const jobs: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const body = message(i);
      jobs.push(
        store.deliver({
          queueId: `B${i}`,
          envelope: { sender: 'sender@remote.example' },
          traceHeaders: '',
          body: { kind: 'memory', chunks: [body], size: body.length },
          receivedAt: new Date(Date.UTC(2026, 10, 23) + i * 1000),
          local: [{ accountId }],
          remote: [],
        }),
      );
    }
    await Promise.all(jobs);
  }
}

async function login(server: MailroomInstance, user: string): Promise<RawImap> {
  const c = await RawImap.open(server.ports.imaps as number, true);
  const r = await c.command(`LOGIN ${user}@example.test secret`);
  if (r.status !== 'OK') throw new Error(`login: ${r.tagged}`);
  return c;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;
}

type Op = 'SELECT' | 'FETCH flags' | 'FETCH headers' | 'FETCH body' | 'SEARCH' | 'STORE' | 'APPEND' | 'IDLE';
const OPS: Op[] = [
  'SELECT',
  'FETCH flags',
  'FETCH headers',
  'FETCH body',
  'SEARCH',
  'STORE',
  'APPEND',
  'IDLE',
];

async function runOp(c: RawImap, op: Op, n: number): Promise<boolean> {
  const r = (k: number): number => 1 + Math.floor(Math.random() * k);
  let reply;
  switch (op) {
    case 'SELECT':
      reply = await c.command('SELECT INBOX', 30_000);
      break;
    case 'FETCH flags': {
      const lo = r(n - 50);
      reply = await c.command(`FETCH ${lo}:${lo + 49} (FLAGS UID)`, 30_000);
      break;
    }
    case 'FETCH headers': {
      const lo = r(n - 10);
      reply = await c.command(
        `FETCH ${lo}:${lo + 9} (ENVELOPE BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])`,
        30_000,
      );
      break;
    }
    case 'FETCH body':
      reply = await c.command(`FETCH ${r(n)} (BODYSTRUCTURE BODY.PEEK[])`, 30_000);
      break;
    case 'SEARCH':
      reply = await c.command(Math.random() < 0.5 ? 'SEARCH UNSEEN' : 'SEARCH SUBJECT invoice', 30_000);
      break;
    case 'STORE':
      reply = await c.command(
        `STORE ${r(n)} ${Math.random() < 0.5 ? '+' : '-'}FLAGS.SILENT (\\Seen)`,
        30_000,
      );
      break;
    case 'APPEND': {
      const body = message(1_000_000 + r(1000));
      const tag = c.nextTag();
      c.write(`${tag} APPEND Drafts (\\Draft) {${body.length}+}\r\n`);
      c.write(Buffer.concat([body, Buffer.from('\r\n')]));
      reply = await c.until(tag, 30_000);
      break;
    }
    case 'IDLE': {
      const tag = c.nextTag();
      c.write(`${tag} IDLE\r\n`);
      const cont = await c.line(30_000);
      if (!cont.startsWith('+')) return false;
      await new Promise((done) => setTimeout(done, 20));
      c.write('DONE\r\n');
      reply = await c.until(tag, 30_000);
      break;
    }
  }
  return reply.status === 'OK';
}

async function main(): Promise<void> {
  const server = await createMailroom({ enable: ['imaps'] });
  try {
    server.cli(['domain', 'add', 'example.test']);
    server.cli(['user', 'add', 'big@example.test', '--password', 'secret']);
    for (let i = 0; i < CLIENTS; i++)
      server.cli(['user', 'add', `mix${i}@example.test`, '--password', 'secret']);
    const store = openSqliteStore({ dataDir: server.dataDir });
    let t0 = performance.now();
    await fill(store, store.getAccount('big@example.test')?.id ?? -1, BIG);
    console.log(`filled ${BIG} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // One 10k mailbox per mix client (as for real users), so the mix measures the server, not one mailbox's locks.
    t0 = performance.now();
    for (let i = 0; i < CLIENTS; i++) {
      await fill(store, store.getAccount(`mix${i}@example.test`)?.id ?? -1, MIX_MESSAGES);
    }
    console.log(
      `filled ${CLIENTS} x ${MIX_MESSAGES} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    await store.close();
    await server.start();

    // 1. SELECT + FETCH 1:* FLAGS on the big mailbox, cold and then warm.
    const c = await login(server, 'big');
    for (const round of ['first', 'second', 'third']) {
      const s0 = performance.now();
      const sel = await c.command('SELECT INBOX', 60_000);
      const s1 = performance.now();
      const f = await c.command('FETCH 1:* (FLAGS)', 60_000);
      const s2 = performance.now();
      if (sel.status !== 'OK' || f.status !== 'OK') throw new Error(`${sel.tagged} / ${f.tagged}`);
      console.log(
        `SELECT + FETCH 1:* FLAGS on ${BIG} (${round}): SELECT ${(s1 - s0).toFixed(0)} ms, FETCH ${(s2 - s1).toFixed(0)} ms ` +
          `(${f.lines.length} responses), total ${(s2 - s0).toFixed(0)} ms`,
      );
      await c.command('UNSELECT');
    }
    c.close();

    // 2. The concurrent mix: each client on its own 10k mailbox, ops picked at random, for MIX_SECONDS.
    const stats = new Map<Op, { lat: number[]; errors: number }>(OPS.map((o) => [o, { lat: [], errors: 0 }]));
    const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => login(server, `mix${i}`)));
    for (const m of clients) await m.command('SELECT INBOX', 30_000);
    const end = performance.now() + MIX_SECONDS * 1000;
    await Promise.all(
      clients.map(async (m) => {
        while (performance.now() < end) {
          const op = OPS[Math.floor(Math.random() * OPS.length)] as Op;
          const t = performance.now();
          const ok = await runOp(m, op, MIX_MESSAGES).catch(() => false);
          const s = stats.get(op) as { lat: number[]; errors: number };
          s.lat.push(performance.now() - t);
          if (!ok) s.errors++;
        }
      }),
    );
    for (const m of clients) m.close();
    let total = 0;
    let errors = 0;
    console.log(`\nmix: ${CLIENTS} clients, ${MIX_SECONDS} s, ${MIX_MESSAGES}-message mailboxes`);
    console.log('command          ops/s     p50 ms   p99 ms   errors');
    for (const [op, s] of stats) {
      const sorted = [...s.lat].sort((a, b) => a - b);
      total += s.lat.length;
      errors += s.errors;
      console.log(
        `${op.padEnd(15)} ${(s.lat.length / MIX_SECONDS).toFixed(0).padStart(6)} ${percentile(sorted, 50)
          .toFixed(1)
          .padStart(9)} ${percentile(sorted, 99).toFixed(1).padStart(8)} ${String(s.errors).padStart(8)}`,
      );
    }
    console.log(`total           ${(total / MIX_SECONDS).toFixed(0).padStart(6)} ops/s, ${errors} errors`);
    console.log('Dovecot: not compared in this run (dovecot-imapd not installed; see bench/README.md).');
  } finally {
    await server.cleanup();
  }
}

await main();
