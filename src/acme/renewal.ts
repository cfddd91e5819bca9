// When to order, renew and retry an ACME certificate (pure: facts and the time in, a decision out).
import {
  ACME_MAX_TIMER_MS,
  ACME_RENEW_FRACTION,
  ACME_RETRY_MAX_MS,
  ACME_RETRY_MIN_MS,
} from '../config/limits.js';

/** What the stored certificate says about itself (epoch milliseconds, lower-case DNS names). */
export interface CertificateFacts {
  notBefore: number;
  notAfter: number;
  names: string[];
}

export type AcmePlan =
  /** No usable certificate for these names: order one now (logged acme-issued). */
  | { action: 'issue'; reason: 'none' | 'names' | 'expired' }
  /** The certificate is past its renewal time: order a new one now (logged acme-renewed). */
  | { action: 'renew' }
  /** Nothing to do before `until`. */
  | { action: 'wait'; until: number };

/** Two thirds into the certificate's lifetime (limits-acme.ts says why). */
export function renewAt(facts: Pick<CertificateFacts, 'notBefore' | 'notAfter'>): number {
  return facts.notBefore + Math.floor((facts.notAfter - facts.notBefore) * ACME_RENEW_FRACTION);
}

/** What to do now with the stored certificate (null: none) for the configured names. */
export function planCertificate(
  stored: CertificateFacts | null,
  domains: readonly string[],
  now: number,
): AcmePlan {
  if (!stored) return { action: 'issue', reason: 'none' };
  const names = new Set(stored.names.map((n) => n.toLowerCase()));
  // A name added to [acme] domains (or a new hostname) needs a new order; a name removed does not hurt.
  if (!domains.every((d) => names.has(d.toLowerCase()))) return { action: 'issue', reason: 'names' };
  if (now >= stored.notAfter) return { action: 'issue', reason: 'expired' };
  const due = renewAt(stored);
  return now >= due ? { action: 'renew' } : { action: 'wait', until: due };
}

/** The wait after the n-th failure in a row (n >= 1): doubling from ACME_RETRY_MIN_MS, at most ACME_RETRY_MAX_MS. */
export function retryDelayMs(failures: number): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30); // 2^30 minutes is far past the cap already
  return Math.min(ACME_RETRY_MIN_MS * 2 ** exponent, ACME_RETRY_MAX_MS);
}

/** A timer delay for `until`: never negative, never over what setTimeout can hold (the plan is redone on waking). */
export function timerDelayMs(until: number, now: number): number {
  return Math.min(Math.max(until - now, 0), ACME_MAX_TIMER_MS);
}
