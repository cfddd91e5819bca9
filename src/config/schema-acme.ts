// The [acme] config section (issue 11, RFC 8555): its zod shape (built from schema.ts's host name and path types) and its resolved form.
import { z } from 'zod';

/** Challenge types Mailroom answers: HTTP-01 (RFC 8555 8.3) on [http], TLS-ALPN-01 (RFC 8737) on [https]. */
export const ACME_CHALLENGES = ['http-01', 'tls-alpn-01'] as const;
export type AcmeChallenge = (typeof ACME_CHALLENGES)[number];

/** [acme] resolved: `domains` always starts with hostname; `challenges` in the order they are tried. */
export interface AcmeSettings {
  directory: string;
  /** The account's contact (RFC 8555 7.3, mailto:); null: none. */
  email: string | null;
  domains: string[];
  challenges: AcmeChallenge[];
  /** Absolute path of extra trusted CA certificates for the directory's HTTPS, or null. */
  caFile: string | null;
}

const choices = ACME_CHALLENGES.map((c) => `"${c}"`).join(', ');

/** [acme] as written; `hostName` and `path` are schema.ts's (passed in so the two files do not import each other). */
export function acmeSection(hostName: z.ZodType<string>, path: z.ZodType<string>) {
  return z.strictObject(
    {
      // RFC 8555 6.1: ACME runs over HTTPS only.
      directory: z
        .string({ error: 'expected the https:// URL of an ACME directory' })
        .refine((v) => /^https:\/\/[^\s/]+/i.test(v) && URL.canParse(v), {
          error: 'expected the https:// URL of an ACME directory',
        }),
      email: z
        .string({ error: 'expected an address' })
        .refine((v) => /^[^@\s<>]+@[^@\s<>]+$/.test(v), { error: 'expected an address' })
        .optional(),
      // Names besides `hostname` (always included): e.g. the MX name if it differs, imap., smtp. names.
      domains: z.array(hostName, { error: 'expected an array of host names' }).optional(),
      // RFC 8555 8.3 (HTTP-01 on [http]) or RFC 8737 (TLS-ALPN-01 on [https]); absent: chosen from the listeners.
      challenge: z.enum(ACME_CHALLENGES, { error: `expected one of ${choices}` }).optional(),
      // PEM certificates trusted for the directory's HTTPS besides the system's (a private or test CA).
      ca_file: path.optional(),
    },
    { error: 'expected a table' },
  );
}

/**
 * The challenges to offer, best first (pure): the CA validates HTTP-01 on port 80 and TLS-ALPN-01 on 443
 * (RFC 8555 8.3, RFC 8737 3), so a type whose listener is on its standard port comes first; a listener
 * on another port still counts (a port forward or a proxy may bring the CA to it). Null: no listener
 * can answer any challenge.
 */
export function acmeChallengesFor(
  forced: AcmeChallenge | undefined,
  http: readonly { port: number }[],
  https: readonly { port: number }[],
): AcmeChallenge[] | null {
  if (forced) return (forced === 'http-01' ? http : https).length > 0 ? [forced] : null;
  const offered: { type: AcmeChallenge; standard: boolean }[] = [];
  if (http.length > 0) offered.push({ type: 'http-01', standard: http.some((a) => a.port === 80) });
  if (https.length > 0) offered.push({ type: 'tls-alpn-01', standard: https.some((a) => a.port === 443) });
  if (offered.length === 0) return null;
  // Stable: on equal footing HTTP-01 (listed first) stays first.
  return offered.sort((a, b) => Number(b.standard) - Number(a.standard)).map((o) => o.type);
}
