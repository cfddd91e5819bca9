// The IMAP loads, against any IMAP server: warm-up, SELECT + FETCH 1:* FLAGS timing, and the concurrent client mix.
import { performance } from 'node:perf_hooks';
import { PeakSampler } from '../lib/proc.js';
import { percentile } from '../lib/stats.js';
import {
  checkAppend,
  checkBody,
  checkFlagsRange,
  checkHeaders,
  checkInternalDate,
  checkOk,
  checkSearch,
  checkSelect,
  checkStore,
  fetches,
} from './checks.js';
import { ImapClient, type Endpoint } from './client.js';
import { appendMessage, fromHits, internalDate, invoiceHits, SENDERS } from './messages.js';

/** One server as the IMAP loads see it: where it listens, its accounts, and how to read its cost. */
export interface ImapTarget {
  name: string;
  endpoint: Endpoint;
  password: string;
  /** The account whose INBOX holds `bigCount` messages (SELECT + FETCH 1:* FLAGS). */
  bigUser: string;
  bigCount: number;
  /** One account per mailbox of the mix, each INBOX holding `mixCount` messages. */
  mixUsers: string[];
  mixCount: number;
  memoryKiB(): number;
  cpuSeconds(): number;
}

async function session(t: ImapTarget, user: string): Promise<ImapClient> {
  const c = await ImapClient.open(t.endpoint);
  await c.login(user, t.password);
  return c;
}

/**
 * A client's first sync of every mailbox the loads use, before anything is timed. Dovecot builds its
 * index of a fresh Maildir on first SELECT (for 100,000 files that takes a while, once) and fills its
 * cache of header fields as clients first fetch or search them; a mailbox that clients have synced
 * before is the steady state worth comparing, and timing the first sync would measure one-time work
 * Mailroom does at delivery instead. So: SELECT (and FETCH 1:* FLAGS) of the big mailbox; for each mix
 * mailbox, SELECT, the headers list of every message (what a desktop client fetches on first sync),
 * one SEARCH by Subject and one by From (each checked), and EXAMINE Sent. Returns the time of each
 * first SELECT (the big mailbox's is reported).
 */
export async function warmUp(
  t: ImapTarget,
): Promise<{ bigFirstSelectMs: number; mixFirstSelectMs: number[] }> {
  const one = async (user: string, exists: number, big: boolean): Promise<number> => {
    const c = await session(t, user);
    try {
      const t0 = performance.now();
      const sel = await c.run('SELECT INBOX', { timeoutMs: 300_000 });
      const ms = performance.now() - t0;
      let bad = checkSelect(sel, exists);
      const long = { timeoutMs: 300_000 };
      if (big) {
        bad ??= checkFlagsRange(await c.run('FETCH 1:* (FLAGS)', long), 1, exists);
      } else {
        const list = await c.run(
          'FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From To Subject Date)])',
          long,
        );
        bad ??= checkHeaders(list, 1, exists);
        // The fills gave both servers the same dates: first and last message checked here.
        bad ??= checkInternalDate(list, 1, internalDate(0));
        bad ??= checkInternalDate(list, exists, internalDate(exists - 1));
        bad ??= checkSearch(await c.run('SEARCH SUBJECT invoice', long), invoiceHits(exists));
        bad ??= checkSearch(await c.run('SEARCH FROM sender1@remote.example', long), fromHits(exists, 1));
        bad ??= checkOk(await c.run('EXAMINE Sent'));
      }
      if (bad) throw new Error(`${t.name} warm-up of ${user}: ${bad}`);
      return ms;
    } finally {
      await c.logout();
    }
  };
  const bigFirstSelectMs = await one(t.bigUser, t.bigCount, true);
  // Two at a time: the mix mailboxes are independent, as their users are.
  const mixFirstSelectMs: number[] = [];
  for (let i = 0; i < t.mixUsers.length; i += 2) {
    const pair = t.mixUsers.slice(i, i + 2).map((u) => one(u, t.mixCount, false));
    mixFirstSelectMs.push(...(await Promise.all(pair)));
  }
  return { bigFirstSelectMs, mixFirstSelectMs };
}

export interface SelectFetchFigures {
  selectMs: number;
  fetchMs: number;
  totalMs: number;
  responses: number;
  error: string | null;
}

/** SELECT INBOX then FETCH 1:* (FLAGS) on the big mailbox, on a fresh session (login not timed). */
export async function selectFetch(t: ImapTarget): Promise<SelectFetchFigures> {
  const c = await session(t, t.bigUser);
  try {
    const t0 = performance.now();
    const sel = await c.run('SELECT INBOX', { timeoutMs: 120_000 });
    const t1 = performance.now();
    const f = await c.run('FETCH 1:* (FLAGS)', { timeoutMs: 120_000 });
    const t2 = performance.now();
    const error = checkSelect(sel, t.bigCount) ?? checkFlagsRange(f, 1, t.bigCount);
    return { selectMs: t1 - t0, fetchMs: t2 - t1, totalMs: t2 - t0, responses: fetches(f).length, error };
  } finally {
    await c.logout();
  }
}

