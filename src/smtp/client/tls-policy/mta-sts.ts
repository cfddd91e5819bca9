// MTA-STS (RFC 8461), pure: the TXT record, the policy file, MX pattern matching and the cache/refresh decision.

/** RFC 8461 3.2: max_age is at most 31557600 seconds (about a year). */
export const STS_MAX_AGE_LIMIT_S = 31_557_600;

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  /** The `id` of the TXT record the policy was fetched for (RFC 8461 3.1). */
  id: string;
  mode: StsMode;
  /** mx: patterns, lower case ("mail.example.com", "*.example.net"). */
  mx: string[];
  maxAgeS: number;
  /** When it was fetched, ms since the epoch; it may be used until fetchedAt + maxAgeS (RFC 8461 5.1). */
  fetchedAt: number;
}

/**
 * RFC 8461 3.1: `v=STSv1; id=...;` among the TXT records of `_mta-sts.DOMAIN`. Exactly one record starting
 * with `v=STSv1` must be present, else there is no policy (records that do not start so are ignored).
 * Returns the id, null when there is no (or more than one, or a malformed) STS record.
 */
export function parseStsTxt(records: readonly string[]): string | null {
  const sts = records.filter((r) => /^v=STSv1(;|$)/.test(r.trimStart()));
  if (sts.length !== 1) return null;
  let id: string | null = null;
  for (const field of (sts[0] ?? '').split(';')) {
    const m = /^\s*([a-z0-9_]+)=(.*?)\s*$/i.exec(field);
    if (!m) {
      if (field.trim() !== '') return null;
      continue;
    }
    // RFC 8461 3.1: sts-id = 1*32(ALPHA / DIGIT)
    if (m[1] === 'id') id = /^[a-z0-9]{1,32}$/i.test(m[2] ?? '') ? (m[2] ?? null) : null;
  }
  return id;
}

/**
 * RFC 8461 3.2: the policy file, "key: value" lines (CRLF or LF). version STSv1, mode, max_age and (unless
 * mode none) at least one mx are required; unknown keys are ignored. Returns the policy or why it is invalid.
 */
export function parseStsPolicy(
  text: string,
  id: string,
  fetchedAt: number,
): { ok: true; policy: StsPolicy } | { ok: false; reason: string } {
  let version: string | null = null;
  let mode: string | null = null;
  let maxAge: string | null = null;
  const mx: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^([A-Za-z0-9_]+)\s*:\s*(.*)$/.exec(line);
    if (!m) return { ok: false, reason: `malformed policy line "${line.slice(0, 60)}"` };
    const key = m[1] ?? '';
    const value = (m[2] ?? '').trim();
    // RFC 8461 3.2: "If a field is present more than once, the first one wins" holds for all but mx.
    if (key === 'version') version ??= value;
    else if (key === 'mode') mode ??= value;
    else if (key === 'max_age') maxAge ??= value;
    else if (key === 'mx') mx.push(value.toLowerCase().replace(/\.$/, ''));
  }
  if (version !== 'STSv1') return { ok: false, reason: 'policy version is not STSv1' };
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none')
    return { ok: false, reason: `policy mode "${mode ?? ''}" is not enforce, testing or none` };
  if (maxAge === null || !/^\d{1,10}$/.test(maxAge))
    return { ok: false, reason: 'policy max_age is missing or not a number' };
  if (mode !== 'none' && mx.length === 0) return { ok: false, reason: 'policy lists no mx' };
  if (mx.some((p) => !/^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(p)))
    return { ok: false, reason: 'policy has a malformed mx pattern' };
  const maxAgeS = Math.min(Number(maxAge), STS_MAX_AGE_LIMIT_S);
  return { ok: true, policy: { id, mode, mx, maxAgeS, fetchedAt } };
}

/** RFC 8461 4.1: an MX host matches "mail.example.com" exactly, or "*.example.com" by one left-most label. */
export function mxMatches(patterns: readonly string[], host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((p) => {
    if (!p.startsWith('*.')) return p === name;
    const dot = name.indexOf('.');
    return dot > 0 && name.slice(dot + 1) === p.slice(2);
  });
}

/** Whether a cached policy may still be used (RFC 8461 5.1: until max_age after it was fetched). */
export function stsPolicyFresh(policy: StsPolicy, now: number): boolean {
  return now < policy.fetchedAt + policy.maxAgeS * 1000;
}

/**
 * RFC 8461 5.1/3.3: what to do for a delivery, from the TXT id (null: none found) and the cached policy.
 * - fetch: no usable cached policy for this id; fetch (on failure fall back to `fallback`, if any).
 * - use: the cached policy is current.
 * - none: no policy applies.
 */
export function stsRefreshDecision(
  txtId: string | null,
  cached: StsPolicy | null,
  now: number,
):
  | { action: 'fetch'; fallback: StsPolicy | null }
  | { action: 'use'; policy: StsPolicy }
  | { action: 'none' } {
  const fresh = cached && stsPolicyFresh(cached, now) ? cached : null;
  if (txtId === null) {
    // A missing TXT record does not end a cached policy: it stays until max_age (RFC 8461 5.1, 10.3 downgrade).
    return fresh ? { action: 'use', policy: fresh } : { action: 'none' };
  }
  if (fresh && fresh.id === txtId) return { action: 'use', policy: fresh };
  return { action: 'fetch', fallback: fresh };
}
