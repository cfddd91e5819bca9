// The soak's hostile clients (issue 8's probe, bounded): literal floods, slowloris, password bursts, floods, junk.
import { RawConnection, sleepUnless, type RawTarget } from './raw.js';

export interface HostilePlan {
  host: string;
  ports: { smtp: number; submission: number; imap: number; imaps: number; pop3: number };
  /** The account whose password is guessed (a real one; its owner is a good client). */
  victim: string;
  durationMs: number;
  /** The attacks to run (all by default; `--attacks` picks some, to see which one hurts). */
  attacks: AttackName[];
  /** IMAP `a LOGIN {size+}` + size bytes, then `literals - 1` more such literals, never finished. */
  literalFlood: { connections: number; ips: number; literals: number; literalSize: number };
  /** Connections per protocol (IMAP, SMTP, POP3) sending one byte every `byteEveryMs`. */
  slowloris: { perProtocol: number; ips: number; byteEveryMs: number };
  /** Workers guessing the victim's password over IMAP LOGIN, POP3 USER/PASS and SMTP AUTH PLAIN. */
  authBurst: { workers: number; ips: number };
  /** From each of `ips` addresses, `perIp` idle connections to each of SMTP, IMAP, POP3 (past the limit). */
  connFlood: { ips: number; perIp: number };
  /** Workers sending lines of `lineBytes` (no CRLF until the end), in turn to SMTP, IMAP, POP3. */
  longLines: { workers: number; lineBytes: number };
  /** Workers sending junk and out-of-state commands (APPEND/DATA/RETR before login). */
  junk: { workers: number };
  /** TCP connections to imaps that send a partial ClientHello and then nothing. */
  tlsHalfOpen: { connections: number };
}

export const ATTACKS = [
  'literalFlood',
  'slowloris',
  'authBurst',
  'connFlood',
  'longLines',
  'junk',
  'tlsHalfOpen',
] as const;
export type AttackName = (typeof ATTACKS)[number];

/** What one attack saw; `extra` holds the figures only that attack has (named in the report). */
export interface AttackStats {
  connects: number;
  connectErrors: number;
  /** Closed by the server while the attacker still used it (a cut, a BYE, a 421). */
  cut: number;
  /** The longest any one connection of this attack stayed open, ms. */
  maxHeldMs: number;
  extra: Record<string, number>;
}

const newStats = (): AttackStats => ({ connects: 0, connectErrors: 0, cut: 0, maxHeldMs: 0, extra: {} });
const bump = (s: AttackStats, key: string, n = 1): void => void (s.extra[key] = (s.extra[key] ?? 0) + n);

