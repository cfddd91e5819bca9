// I/O edge of MTA-STS: fetches https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461 3.3) through the one resolver.
import { request } from 'node:https';
import type { LookupFunction } from 'node:net';
import { MTA_STS_FETCH } from '../../../config/limits.js';

export type StsFetchResult = { ok: true; text: string } | { ok: false; reason: string };
export type StsFetcher = (domain: string) => Promise<StsFetchResult>;

export interface StsFetcherOptions {
  /** The one resolver ([dns] servers): the policy host's addresses come from it like every other lookup. */
  resolver: { resolve4(name: string): Promise<string[]>; resolve6(name: string): Promise<string[]> };
  /** Test seam (never a config key): the HTTPS port (443) and the trusted CAs (the system's). */
  port?: number;
  ca?: string[];
  timeoutMs?: number;
  maxBytes?: number;
}

/** A `lookup` for node:https that asks the injected resolver (both shapes: one address, or all). */
function lookupVia(resolver: StsFetcherOptions['resolver']): LookupFunction {
  return (hostname, options, callback) => {
    void (async () => {
      const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
      const all = [
        ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
        ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
      ];
      if (all.length === 0) {
        const err = Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
        callback(err, '', 4);
        return;
      }
      const first = all[0] as { address: string; family: number };
      // Node calls lookup with { all: true } when it tries several addresses (autoSelectFamily).
      if ((options as { all?: boolean }).all)
        (callback as unknown as (e: null, a: typeof all) => void)(null, all);
      else callback(null, first.address, first.family);
    })();
  };
}

/**
 * RFC 8461 3.3: full certificate checks for mta-sts.DOMAIN, no redirects, 200 only, media type text/plain,
 * bounded size and time. Never throws: a failure is a reason (TLS-RPT sts-policy-fetch-error).
 */
export function createStsFetcher(options: StsFetcherOptions): StsFetcher {
  const maxBytes = options.maxBytes ?? MTA_STS_FETCH.maxBytes;
  const timeoutMs = options.timeoutMs ?? MTA_STS_FETCH.timeoutMs;
  return (domain) =>
    new Promise((resolve) => {
      const host = `mta-sts.${domain}`;
      let settled = false;
      const finish = (r: StsFetchResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        resolve(r);
      };
      const req = request(
        {
          host,
          port: options.port ?? 443,
          path: '/.well-known/mta-sts.txt',
          method: 'GET',
          agent: false,
          lookup: lookupVia(options.resolver),
          rejectUnauthorized: true,
          ...(options.ca ? { ca: options.ca } : {}),
          headers: { 'user-agent': 'mailroom', accept: 'text/plain' },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          // RFC 8461 3.3: "Senders MUST NOT follow HTTP redirects"; only 200 is a policy.
          if (status !== 200)
            return finish({ ok: false, reason: `policy fetch from ${host} got HTTP ${status}` });
          const type = (res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
          if (type !== 'text/plain')
            return finish({
              ok: false,
              reason: `policy from ${host} is ${type || 'untyped'}, not text/plain`,
            });
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxBytes)
              finish({ ok: false, reason: `policy from ${host} exceeds ${maxBytes} bytes` });
            else chunks.push(c);
          });
          res.on('end', () => finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) =>
            finish({ ok: false, reason: `policy fetch from ${host} failed: ${e.message}` }),
          );
        },
      );
      const timer = setTimeout(
        () => finish({ ok: false, reason: `policy fetch from ${host} timed out after ${timeoutMs} ms` }),
        timeoutMs,
      );
      req.on('error', (e) => finish({ ok: false, reason: `policy fetch from ${host} failed: ${e.message}` }));
      req.end();
    });
}