export const MIX_OPS = [
  'SELECT/EXAMINE',
  'FETCH flags',
  'FETCH headers',
  'FETCH body',
  'SEARCH',
  'STORE',
  'APPEND',
  'IDLE',
] as const;
export type MixOp = (typeof MIX_OPS)[number];

/**
 * How often each operation is drawn (percent). Why these: a mail client mostly syncs flags of a
 * window of messages, lists headers, opens a message (BODY[]) and marks it read, reselects, sits in
 * IDLE, sometimes searches or saves a sent message (APPEND to Sent).
 */
export const MIX_WEIGHTS: Record<MixOp, number> = {
  'SELECT/EXAMINE': 10,
  'FETCH flags': 20,
  'FETCH headers': 20,
  'FETCH body': 20,
  SEARCH: 5,
  STORE: 10,
  APPEND: 5,
  IDLE: 10,
};

export interface MixOptions {
  clients: number;
  seconds: number;
  /** How long a client stays in IDLE before DONE; not counted in IDLE's latency. */
  idleMs: number;
  /** Seeds the clients' random choices, so every server gets the same sequence of operations. */
  seed: number;
  /**
   * Total operations per second to pace the clients to (0: none, each client as fast as replies come).
   * Issue 12 compares memory at the same ops/s: a server doing 3x the work also makes 3x the garbage.
   */
  rate?: number;
}

export interface OpFigures {
  count: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

export interface MixFigures {
  server: string;
  elapsedMs: number;
  ops: Record<MixOp, OpFigures>;
  total: number;
  errors: number;
  errorSamples: string[];
  opsPerSec: number;
  /** Peak memory of the server during the mix (KiB; what memoryKiB measures). */
  peakMemKiB: number;
  /** CPU seconds per second of the server during the mix (1.0 = one core busy). */
  serverCores: number;
  /** The same for this process, the load generator: near 1.0 would mean it is the bottleneck. */
  generatorCores: number;
}

/** mulberry32: a small seeded generator (Math.random cannot be seeded). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function drawOp(r: number): MixOp {
  let acc = 0;
  const total = MIX_OPS.reduce((s, op) => s + MIX_WEIGHTS[op], 0);
  for (const op of MIX_OPS) {
    acc += MIX_WEIGHTS[op] / total;
    if (r < acc) return op;
  }
  return MIX_OPS[MIX_OPS.length - 1] as MixOp;
}

/** One mix client: its session, its mailbox's UIDs and whether the mailbox is open read-only. */
class MixClient {
  uids: number[] = [];
  readOnly = false;
  appended = 0;
  constructor(
    readonly t: ImapTarget,
    readonly user: string,
    readonly rnd: () => number,
    public conn: ImapClient,
  ) {}

  /** A whole number in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }

  async select(): Promise<string | null> {
    const c = await this.conn.run('SELECT INBOX');
    this.readOnly = false;
    return checkSelect(c, this.t.mixCount);
  }

  /** After login: SELECT and learn the UIDs (not timed), as a client does on first sync. */
  async prepare(): Promise<void> {
    const bad = await this.select();
    if (bad) throw new Error(`${this.t.name} ${this.user}: ${bad}`);
    const f = await this.conn.run('FETCH 1:* (UID)', { timeoutMs: 120_000 });
    this.uids = fetches(f)
      .sort((a, b) => a.seq - b.seq)
      .map((x) => Number(/UID (\d+)/.exec(x.body)?.[1]));
    if (this.uids.length !== this.t.mixCount || this.uids.some((u) => !Number.isInteger(u))) {
      throw new Error(`${this.t.name} ${this.user}: FETCH 1:* (UID) gave ${this.uids.length} UIDs`);
    }
  }

