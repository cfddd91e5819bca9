// Outbound DKIM signing (RFC 6376) with mailauth: which local domain signs a message, the signature header, a per-message cache.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { DKIM_SIGNATURE_CACHE_ENTRIES } from '../config/limits.js';
import { parseAddresses } from '../mail/envelope.js';
import { HeaderMap } from '../mail/headers.js';
import type { DkimKey, DkimStore } from '../store/dkim-store.js';

/**
 * Header fields signed once more than they occur (RFC 6376 8.15, 5.4.2 "over-signing"): an attacker can
 * then neither add a second From/Subject/... above ours nor add a missing one without breaking the
 * signature. The set RFC 6376 5.4.1 calls "SHOULD be included", plus the MIME fields that change how the
 * body is shown.
 */
export const OVERSIGNED_FIELDS = [
  'From',
  'Subject',
  'Date',
  'To',
  'Cc',
  'Message-ID',
  'Reply-To',
  'MIME-Version',
  'Content-Type',
] as const;

/** Signed when present (once per occurrence, not oversigned): mailauth's default list (RFC 6376 5.4.1). */
const SIGNED_WHEN_PRESENT = [
  'Sender',
  'Content-Transfer-Encoding',
  'Content-ID',
  'Content-Description',
  'Resent-Date',
  'Resent-From',
  'Resent-Sender',
  'Resent-To',
  'Resent-Cc',
  'Resent-Message-ID',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Help',
  'List-Unsubscribe',
  'List-Subscribe',
  'List-Post',
  'List-Owner',
  'List-Archive',
];

// mailauth 4.13 has no over-signing option and its typings do not cover its signer class; the two
// internals used here are its own signer and stream helper (lib/dkim/dkim-signer.js, lib/tools.js),
// pinned by package.json (~4.13.3) and checked by the tests against python3-dkim.
interface ParsedField {
  key: string; // lower-cased name
  casedKey: string; // the name as h= lists it
}
interface MailauthSigner extends Writable {
  signatureHeaders: string[];
  errors: { err?: Error }[];
  messageHeaders(headers: { parsed: ParsedField[] }): Promise<void>;
}
interface MailauthSignerOptions {
  canonicalization: string;
  headerList: string;
  signTime?: Date;
  signatureData: { signingDomain: string; selector: string; privateKey: string; algorithm: string }[];
}
const requireCjs = createRequire(import.meta.url);
const { DkimSigner } = requireCjs('mailauth/lib/dkim/dkim-signer.js') as {
  DkimSigner: new (options: MailauthSignerOptions) => MailauthSigner;
};
const { writeToStream } = requireCjs('mailauth/lib/tools.js') as {
  writeToStream: (stream: Writable, input: Buffer) => Promise<void>;
};

/**
 * mailauth's signer with over-signing: mailauth puts in h= one name per field it signs (each present
 * occurrence, bottom-up, as RFC 6376 5.4.2 orders them) and hashes exactly those fields. A name listed
 * once more than it occurs selects no field (5.4.2: "nonexistent header fields do not contribute"), so
 * adding names to h= without hashing anything more is what over-signing is. The extra names ride on the
 * h= entry of the topmost signed field, which mailauth emits last; the hash input is unchanged.
 */
class OversigningSigner extends DkimSigner {
  override async messageHeaders(headers: { parsed: ParsedField[] }): Promise<void> {
    await super.messageHeaders(headers);
    const signed = new Set([...OVERSIGNED_FIELDS, ...SIGNED_WHEN_PRESENT].map((n) => n.toLowerCase()));
    const carrier = headers.parsed.find((f) => signed.has(f.key));
    if (!carrier) return;
    carrier.casedKey = [carrier.casedKey, ...OVERSIGNED_FIELDS].join(': ');
  }
}

export interface DkimSignature {
  /** The DKIM-Signature field, folded, ending in CRLF: prepend it to the message. */
  header: string;
  domain: string;
  selector: string;
}

/**
 * Signs `message` with `key`: relaxed/relaxed, rsa-sha256 or ed25519-sha256 (RFC 8463), no l= (a
 * body-length limit lets anyone append content under our signature, RFC 6376 8.2). Throws when mailauth
 * reports an error (a damaged key): the caller sends unsigned rather than not at all.
 */
