// ARC sealing (RFC 8617) of mail an alias forwards to another host: which messages, which cv=, and the set itself via mailauth's sealMessage.
import { HeaderMap } from '../mail/headers.js';
import type { DkimKey } from '../store/dkim-store.js';

/**
 * Our own Authentication-Results value (RFC 8601 2.2: `authserv-id [version]; results`), the topmost one
 * whose authserv-id is our host name: the inbound checks put theirs on top and remove forged copies with
 * our id, so that one is ours. Unfolded; null when there is none.
 */
export function ourAuthenticationResults(headers: HeaderMap, authservId: string): string | null {
  const id = authservId.toLowerCase();
  for (const value of headers.getAll('authentication-results')) {
    const first = value.split(';', 1)[0]?.trim().split(/\s+/)[0]?.toLowerCase();
    if (first === id) return value.replace(/\s+/g, ' ').trim();
  }
  return null;
}

/** The last ARC set's instance and cv= (RFC 8617 4.2.1, 5.1.1), from the ARC-Seal fields; i=0 when none. */
export function lastArcSet(headers: HeaderMap): { i: number; cv: string | null } {
  let last = { i: 0, cv: null as string | null };
  for (const value of headers.getAll('arc-seal')) {
    const i = Number(/(?:^|;)\s*i\s*=\s*(\d+)/.exec(value)?.[1] ?? '0');
    if (i > last.i) last = { i, cv: /(?:^|;)\s*cv\s*=\s*([a-z]+)/i.exec(value)?.[1]?.toLowerCase() ?? null };
  }
  return last;
}

/**
 * The chain validation status our new set records (RFC 8617 4.1.3, 5.1.1): `none` when the message has
 * no ARC set yet; else what our own inbound check found for the chain (`arc=` in our
 * Authentication-Results: RFC 8617 5.2 has the validator record it there). No seal (null) when the
 * last set already says fail (the chain is dead; 5.1.1 step 2) or when the chain was never checked:
 * claiming pass unchecked would vouch for what we did not verify.
 */
export function chainValidation(
  headers: HeaderMap,
  ourResults: string | null,
): 'none' | 'pass' | 'fail' | null {
  const last = lastArcSet(headers);
  if (last.i === 0) return 'none';
  if (last.cv === 'fail') return null;
  const verdict = ourResults
    ? /(?:^|;)\s*arc\s*=\s*([a-z]+)/i.exec(ourResults)?.[1]?.toLowerCase()
    : undefined;
  return verdict === 'pass' ? 'pass' : verdict === 'fail' ? 'fail' : null;
}

/**
 * RFC 5321 / SRS (libsrs2 layout): the envelope sender of forwarded mail, rewritten by the forwarding
 * alias's domain, starts SRS0= or SRS1= (the separator may also be + or -). Such a queue entry is a
 * forward, and the domain of that address is the alias's.
 */
export function forwardingDomain(envelopeSender: string): string | null {
  const at = envelopeSender.lastIndexOf('@');
  if (at <= 0 || !/^SRS[01][=+-]/i.test(envelopeSender)) return null;
  return envelopeSender.slice(at + 1).toLowerCase();
}

/**
 * The ARC set (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results, i = previous + 1) to put on
 * top of `message`, signed with `key`; null when not to seal (see chainValidation) or when the key is not
 * RSA (RFC 8617 only defines rsa-sha256, and mailauth 4.13 seals with nothing else). The
 * ARC-Authentication-Results copies our Authentication-Results, or says `none` (RFC 8601 2.2) without one.
 */
export async function arcSealFor(
  message: Buffer,
  key: DkimKey,
  options: { authservId: string; signTime?: Date },
): Promise<Buffer | null> {
  if (key.algorithm !== 'rsa') return null;
  const end = message.indexOf('\r\n\r\n');
  const headers = HeaderMap.parse(message.subarray(0, end < 0 ? message.length : end + 4));
  const ours = ourAuthenticationResults(headers, options.authservId);
  const cv = chainValidation(headers, ours);
  if (cv === null) return null;
  // Loaded at the first forwarded message, as verification loads it at the first MX message.
  const { sealMessage } = await import('mailauth');
  const sealed = await sealMessage(message, {
    signingDomain: key.domain,
    selector: key.selector,
    privateKey: key.privateKeyPem,
    algorithm: 'rsa-sha256',
    signTime: options.signTime ?? new Date(),
    // Not in mailauth's typings, read by its createSeal (lib/arc/index.js): the AAR value and cv=.
    ...({ authResults: ours ?? `${options.authservId}; none`, cv } as object),
  });
  return sealed.length > 0 ? sealed : null;
}
