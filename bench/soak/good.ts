// The soak's good clients: an open-loop mix of SMTP deliveries, IMAP and POP3 sessions at fixed rates, per-op latency.
import { performance } from 'node:perf_hooks';
import { RawConnection, type RawTarget } from './raw.js';

/** The owner's client is an IMAP session on the account the attackers guess (reported apart). */
export const GOOD_KINDS = ['smtp', 'imap', 'pop3', 'owner'] as const;
export type GoodKind = (typeof GOOD_KINDS)[number];

export interface GoodSetup {
  host: string;
  ports: { smtp: number; imap: number; pop3: number };
  password: string;
  /** Accounts the IMAP clients sign in to (round-robin). */
  imapAccounts: string[];
  /** Accounts the POP3 clients sign in to: one session per account at a time (RFC 1939 maildrop lock). */
  pop3Accounts: string[];
  /** The attacked account; its owner signs in over IMAP from `ownerIp` (an address it has used before). */
  owner: string;
  ownerIp: string;
  /** Source addresses of the other good clients (127.0.0.0/8), used in turn. */
  goodIps: string[];
  /** Operations started per second, per kind (open loop: the schedule does not wait for the server). */
  rates: Record<GoodKind, number>;
  /** One operation (a whole session) fails if not done in this time. */
  opTimeoutMs: number;
  /** Operations of one kind in flight at most; one more scheduled is counted as dropped. */
  maxInFlight: number;
}

export interface KindResult {
  ok: number;
  errors: number;
  dropped: number;
  /** Latency of each successful operation, ms, from its scheduled start to its last reply. */
  latenciesMs: number[];
  /** When each of those operations was scheduled, ms into the phase (same order). */
  startsMs: number[];
  /** For each, ms from its scheduled start to its TCP connect, and to the server's greeting (same order). */
  connectedMs: number[];
  greetedMs: number[];
  /** The first few distinct error texts, for the notes. */
  firstErrors: string[];
}

export interface PhaseResult {
  elapsedMs: number;
  kinds: Record<GoodKind, KindResult>;
  /** Messages accepted (250 after DATA) in the phase. */
  delivered: number;
}

const MESSAGE_BODY =
  'This is a soak bench message.\r\n' +
  'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 the quick fox\r\n'.repeat(24);

/** Runs the good clients for phases; the same object keeps account rotation across phases. */
export class GoodLoad {
  private seq = 0;
  private readonly popBusy = new Set<string>();

  constructor(private readonly s: GoodSetup) {}

  /** Delivers one message to every IMAP/POP3/owner account (so FETCH 1 and RETR 1 have a message). */
  async prime(): Promise<void> {
    for (const rcpt of [...this.s.imapAccounts, ...this.s.pop3Accounts, this.s.owner]) {
      const scheduledAt = performance.now();
      const mark: Mark = { scheduledAt, connectedMs: NaN, greetedMs: NaN };
      await this.smtp(rcpt, this.s.goodIps[0], scheduledAt + this.s.opTimeoutMs, mark);
    }
  }

  /** Runs the open-loop schedule for durationMs, then waits for the operations still in flight. */
  async run(durationMs: number): Promise<PhaseResult> {
    const kinds = Object.fromEntries(
      GOOD_KINDS.map((k) => [
        k,
        {
          ok: 0,
          errors: 0,
          dropped: 0,
          latenciesMs: [],
          startsMs: [],
          connectedMs: [],
          greetedMs: [],
          firstErrors: [],
        },
      ]),
    ) as unknown as Record<GoodKind, KindResult>;
    const result: PhaseResult = { elapsedMs: 0, kinds, delivered: 0 };
    const t0 = performance.now();
    const inFlight = new Set<Promise<void>>();
    const count: Record<GoodKind, number> = { smtp: 0, imap: 0, pop3: 0, owner: 0 };
    const schedules = GOOD_KINDS.filter((k) => this.s.rates[k] > 0).map(async (kind) => {
      const every = 1000 / this.s.rates[kind];
      for (let i = 0; ; i++) {
        const at = t0 + i * every;
        if (at >= t0 + durationMs) return;
        const wait = at - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const r = kinds[kind];
        if (count[kind] >= this.s.maxInFlight) {
          r.dropped++;
          continue;
        }
        count[kind]++;
        const p = this.one(kind, at, at - t0, result).finally(() => {
          count[kind]--;
          inFlight.delete(p);
        });
        inFlight.add(p);
      }
    });
    await Promise.all(schedules);
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    result.elapsedMs = performance.now() - t0;
    return result;
  }