export async function signMessage(message: Buffer, key: DkimKey, signTime?: Date): Promise<DkimSignature> {
  const signer = new OversigningSigner({
    canonicalization: 'relaxed/relaxed',
    headerList: [...OVERSIGNED_FIELDS, ...SIGNED_WHEN_PRESENT].join(':'),
    ...(signTime ? { signTime } : {}),
    signatureData: [
      {
        signingDomain: key.domain,
        selector: key.selector,
        privateKey: key.privateKeyPem,
        algorithm: key.algorithm === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256',
      },
    ],
  });
  await writeToStream(signer, message);
  const header = signer.signatureHeaders[0];
  if (signer.errors.length > 0 || !header) {
    // The error text only: mailauth's error objects carry the signing data, private key included.
    const why = signer.errors[0]?.err?.message ?? 'no signature produced';
    throw new Error(`DKIM signing with ${key.selector}._domainkey.${key.domain} failed: ${why}`);
  }
  return { header: `${header}\r\n`, domain: key.domain, selector: key.selector };
}

/** The domain part of the first From address (RFC 7489 3.1: the RFC5322.From domain), lower-cased. */
export function fromDomain(message: Buffer): string | null {
  const end = headerEnd(message);
  const from = HeaderMap.parse(message.subarray(0, end)).get('from');
  if (from === undefined) return null;
  const address = parseAddresses(from)[0]?.address ?? '';
  const at = address.lastIndexOf('@');
  return at < 0 ? null : address.slice(at + 1).toLowerCase();
}

function headerEnd(message: Buffer): number {
  const crlf = message.indexOf('\r\n\r\n');
  return crlf < 0 ? message.length : crlf + 4;
}

/**
 * The domains whose key may sign, in order. The From domain itself (its own key only: mail From
 * sub.example.test is signed with sub.example.test's key, never example.test's). For our own DSNs (the
 * null envelope sender and From MAILER-DAEMON@hostname, or no From) also the hostname's parent domains,
 * so `mx.example.test` bounces carry d=example.test, which DMARC's relaxed alignment (RFC 7489 3.1.1)
 * accepts for a From in mx.example.test. Anything else From a stranger's domain stays unsigned.
 */
export function signingDomains(from: string | null, envelopeSender: string, hostname: string): string[] {
  const out: string[] = [];
  if (from) out.push(from);
  const host = hostname.toLowerCase();
  if (envelopeSender === '' && (from === null || from === host)) {
    const labels = host.split('.');
    for (let i = 0; i < labels.length - 1; i++) {
      const d = labels.slice(i).join('.');
      if (!out.includes(d)) out.push(d);
    }
  }
  return out;
}

export interface OutboundSignerOptions {
  keys: Pick<DkimStore, 'signingKey'>;
  /** Our host name (config `hostname`). */
  hostname: string;
  /** Called when a message that should be signed is sent unsigned (the key is damaged). */
  onError?: (queueId: string, err: Error) => void;
}

/** Signs what the queue sends: `sign(queueId, sender, bytes)` -> the bytes with a DKIM-Signature on top. */
export interface OutboundSigner {
  sign(queueId: string, envelopeSender: string, message: Buffer): Promise<Buffer>;
  /** Signatures made (not served from the cache): for tests and the bench. */
  readonly signed: number;
}

/**
 * One signature per message variant, not per batch or retry: the header is cached by queue id, key and a
 * digest of the exact bytes (the 8-bit and the downgraded variant of one message differ), bounded by
 * DKIM_SIGNATURE_CACHE_ENTRIES (oldest out first). The key is looked up each time, so `dkim activate` and
 * `remove` take effect on the next message. Messages without a signing key pass through unchanged.
 */
export function createOutboundSigner(options: OutboundSignerOptions): OutboundSigner {
  const cache = new Map<string, string>();
  let signed = 0;
  const keyFor = (message: Buffer, sender: string): DkimKey | null => {
    for (const domain of signingDomains(fromDomain(message), sender, options.hostname)) {
      let key: DkimKey | null = null;
      try {
        key = options.keys.signingKey(domain);
      } catch {
        key = null; // not a valid domain name: certainly not ours
      }
      if (key) return key;
    }
    return null;
  };
  return {
    get signed() {
      return signed;
    },
    async sign(queueId, envelopeSender, message) {
      const key = keyFor(message, envelopeSender);
      if (!key) return message;
      const digest = createHash('sha256').update(message).digest('base64');
      const id = `${queueId}\0${key.domain}\0${key.selector}\0${digest}`;
      let header = cache.get(id);
      if (header === undefined) {
        try {
          header = (await signMessage(message, key)).header;
        } catch (err) {
          options.onError?.(queueId, err instanceof Error ? err : new Error(String(err)));
          return message;
        }
        signed++;
        if (cache.size >= DKIM_SIGNATURE_CACHE_ENTRIES) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
        cache.set(id, header);
      }
      return Buffer.concat([Buffer.from(header, 'latin1'), message]);
    },
  };
}
