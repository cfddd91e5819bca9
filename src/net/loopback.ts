// Whether a peer address is this host's loopback: where [auth] allow_loopback_plaintext lets a password travel in clear.

/** IPv4 127/8, IPv6 ::1, and 127/8 mapped into IPv6 (a dual-stack listener's view of an IPv4 peer). */
export function isLoopback(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}