  /** One operation; its latency counts from the scheduled start, so a late start is not hidden. */
  private async one(
    kind: GoodKind,
    scheduledAt: number,
    intoPhaseMs: number,
    result: PhaseResult,
  ): Promise<void> {
    const r = result.kinds[kind];
    const deadline = scheduledAt + this.s.opTimeoutMs;
    const n = this.seq++;
    const ip = this.s.goodIps[n % this.s.goodIps.length];
    const mark: Mark = { scheduledAt, connectedMs: NaN, greetedMs: NaN };
    try {
      if (kind === 'smtp') {
        const all = [...this.s.imapAccounts, ...this.s.pop3Accounts];
        await this.smtp(all[n % all.length] as string, ip, deadline, mark);
        result.delivered++;
      } else if (kind === 'imap') {
        await this.imap(this.s.imapAccounts[n % this.s.imapAccounts.length] as string, ip, deadline, mark);
      } else if (kind === 'owner') {
        await this.imap(this.s.owner, this.s.ownerIp, deadline, mark);
      } else {
        const account = this.s.pop3Accounts.find((a) => !this.popBusy.has(a));
        if (!account) {
          r.dropped++; // every POP3 account busy: a backlog of our own, not a server error
          return;
        }
        this.popBusy.add(account);
        try {
          await this.pop3(account, ip, deadline, mark);
        } finally {
          this.popBusy.delete(account);
        }
      }
      r.ok++;
      r.latenciesMs.push(performance.now() - scheduledAt);
      r.startsMs.push(intoPhaseMs);
      r.connectedMs.push(mark.connectedMs);
      r.greetedMs.push(mark.greetedMs);
    } catch (err) {
      r.errors++;
      const text = (err instanceof Error ? err.message : String(err)).slice(0, 160);
      if (r.firstErrors.length < 3 && !r.firstErrors.includes(text)) r.firstErrors.push(text);
    }
  }

  private async open(
    port: number,
    ip: string | undefined,
    deadline: number,
    mark: Mark,
  ): Promise<RawConnection> {
    const t: RawTarget = { host: this.s.host, port, ...(ip ? { localAddress: ip } : {}) };
    const c = await RawConnection.open(t, left(deadline));
    mark.connectedMs = performance.now() - mark.scheduledAt;
    return c;
  }

  /** EHLO, MAIL, RCPT, DATA, QUIT on the MX listener (RFC 5321 3.3), one message to `rcpt`. */
  private async smtp(rcpt: string, ip: string | undefined, deadline: number, mark: Mark): Promise<void> {
    const c = await this.open(this.s.ports.smtp, ip, deadline, mark);
    try {
      await smtpReply(c, 220, 'greeting', deadline);
      mark.greetedMs = performance.now() - mark.scheduledAt;
      await c.write('EHLO good.bench.test\r\n');
      await smtpReply(c, 250, 'EHLO', deadline);
      await c.write('MAIL FROM:<sender@outside.bench.test>\r\n');
      await smtpReply(c, 250, 'MAIL', deadline);
      await c.write(`RCPT TO:<${rcpt}>\r\n`);
      await smtpReply(c, 250, 'RCPT', deadline);
      await c.write('DATA\r\n');
      await smtpReply(c, 354, 'DATA', deadline);
      const id = `${Date.now()}.${this.seq}`;
      await c.write(
        `From: <sender@outside.bench.test>\r\nTo: <${rcpt}>\r\nSubject: soak ${id}\r\n` +
          `Message-ID: <${id}@soak.bench.test>\r\nDate: ${new Date().toUTCString()}\r\n\r\n${MESSAGE_BODY}.\r\n`,
      );
      await smtpReply(c, 250, 'end of DATA', deadline);
      await c.write('QUIT\r\n');
      await smtpReply(c, 221, 'QUIT', deadline);
    } finally {
      c.close();
    }
  }