/** Source address `i` of an attack's own /16 in 127.0.0.0/8 (so attacks never share an address). */
export function attackIp(octet: number, i: number): string {
  return `127.${octet}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;
}

const GREETING = /^(\* \w+|\d{3}[ -]|[+-]\w+)[^\r\n]*\r\n/m;

export class Attacks {
  private readonly end: number;
  readonly stats = Object.fromEntries(ATTACKS.map((a) => [a, newStats()])) as Record<AttackName, AttackStats>;
  /** Every connection opened, so the end closes them all at once. */
  private readonly open = new Set<RawConnection>();

  constructor(private readonly p: HostilePlan) {
    this.end = Date.now() + p.durationMs;
  }

  private readonly stop = (): boolean => Date.now() >= this.end;

  /** Runs every attack at once until the duration is over; then closes whatever is still open. */
  async run(): Promise<void> {
    const p = this.p;
    const jobs: Promise<void>[] = [];
    const times = (a: AttackName, n: number, f: (i: number) => Promise<void>): void => {
      if (!p.attacks.includes(a)) return;
      for (let i = 0; i < n; i++) jobs.push(f(i).catch(() => undefined));
    };
    times('literalFlood', p.literalFlood.connections, (i) => this.literalFlood(i));
    times('slowloris', p.slowloris.perProtocol * 3, (i) => this.slowloris(i));
    times('authBurst', p.authBurst.workers, (i) => this.authBurst(i));
    times('connFlood', p.connFlood.ips * 3, (i) => this.connFlood(i));
    times('longLines', p.longLines.workers, (i) => this.longLines(i));
    times('junk', p.junk.workers, (i) => this.junk(i));
    times('tlsHalfOpen', p.tlsHalfOpen.connections, (i) => this.tlsHalfOpen(i));
    await sleepUnless(p.durationMs + 1000, () => false);
    for (const c of this.open) c.close();
    await Promise.race([Promise.allSettled(jobs), new Promise((r) => setTimeout(r, 5000))]);
  }

  /** Connects from `ip`; null (counted) when the connect fails. */
  private async connect(s: AttackStats, port: number, ip: string): Promise<RawConnection | null> {
    const t: RawTarget = { host: this.p.host, port, localAddress: ip };
    try {
      const c = await RawConnection.open(t, 10_000);
      s.connects++;
      this.open.add(c);
      void c.whenClosed().then(() => this.open.delete(c));
      return c;
    } catch {
      s.connectErrors++;
      return null;
    }
  }

  /** Waits for the greeting; false (counted) if the server said no, closed, or was silent for 10 s. */
  private async greeted(s: AttackStats, c: RawConnection): Promise<boolean> {
    try {
      const m = await c.waitFor(GREETING, 10_000);
      if (/^(\* OK|220 |\+OK)/.test(m[0])) return true;
    } catch {
      // closed or silent: the same as a refusal for the attacker
    }
    bump(s, 'no greeting in 10 s');
    c.close();
    return false;
  }

  /** Holds `c` until the attack ends or the server closes it; records the time held and any cut. */
  private async hold(
    s: AttackStats,
    c: RawConnection,
    openedAt: number,
    tick?: () => Promise<void>,
  ): Promise<void> {
    while (!this.stop() && !c.isClosed) {
      if (tick) await tick().catch(() => undefined);
      await Promise.race([c.whenClosed(), sleepUnless(1000, this.stop)]);
    }
    if (c.isClosed && !this.stop()) s.cut++;
    else bump(s, 'held to the end');
    s.maxHeldMs = Math.max(s.maxHeldMs, (c.closedAt ?? Date.now()) - openedAt);
    c.close();
  }

  /** Issue 8 finding 1: unfinished pre-login LOGIN with ~1 MB of literals, held open; reconnects when cut. */
  private async literalFlood(i: number): Promise<void> {
    const s = this.stats.literalFlood;
    const { ips, literals, literalSize } = this.p.literalFlood;
    const data = Buffer.alloc(literalSize, 0x78);
    for (let round = 0; round < 20 && !this.stop(); round++) {
      const c = await this.connect(s, this.p.ports.imap, attackIp(66, i % ips));
      if (!c) {
        await sleepUnless(1000, this.stop);
        continue;
      }
      const t0 = Date.now();
      if (!(await this.greeted(s, c))) {
        await sleepUnless(1000, this.stop);
        continue;
      }
      try {
        // LITERAL+ (RFC 7888): the client sends the data without waiting for a continuation.
        for (let k = 0; k < literals && !this.stop(); k++) {
          await c.write(`${k === 0 ? 'a LOGIN ' : ' '}{${literalSize}+}\r\n`);
          await c.write(data);
          bump(s, 'MiB sent', literalSize / 1048576);
        }
      } catch {
        // cut while writing: counted by hold()
      }
      await this.hold(s, c, t0);
      await sleepUnless(500, this.stop);
    }
  }

  /** Finding 3: one byte every few seconds (a command line that never ends) on IMAP, SMTP, POP3. */
  private async slowloris(i: number): Promise<void> {
    const s = this.stats.slowloris;
    const { ips, byteEveryMs } = this.p.slowloris;
    const port = [this.p.ports.imap, this.p.ports.smtp, this.p.ports.pop3][i % 3] as number;
    for (let round = 0; round < 50 && !this.stop(); round++) {
      const c = await this.connect(s, port, attackIp(67, i % ips));
      if (!c) {
        await sleepUnless(1000, this.stop);
        continue;
      }
      const t0 = Date.now();
      if (!(await this.greeted(s, c))) {
        await sleepUnless(1000, this.stop);
        continue;
      }
      let last = 0;
      await this.hold(s, c, t0, async () => {
        if (Date.now() - last < byteEveryMs) return;
        last = Date.now();
        await c.write('x');
        bump(s, 'bytes sent');
      });
      await sleepUnless(1000, this.stop);
    }
  }

  /** Findings 4 and 5: wrong passwords for the victim, in parallel, over every protocol that signs in. */
  private async authBurst(i: number): Promise<void> {
    const s = this.stats.authBurst;
    const ip = attackIp(68, i % this.p.authBurst.ips);
    const v = this.p.victim;
    for (let round = 0; round < 1000 && !this.stop(); round++) {
      const proto = (['imap', 'pop3', 'submission'] as const)[(i + round) % 3] ?? 'imap';
      const c = await this.connect(s, this.p.ports[proto], ip);
      if (!c) {
        await sleepUnless(1000, this.stop);
        continue;
      }
      const t0 = Date.now();
      if (!(await this.greeted(s, c))) {
        await sleepUnless(500, this.stop);
        continue;
      }
      try {
        if (proto === 'submission') {
          await c.write('EHLO guess.bench.test\r\n');
          await c.waitFor(/^250 [^\r\n]*\r\n/m, 30_000);
        }
        for (let k = 0; k < 3 && !this.stop(); k++) {
          const wrong = `wrong-${i}-${round}-${k}`;
          const sent = Date.now();
          let m: RegExpExecArray;
          if (proto === 'imap') {
            await c.write(`g${k} LOGIN "${v}" "${wrong}"\r\n`);
            m = await c.waitFor(new RegExp(`^(?:g${k} (OK|NO|BAD)|\\* (BYE))[^\\r\\n]*\\r\\n`, 'm'), 120_000);
          } else if (proto === 'pop3') {
            await c.write(`USER ${v}\r\n`);
            await c.waitFor(/^[+-]\w+[^\r\n]*\r\n/m, 120_000);
            await c.write(`PASS ${wrong}\r\n`);
            m = await c.waitFor(/^(\+OK|-ERR)[^\r\n]*\r\n/m, 120_000);
          } else {
            const plain = Buffer.from(`\0${v}\0${wrong}`).toString('base64');
            await c.write(`AUTH PLAIN ${plain}\r\n`);
            m = await c.waitFor(/^(\d{3}) [^\r\n]*\r\n/m, 120_000);
          }
          const ms = Date.now() - sent;
          bump(s, 'attempts');
          bump(s, 'reply ms total', ms);
          s.extra['reply ms max'] = Math.max(s.extra['reply ms max'] ?? 0, ms);
          const word = m[1] ?? m[2] ?? '';
          // A wrong password accepted would be a hole; anything else is a refusal of some kind.
          if (word === 'OK' || word === '+OK' || word === '235') bump(s, 'ACCEPTED');
          if (word === 'BYE' || word === '421') break;
        }
      } catch {
        // timeout or close: the server cut the guesser, counted below
      }
      if (c.isClosed && !this.stop()) s.cut++;
      s.maxHeldMs = Math.max(s.maxHeldMs, Date.now() - t0);
      c.close();
    }
  }

  /** Idle connections up to and past the per-IP limit, from a few addresses, to each plain listener. */
  private async connFlood(i: number): Promise<void> {
    const s = this.stats.connFlood;
    const port = [this.p.ports.smtp, this.p.ports.imap, this.p.ports.pop3][i % 3] as number;
    const ip = attackIp(69, Math.floor(i / 3));
    const held = await Promise.all(
      Array.from({ length: this.p.connFlood.perIp }, async () => {
        const c = await this.connect(s, port, ip);
        if (!c) return null;
        if (!(await this.greeted(s, c))) return null;
        bump(s, 'admitted');
        return c;
      }),
    );
    const t0 = Date.now();
    await Promise.all(held.map((c) => (c ? this.hold(s, c, t0) : Promise.resolve())));
  }

  /** Over-long lines (no CRLF for lineBytes) to SMTP, IMAP and POP3 in turn; what the server does is counted. */
  private async longLines(i: number): Promise<void> {
    const s = this.stats.longLines;
    const line = Buffer.alloc(this.p.longLines.lineBytes, 0x41);
    for (let round = 0; round < 500 && !this.stop(); round++) {
      const port = [this.p.ports.smtp, this.p.ports.imap, this.p.ports.pop3][(i + round) % 3] as number;
      const c = await this.connect(s, port, attackIp(70, i));
      if (!c) {
        await sleepUnless(500, this.stop);
        continue;
      }
      if (await this.greeted(s, c)) {
        try {
          for (let k = 0; k < 4; k++) {
            await c.write(line);
            await c.write('\r\n');
            bump(s, 'lines');
          }
          await c.waitFor(/^(\d{3}|\S+ BAD|\* BAD|\* BYE|-ERR)[^\r\n]*\r\n/m, 5_000);
          bump(s, 'answered');
        } catch {
          if (c.isClosed) bump(s, 'closed by server');
        }
        c.close();
      }
      await sleepUnless(200, this.stop);
    }
  }

  /** Junk bytes and commands not allowed before login; an APPEND literal invited before login is counted. */
  private async junk(i: number): Promise<void> {
    const s = this.stats.junk;
    const lines = [
      '\x00\x01\x02\xff\xfe junk',
      'HELO',
      'DATA',
      'RETR 1',
      'a SELECT INBOX',
      '* * * * *',
      'GET / HTTP/1.1',
      '\x16\x03\x01\x00\x05hello',
    ];
    for (let round = 0; round < 500 && !this.stop(); round++) {
      const which = (i + round) % 3;
      const port = [this.p.ports.smtp, this.p.ports.imap, this.p.ports.pop3][which] as number;
      const c = await this.connect(s, port, attackIp(71, i));
      if (!c) {
        await sleepUnless(500, this.stop);
        continue;
      }
      if (await this.greeted(s, c)) {
        try {
          for (let k = 0; k < 25; k++) await c.write(`${lines[k % lines.length]}\r\n`);
          bump(s, 'junk lines', 25);
          if (which === 1) {
            // Finding 2: APPEND before login must be refused before any literal is invited.
            c.consume();
            await c.write('z APPEND INBOX {900000}\r\n');
            const m = await c.waitFor(/^(\+ |z (?:NO|BAD)|\* BYE)[^\r\n]*\r\n/m, 5_000);
            if (m[1] === '+ ') bump(s, 'APPEND literal invited before login');
          }
          await sleepUnless(300, this.stop);
        } catch {
          if (c.isClosed) bump(s, 'closed by server');
        }
        c.close();
      }
      await sleepUnless(100, this.stop);
    }
  }

  /** TLS connections left half-open: the first bytes of a ClientHello, then silence. */
  private async tlsHalfOpen(i: number): Promise<void> {
    const s = this.stats.tlsHalfOpen;
    // Record header (handshake, TLS 1.0 record version, length 512) and the start of a ClientHello.
    const partial = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
    for (let round = 0; round < 50 && !this.stop(); round++) {
      const c = await this.connect(s, this.p.ports.imaps, attackIp(72, i % 10));
      if (!c) {
        await sleepUnless(1000, this.stop);
        continue;
      }
      const t0 = Date.now();
      await c.write(partial).catch(() => undefined);
      await this.hold(s, c, t0);
      await sleepUnless(1000, this.stop);
    }
  }
}
