// GET of an MTA-STS policy file for `mailroom doctor`: HTTPS with certificate checks, no redirects, bounded size and time.
import { request } from 'node:https';
import type { LookupFunction } from 'node:net';

/** RFC 8461 3.3: policy bodies are small; Postfix's mta-sts resolvers stop at 64 KiB. */
export const POLICY_MAX_BYTES = 64 * 1024;
export const POLICY_TIMEOUT_MS = 10_000;

export interface PolicyReply {
  status: number;
  contentType: string;
  body: string;
}

export interface FetchPolicyOptions {
  /** Host name lookups (our resolver, so [dns] servers applies). */
  lookup?: LookupFunction;
  /** Extra trusted CA certificates (tests); the system's are always trusted. */
  ca?: string[];
  /** Only for tests: the port instead of 443. */
  port?: number;
  timeoutMs?: number;
}

export function fetchPolicy(url: string, options: FetchPolicyOptions = {}): Promise<PolicyReply> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: options.port ?? 443,
        path: target.pathname,
        method: 'GET',
        servername: target.hostname,
        ...(options.lookup ? { lookup: options.lookup } : {}),
        ...(options.ca ? { ca: options.ca } : {}),
        timeout: options.timeoutMs ?? POLICY_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > POLICY_MAX_BYTES) {
            req.destroy(new Error(`policy larger than ${POLICY_MAX_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** A node:net lookup function over the mail resolver, so HTTPS fetches obey [dns] servers too. */
export function lookupVia(resolve4: (name: string) => Promise<string[]>): LookupFunction {
  return (hostname, options, callback) => {
    resolve4(hostname).then(
      (addresses) => {
        const address = addresses[0] ?? '';
        if (typeof options === 'object' && options.all) callback(null, [{ address, family: 4 }]);
        else callback(null, address, 4);
      },
      (e: NodeJS.ErrnoException) => callback(e, '', 4),
    );
  };
}
