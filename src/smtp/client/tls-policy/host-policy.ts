// The TLS policy of one MX host (DANE, MTA-STS or none) and the pure check of a finished handshake against it.
import { X509Certificate } from 'node:crypto';
import type { TlsaRecord } from '../../../dns/types.js';
import { checkDane } from './dane.js';

/** RFC 8460 4.3 result types we report (successes are counted apart). */
export type TlsRptFailure =
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  | 'tlsa-invalid'
  | 'dnssec-invalid'
  | 'dane-required'
  | 'sts-policy-fetch-error'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid';

/**
 * - dane: RFC 7672: STARTTLS mandatory; the chain must match `tlsa` (usable records only). With none usable
 *   (all PKIX-TA/PKIX-EE), TLS is still mandatory but not authenticated (RFC 7672 2.2, 3.1.3).
 * - mta-sts: RFC 8461 4.2: a PKIX-valid certificate naming the MX host; `enforce` false (mode testing):
 *   failures are reported (TLS-RPT), delivery goes on.
 */
export type HostTlsPolicy =
  | { kind: 'dane'; policyDomain: string; tlsa: TlsaRecord[]; names: string[] }
  | { kind: 'mta-sts'; policyDomain: string; enforce: boolean; names: string[]; policy: string[] };

/** The label in last_error: "DANE: ..." / "MTA-STS: ...". */
export function policyLabel(policy: HostTlsPolicy): string {
  return policy.kind === 'dane' ? 'DANE' : 'MTA-STS';
}

/** Whether a failure of this policy stops delivery to the host (defer) rather than being only reported. */
export function policyEnforced(policy: HostTlsPolicy): boolean {
  return policy.kind === 'dane' || policy.enforce;
}

/** What the handshake showed: the chain as presented (leaf first, DER) and Node's PKIX verdict with its trust store. */
export interface PeerTlsFacts {
  chainDer: Buffer[];
  pkixAuthorized: boolean;
  pkixError: string | null;
}

export type PeerCheck = { ok: true } | { ok: false; type: TlsRptFailure; reason: string };

/** Checks a finished handshake against the host's policy (pure: facts and time in, verdict out). */
export function checkPeer(policy: HostTlsPolicy, facts: PeerTlsFacts, now: Date): PeerCheck {
  if (policy.kind === 'dane') {
    if (policy.tlsa.length === 0) return { ok: true }; // only unusable records: encryption without authentication
    const reason = checkDane(policy.tlsa, facts.chainDer, policy.names, now);
    return reason === null ? { ok: true } : { ok: false, type: 'validation-failure', reason };
  }
  const der = facts.chainDer[0];
  if (!der)
    return { ok: false, type: 'certificate-not-trusted', reason: 'the peer presented no certificate' };
  // Node checks the name against the servername as part of `authorized` (tls.checkServerIdentity).
  if (!facts.pkixAuthorized && facts.pkixError !== 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const expired = facts.pkixError === 'CERT_HAS_EXPIRED';
    return {
      ok: false,
      type: expired ? 'certificate-expired' : 'certificate-not-trusted',
      reason: `the certificate is not valid (${facts.pkixError ?? 'untrusted'})`,
    };
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(der);
  } catch {
    return { ok: false, type: 'validation-failure', reason: 'the peer certificate cannot be parsed' };
  }
  // RFC 8461 4.2: the MX host name (not the domain) must be in the certificate; wildcards per RFC 6125.
  if (!policy.names.some((n) => leaf.checkHost(n) !== undefined))
    return {
      ok: false,
      type: 'certificate-host-mismatch',
      reason: `the certificate does not name ${policy.names.join(' or ')}`,
    };
  return { ok: true };
}
