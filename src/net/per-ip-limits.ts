// Connection counting per listener and per remote IP (pure): decides whether a new connection may stay.
import { isIP } from 'node:net';

export type AdmitResult = { ok: true; key: string } | { ok: false; reason: 'total' | 'per-ip' };

/**
 * The key a remote address is counted under. IPv4-mapped IPv6 (`::ffff:192.0.2.1`, what a dual-stack
 * socket reports) counts as the IPv4 address; other IPv6 addresses count per /64, because one host
 * or one customer typically owns a whole /64 (RFC 6177) and could otherwise use a fresh address per
 * connection to dodge the limit.
 */
export function ipKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

/** '2001:db8::1' -> ['2001','db8','0','0','0','0','0','1'] (zone ids dropped). */
function expandIpv6(address: string): string[] {
  const bare = address.split('%')[0]!.toLowerCase();
  const [head, tail] = bare.includes('::') ? (bare.split('::') as [string, string]) : [bare, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::1.2.3.4) occupies two groups.
  const groups = (parts: string[]) => parts.flatMap((p) => (p.includes('.') ? ['v4', 'v4'] : [p]));
  const l = groups(left);
  const r = groups(right);
  const fill = tail === undefined ? [] : Array<string>(Math.max(0, 8 - l.length - r.length)).fill('0');
  return [...l, ...fill, ...r].map((g) => (g === 'v4' ? g : parseInt(g, 16).toString(16)));
}

/** Counts open connections; `admit` before use, `release` exactly once per admitted connection. */
export class ConnectionLimits {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(
    private maxTotal: number,
    private maxPerIp: number,
  ) {}

  /** New limits (a reload): connections already admitted stay counted; only new ones see the new limits. */
  setLimits(maxTotal: number, maxPerIp: number): void {
    this.maxTotal = maxTotal;
    this.maxPerIp = maxPerIp;
  }

  admit(remoteAddress: string): AdmitResult {
    if (this.total >= this.maxTotal) return { ok: false, reason: 'total' };
    const key = ipKey(remoteAddress);
    const current = this.perIp.get(key) ?? 0;
    if (current >= this.maxPerIp) return { ok: false, reason: 'per-ip' };
    this.total++;
    this.perIp.set(key, current + 1);
    return { ok: true, key };
  }

  release(key: string): void {
    const current = this.perIp.get(key);
    if (current === undefined) return; // never admitted (or released twice): ignore rather than go negative
    this.total--;
    if (current <= 1) this.perIp.delete(key);
    else this.perIp.set(key, current - 1);
  }

  get open(): number {
    return this.total;
  }

  openFrom(remoteAddress: string): number {
    return this.perIp.get(ipKey(remoteAddress)) ?? 0;
  }
}

/**
 * New connections per remote IP (IPv6: /64) per minute, as Postfix anvil's
 * smtpd_client_connection_rate_limit: a fixed one-minute window from a client's first connection in it.
 * Every attempt counts, refused ones too, so a client that keeps hammering stays refused until it
 * pauses. At most `maxKeys` clients are tracked; past that the longest-tracked is forgotten (a flood of
 * source addresses cannot grow memory; each entry is a few dozen bytes).
 */
export class ConnectionRate {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly maxKeys: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Counts one connection attempt at `now` (ms); false when it is over the rate. */
  admit(remoteAddress: string, now: number): boolean {
    const key = ipKey(remoteAddress);
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      // A new window goes to the end of the map, so the first entry is always the oldest window.
      this.windows.delete(key);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
      if (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    }
    w.count++;
    return w.count <= this.perMinute;
  }

  get tracked(): number {
    return this.windows.size;
  }
}
