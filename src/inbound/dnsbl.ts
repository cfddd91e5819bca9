// DNS block lists (RFC 5782): the query name of a client IP in a zone, and the lookup through the one resolver.
import { isIP } from 'node:net';
import { reverseName } from '../dns/resolver.js';
import type { MailResolver } from '../dns/types.js';
import { plainIp } from './verify.js';

/**
 * RFC 5782 2.1 / 2.4: an IPv4 address's octets reversed, an IPv6 address's 32 nibbles reversed, then the zone:
 * 192.0.2.99 in bl.example -> 99.2.0.192.bl.example.
 */
export function dnsblQueryName(ip: string, zone: string): string {
  const address = plainIp(ip);
  const reversed = reverseName(address).replace(
    isIP(address) === 4 ? /\.in-addr\.arpa$/ : /\.ip6\.arpa$/,
    '',
  );
  return `${reversed}.${zone.replace(/\.$/, '')}`;
}

export interface DnsblListing {
  zone: string;
  /** The list's TXT text (RFC 5782 2.1: why it is listed), if it published one. */
  reason?: string;
}

/**
 * The first zone that lists `ip`. RFC 5782 2.1/2.3: an A record in 127.0.0.0/8 means listed; anything else (a
 * wildcarded or hijacked zone answering a public address) is ignored. A zone that does not answer is skipped:
 * a broken list must not stop all mail (fail open).
 */
export async function findListing(
  ip: string,
  zones: readonly string[],
  resolver: MailResolver,
): Promise<DnsblListing | null> {
  const answers = await Promise.all(
    zones.map(async (zone) => {
      const name = dnsblQueryName(ip, zone);
      const listed = await resolver.resolve4(name).then(
        (a) => a.some((x) => x.startsWith('127.')),
        () => false,
      );
      if (!listed) return null;
      const txt = await resolver.resolveTxt(name).then(
        (rows) => rows.map((r) => r.join('')).join(' '),
        () => '',
      );
      return { zone, ...(txt ? { reason: txt } : {}) };
    }),
  );
  return answers.find((a) => a !== null) ?? null;
}
