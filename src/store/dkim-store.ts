// The DKIM signing keys of local domains (RFC 6376 3.1 selectors): what `mailroom dkim` manages and the queue signs with.
export type DkimAlgorithm = 'rsa' | 'ed25519';

/** A key as stored. The private key never leaves the store except to sign (it is never logged or printed). */
export interface DkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** The p= value of the DNS record (RFC 6376 3.6.1; RFC 8463 3 for Ed25519: the raw 32-byte key). */
  publicKey: string;
  createdAt: Date;
  /** When `dkim activate` last chose it; null if never. */
  activatedAt: Date | null;
  /** Made with `generate --inactive`: not picked as "the newest key" until activated. */
  inactive: boolean;
}

export interface NewDkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
  publicKey: string;
  inactive?: boolean;
}

/**
 * Which key of a domain signs (CONTRACT.md: "the newest key of a domain signs unless another is
 * activated"): the most recently activated key if any was activated, else the newest key not made
 * with --inactive. Pure, so the SQL backend and the tests agree on one rule.
 */
export function pickSigningKey<K extends Pick<DkimKey, 'createdAt' | 'activatedAt' | 'inactive'>>(
  keys: readonly K[],
): K | null {
  let activated: K | null = null;
  let newest: K | null = null;
  for (const k of keys) {
    if (k.activatedAt && (!activated || k.activatedAt.getTime() >= (activated.activatedAt?.getTime() ?? 0)))
      activated = k;
    if (!k.inactive && (!newest || k.createdAt.getTime() >= newest.createdAt.getTime())) newest = k;
  }
  return activated ?? newest;
}

export interface DkimStore {
  /** Stores a new key. Throws MailroomError 'DOMAIN_NOT_LOCAL' or 'DKIM_KEY_EXISTS'. */
  addKey(key: NewDkimKey): DkimKey;
  /** Every key (of one domain when given), by domain then creation. */
  listKeys(domain?: string): DkimKey[];
  /** Makes this key the domain's signing key. Throws 'NO_SUCH_DKIM_KEY'. */
  activateKey(domain: string, selector: string): void;
  /** Throws 'NO_SUCH_DKIM_KEY'. */
  removeKey(domain: string, selector: string): void;
  /** The key that signs mail From this domain (pickSigningKey), or null: mail from it goes unsigned. */
  signingKey(domain: string): DkimKey | null;
}