  /** Runs one operation; resolves with the op actually run, its latency and an error (null = right). */
  async run(drawn: MixOp, o: MixOptions): Promise<{ op: MixOp; ms: number; error: string | null }> {
    const n = this.t.mixCount;
    // A client that examined the mailbox reselects it before changing flags, as a real one would.
    const op: MixOp = drawn === 'STORE' && this.readOnly ? 'SELECT/EXAMINE' : drawn;
    const t0 = performance.now();
    let error: string | null;
    let idled = 0;
    switch (op) {
      case 'SELECT/EXAMINE': {
        const examine = drawn !== 'STORE' && this.rnd() < 1 / 3;
        const c = await this.conn.run(examine ? 'EXAMINE INBOX' : 'SELECT INBOX');
        this.readOnly = examine;
        error = checkSelect(c, n);
        break;
      }
      case 'FETCH flags': {
        const lo = this.int(1, n - 99);
        error = checkFlagsRange(await this.conn.run(`FETCH ${lo}:${lo + 99} (FLAGS)`), lo, lo + 99);
        break;
      }
      case 'FETCH headers': {
        const lo = this.int(1, n - 19);
        const c = await this.conn.run(
          `FETCH ${lo}:${lo + 19} (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From To Subject Date)])`,
        );
        error = checkHeaders(c, lo, lo + 19);
        break;
      }
      case 'FETCH body': {
        const uid = this.uids[this.int(0, n - 1)] as number;
        error = checkBody(await this.conn.run(`UID FETCH ${uid} (BODY.PEEK[])`), uid);
        break;
      }
      case 'SEARCH': {
        if (this.rnd() < 0.5) {
          error = checkSearch(await this.conn.run('SEARCH SUBJECT invoice'), invoiceHits(n));
        } else {
          const k = this.int(0, SENDERS - 1);
          error = checkSearch(await this.conn.run(`SEARCH FROM sender${k}@remote.example`), fromHits(n, k));
        }
        break;
      }
      case 'STORE': {
        const uid = this.uids[this.int(0, n - 1)] as number;
        const add = this.rnd() < 0.7;
        const c = await this.conn.run(`UID STORE ${uid} ${add ? '+' : '-'}FLAGS (\\Seen)`);
        error = checkStore(c, uid, add);
        break;
      }
      case 'APPEND': {
        const body = appendMessage(++this.appended);
        // LITERAL+ (RFC 7888), which both servers offer: the message follows the command line at once.
        const c = await this.conn.run(`APPEND Sent (\\Seen) {${body.length}+}`, {
          extra: Buffer.concat([body, Buffer.from('\r\n')]),
        });
        error = checkAppend(c);
        break;
      }
      case 'IDLE': {
        let continued = false;
        const c = await this.conn.run('IDLE', {
          onContinuation: () => {
            continued = true;
            const at = performance.now();
            setTimeout(() => {
              idled = performance.now() - at;
              this.conn.write('DONE\r\n');
            }, o.idleMs);
          },
        });
        error = continued ? checkOk(c) : `IDLE ended without a continuation: ${c.text.slice(0, 80)}`;
        break;
      }
    }
    return { op, ms: performance.now() - t0 - idled, error };
  }
}

/** The mix: `clients` sessions (round-robin over the mix accounts), each looping over drawn ops. */
export async function runMix(t: ImapTarget, o: MixOptions): Promise<MixFigures> {
  const lat = new Map<MixOp, number[]>(MIX_OPS.map((op) => [op, []]));
  const errs = new Map<MixOp, number>(MIX_OPS.map((op) => [op, 0]));
  const errorSamples: string[] = [];
  const noteError = (op: MixOp, why: string): void => {
    errs.set(op, (errs.get(op) ?? 0) + 1);
    if (errorSamples.length < 10) errorSamples.push(`${op}: ${why}`);
  };
  const clients = await Promise.all(
    Array.from({ length: o.clients }, async (_, i) => {
      const user = t.mixUsers[i % t.mixUsers.length] as string;
      const mc = new MixClient(t, user, seeded(o.seed + i), await session(t, user));
      await mc.prepare();
      return mc;
    }),
  );
  const mem = new PeakSampler(() => t.memoryKiB(), 250).start();
  const cpu0 = t.cpuSeconds();
  const gen0 = process.cpuUsage();
  const start = performance.now();
  const end = start + o.seconds * 1000;
  let last = start;
  // Paced: the k-th operation of the run (over all clients) starts no sooner than start + k/rate.
  let slot = 0;
  const pace = async (): Promise<void> => {
    if (!o.rate) return;
    const due = start + (slot++ * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
  };
  await Promise.all(
    clients.map(async (mc) => {
      while (performance.now() < end) {
        await pace();
        if (performance.now() >= end) break;
        const drawn = drawOp(mc.rnd());
        try {
          const r = await mc.run(drawn, o);
          lat.get(r.op)?.push(r.ms);
          if (r.error) noteError(r.op, r.error);
        } catch (err) {
          // Timeout or a dropped connection: count it, then carry on with a new session.
          noteError(drawn, err instanceof Error ? err.message : String(err));
          mc.conn.close();
          try {
            mc.conn = await session(t, mc.user);
            const bad = await mc.select();
            if (bad) throw new Error(bad);
          } catch (again) {
            noteError(drawn, `reconnect: ${again instanceof Error ? again.message : String(again)}`);
            return; // this client is out of the run
          }
        }
        for (const p of mc.conn.protocolErrors.splice(0)) noteError(drawn, p);
        last = Math.max(last, performance.now());
      }
    }),
  );
  const elapsedMs = last - start;
  const gen = process.cpuUsage(gen0);
  const serverCores = (t.cpuSeconds() - cpu0) / (elapsedMs / 1000);
  const peakMemKiB = mem.stop();
  await Promise.all(clients.map((mc) => mc.conn.logout()));
  const ops = {} as Record<MixOp, OpFigures>;
  let total = 0;
  let errors = 0;
  for (const op of MIX_OPS) {
    const l = lat.get(op) ?? [];
    const e = errs.get(op) ?? 0;
    ops[op] = { count: l.length, errors: e, p50Ms: percentile(l, 50), p99Ms: percentile(l, 99) };
    total += l.length;
    errors += e;
  }
  return {
    server: t.name,
    elapsedMs,
    ops,
    total,
    errors,
    errorSamples,
    opsPerSec: (total * 1000) / elapsedMs,
    peakMemKiB,
    serverCores,
    generatorCores: (gen.user + gen.system) / 1000 / elapsedMs,
  };
}
