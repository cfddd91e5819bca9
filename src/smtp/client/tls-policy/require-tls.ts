// RFC 8689 5: the TLS-Required header field, read from a queued message's header section (pure).

/** Header bytes looked at: the field sits among the first headers in practice; a bound keeps this cheap. */
const HEADER_SCAN_BYTES = 64 * 1024;

/**
 * True when the header section has `TLS-Required: No` (RFC 8689 5: the sender asks that recipient TLS
 * policies, DANE and MTA-STS, not stop delivery). Case-insensitive; folded values are unfolded first.
 */
export function tlsRequiredNo(message: Buffer): boolean {
  const head = message.subarray(0, HEADER_SCAN_BYTES).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const header = (end < 0 ? head : head.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  return /^TLS-Required[ \t]*:[ \t]*No[ \t]*$/im.test(header);
}