  /** LOGIN, SELECT INBOX, FETCH 1 (FLAGS BODY.PEEK[]), LOGOUT (RFC 9051 6.2.3, 6.3.2, 6.4.5, 6.1.3). */
  private async imap(account: string, ip: string | undefined, deadline: number, mark: Mark): Promise<void> {
    const c = await this.open(this.s.ports.imap, ip, deadline, mark);
    try {
      const g = await c.waitFor(/^\* (\w+)[^\r\n]*\r\n/m, left(deadline));
      mark.greetedMs = performance.now() - mark.scheduledAt;
      if (g[1] !== 'OK') throw new Error(`IMAP greeting: ${g[0].trim()}`);
      await imapCommand(c, 'a1', `LOGIN "${account}" "${this.s.password}"`, deadline);
      await imapCommand(c, 'a2', 'SELECT INBOX', deadline);
      await imapCommand(c, 'a3', 'FETCH 1 (FLAGS BODY.PEEK[])', deadline);
      await imapCommand(c, 'a4', 'LOGOUT', deadline);
    } finally {
      c.close();
    }
  }

  /** USER, PASS, STAT, RETR 1, QUIT (RFC 1939 7, 5). */
  private async pop3(account: string, ip: string | undefined, deadline: number, mark: Mark): Promise<void> {
    const c = await this.open(this.s.ports.pop3, ip, deadline, mark);
    try {
      await popReply(c, 'greeting', deadline);
      mark.greetedMs = performance.now() - mark.scheduledAt;
      await c.write(`USER ${account}\r\n`);
      await popReply(c, 'USER', deadline);
      await c.write(`PASS ${this.s.password}\r\n`);
      await popReply(c, 'PASS', deadline);
      await c.write('STAT\r\n');
      await popReply(c, 'STAT', deadline);
      await c.write('RETR 1\r\n');
      await popReply(c, 'RETR', deadline);
      // RFC 1939 3: a multi-line response ends with a line holding a single "." (CRLF.CRLF).
      await c.waitFor(/(^|\r\n)\.\r\n/, left(deadline));
      await c.write('QUIT\r\n');
      await popReply(c, 'QUIT', deadline);
    } finally {
      c.close();
    }
  }
}

/** Where one operation's time went: its scheduled start, then ms from it to the TCP connect and the greeting. */
interface Mark {
  scheduledAt: number;
  connectedMs: number;
  greetedMs: number;
}

/** Milliseconds left before `deadline` (performance.now clock), at least 1. */
function left(deadline: number): number {
  return Math.max(1, deadline - performance.now());
}

/** The last line of the next reply (RFC 5321 4.2.1: "code SP" ends a multi-line reply); throws unless `code`. */
async function smtpReply(c: RawConnection, code: number, step: string, deadline: number): Promise<void> {
  const m = await c.waitFor(/^(\d{3})(?: [^\r\n]*)?\r\n/m, left(deadline));
  if (Number(m[1]) !== code) throw new Error(`SMTP ${step}: ${m[0].trim()}`);
}

async function imapCommand(c: RawConnection, tag: string, command: string, deadline: number): Promise<void> {
  await c.write(`${tag} ${command}\r\n`);
  const m = await c.waitFor(new RegExp(`^${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n`, 'm'), left(deadline));
  if (m[1] !== 'OK') throw new Error(`IMAP ${command.split(' ')[0]}: ${m[0].trim()}`);
}

async function popReply(c: RawConnection, step: string, deadline: number): Promise<void> {
  const m = await c.waitFor(/^([+-]\w+)[^\r\n]*\r\n/m, left(deadline));
  if (m[1] !== '+OK') throw new Error(`POP3 ${step}: ${m[0].trim()}`);
}
