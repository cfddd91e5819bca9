// DANE for SMTP (RFC 7672, RFC 6698): which TLSA records are usable and whether a peer's certificate chain matches one.
import { createHash, X509Certificate } from 'node:crypto';
import type { TlsaRecord } from '../../../dns/types.js';

/** RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP; only DANE-TA(2) and DANE-EE(3) count. */
export function usableTlsa(records: readonly TlsaRecord[]): TlsaRecord[] {
  return records.filter(
    (r) => (r.usage === 2 || r.usage === 3) && (r.selector === 0 || r.selector === 1) && r.matchingType <= 2,
  );
}

/** RFC 6698 2.1.3/2.1.2: the bytes a record's selector picks (0 full certificate, 1 SubjectPublicKeyInfo), hashed per matching type. */
function associationData(cert: X509Certificate, selector: number, matchingType: number): Buffer {
  const selected = selector === 0 ? cert.raw : cert.publicKey.export({ type: 'spki', format: 'der' });
  if (matchingType === 1) return createHash('sha256').update(selected).digest();
  if (matchingType === 2) return createHash('sha512').update(selected).digest();
  return selected;
}

function matches(cert: X509Certificate, r: TlsaRecord): boolean {
  return associationData(cert, r.selector, r.matchingType).equals(r.data);
}

/**
 * Checks the chain the peer presented (leaf first, DER) against the usable TLSA records.
 * - DANE-EE(3), RFC 7672 3.1.1: the leaf matches; its names and dates are not checked.
 * - DANE-TA(2), RFC 7672 3.1.2: some certificate of the chain matches, the leaf chains up to it by
 *   signatures, the leaf is within its dates, and it names one of `names` (the MX host, RFC 7672 3.2.2).
 * Returns null when authenticated, else why not (for last_error and TLS-RPT).
 */
export function checkDane(
  records: readonly TlsaRecord[],
  chainDer: readonly Buffer[],
  names: readonly string[],
  now: Date,
): string | null {
  const usable = usableTlsa(records);
  if (usable.length === 0) return 'no usable TLSA records';
  let chain: X509Certificate[];
  try {
    chain = chainDer.map((der) => new X509Certificate(der));
  } catch {
    return 'the peer certificate cannot be parsed';
  }
  const leaf = chain[0];
  if (!leaf) return 'the peer presented no certificate';
  if (usable.some((r) => r.usage === 3 && matches(leaf, r))) return null;
  for (const r of usable.filter((t) => t.usage === 2)) {
    const taIndex = chain.findIndex((c) => matches(c, r));
    if (taIndex < 0) continue;
    // Every certificate below the trust anchor is issued and signed by the next one up.
    let linked = true;
    for (let i = 0; i < taIndex; i++) {
      const child = chain[i];
      const parent = chain[i + 1];
      if (!child || !parent || !child.checkIssued(parent) || !child.verify(parent.publicKey)) linked = false;
    }
    if (!linked) return 'the certificate chain does not lead to the DANE-TA trust anchor';
    const t = now.getTime();
    if (t < Date.parse(leaf.validFrom) || t > Date.parse(leaf.validTo))
      return 'the certificate is outside its validity dates';
    if (!names.some((n) => leaf.checkHost(n) !== undefined))
      return `the certificate does not name ${names.join(' or ')}`;
    return null;
  }
  return 'the peer certificate matches no TLSA record';
}
