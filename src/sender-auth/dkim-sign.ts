// Outbound DKIM signing (RFC 6376) with mailauth: which local domain signs a message, the signature header, a per-message cache.
import { createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { setImmediate } from 'node:timers/promises';
import { DKIM_HASH_SLICE_BYTES, DKIM_SIGNATURE_CACHE_ENTRIES } from '../config/limits.js';
import { parseAddresses } from '../mail/envelope.js';
import { HeaderMap } from '../mail/headers.js';
import type { DkimKey, DkimStore } from '../store/dkim-store.js';
import { arcSealFor, forwardingDomain } from './arc-seal.js';
import { fastDkimBody, mailauthBodyModules } from '../inbound/dkim-body.js';
import {
  fastParseHeaders,
  fastRelaxedLine,
  type ParsedHeaders,
  type RelaxedLineFormatter,
} from '../inbound/dkim-headers.js';
import {
  foldedSignatureField,
  relaxedSignatureField,
  signingFieldsOf,
  tagsBeforeB,
} from './dkim-signature-header.js';

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

// mailauth 4.13 has no over-signing option, and its signer parses the PEM key for every message (~1 ms
// for RSA with OpenSSL 3, more than the signature itself). So the signature is assembled here from
// mailauth's own parts - header parsing, the relaxed header and body canonicalisation (lib/tools.js,
// lib/dkim/body; untyped internals, pinned by package.json ~4.13.3) - with our h= and a parsed key kept per
// key, the verifier's faster equivalents of those steps, and the DKIM-Signature field built once
// (dkim-signature-header.ts; mailauth formats it twice). The tests check the result against python3-dkim, an
// independent implementation.
const requireCjs = createRequire(import.meta.url);
interface MailauthSigning {
  /** The header block's fields (dkim-headers.ts fastParseHeaders over mailauth's parseHeaders). */
  parseHeaders(buf: Buffer): ParsedHeaders;
  /** mailauth's relaxed header canonicalization of one field (tools.formatRelaxedLine), in one pass. */
  relaxedLine: RelaxedLineFormatter;
  dkimBody(
    canonicalization: 'relaxed',
    algorithm: 'sha256',
    maxBodyLength: false,
  ): { update(chunk: Buffer): void; digest(encoding: 'base64'): string };
}
/**
 * Loaded at the first signature, not at start: mailauth's modules cost ~20 MiB of a process that may
 * never sign (a server with no DKIM key, the IMAP-only benches, every CLI command but `send`).
 */
let signing: MailauthSigning | null = null;
function mailauthSigning(): MailauthSigning {
  if (signing) return signing;
  const tools = requireCjs('mailauth/lib/tools.js') as {
    parseHeaders(buf: Buffer): ParsedHeaders;
    formatRelaxedLine: RelaxedLineFormatter;
  };
  // The verifier's faster equivalents of mailauth's per-byte and per-regex steps (inbound/dkim-body.ts,
  // dkim-headers.ts; each compared with mailauth's own on random input by its tests).
  const { body, RelaxedHash } = mailauthBodyModules();
  signing = {
    parseHeaders: fastParseHeaders(tools.parseHeaders),
    relaxedLine: fastRelaxedLine(tools.formatRelaxedLine),
    dkimBody: fastDkimBody(body.dkimBody, RelaxedHash) as MailauthSigning['dkimBody'],
  };
  return signing;
}

/** mailauth's getSigningHeaderLines over our list, the names lower-cased once. */
const signingFields = signingFieldsOf([...OVERSIGNED_FIELDS, ...SIGNED_WHEN_PRESENT]);

/** Parsed private keys by PEM: parsing is the costly part of a signature (see above). Few keys exist. */
const parsedKeys = new Map<string, KeyObject>();
function privateKeyOf(pem: string): KeyObject {
  let k = parsedKeys.get(pem);
  if (!k) {
    if (parsedKeys.size >= 64) parsedKeys.clear(); // rotated keys: never grows without bound
    k = createPrivateKey(pem);
    parsedKeys.set(pem, k);
  }
  return k;
}

/** True when some LF is not preceded by CR (native indexOf per line, no copy of the message). */
function hasBareLf(message: Buffer): boolean {
  for (let i = message.indexOf(0x0a); i >= 0; i = message.indexOf(0x0a, i + 1))
    if (i === 0 || message[i - 1] !== 0x0d) return true;
  return false;
}

/** Where the body starts: after the first empty line (CRLF CRLF, or LF LF in a bare-LF message). */
function splitAt(message: Buffer): number {
  const crlf = message.indexOf('\r\n\r\n');
  if (crlf >= 0) return crlf + 4;
  const lf = message.indexOf('\n\n');
  return lf >= 0 ? lf + 2 : message.length;
}

export interface DkimSignature {
  /** The DKIM-Signature field, folded, ending in CRLF: prepend it to the message. */
  header: string;
  domain: string;
  selector: string;
}

/**
 * Signs `message` with `key`: relaxed/relaxed, rsa-sha256 or ed25519-sha256 (RFC 8463), no l= (a
 * body-length limit lets anyone append content under our signature, RFC 6376 8.2). Over-signing: h= lists
 * each OVERSIGNED_FIELDS name once more than the field occurs; a name without a field left to select
 * contributes nothing to the hash (RFC 6376 5.4.2), so the hash input is mailauth's for the present fields.
 * Throws on a damaged key: the caller sends unsigned rather than not at all.
 */
export async function signMessage(message: Buffer, key: DkimKey, signTime?: Date): Promise<DkimSignature> {
  // mailauth's parser turns bare LFs into CRLF before hashing (as SMTP would); the same here.
  const bytes = hasBareLf(message)
    ? Buffer.from(message.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1')
    : message;
  const at = splitAt(bytes);
  const { parseHeaders, relaxedLine, dkimBody } = mailauthSigning();
  const { parsed } = parseHeaders(bytes.subarray(0, at));
  const body = dkimBody('relaxed', 'sha256', false);
  // The relaxed body hash is JavaScript (~90 ms per MiB on a loaded machine): a large body is hashed in
  // slices with a turn of the event loop between them, so sessions on the same process keep moving.
  for (let off = at; off < bytes.length; off += DKIM_HASH_SLICE_BYTES) {
    if (off > at) await setImmediate();
    body.update(bytes.subarray(off, Math.min(bytes.length, off + DKIM_HASH_SLICE_BYTES)));
  }
  const present = signingFields(parsed);
  const tagText = tagsBeforeB({
    a: key.algorithm === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256',
    c: 'relaxed/relaxed',
    d: key.domain,
    h: [...(present.keys ? [present.keys] : []), ...OVERSIGNED_FIELDS].join(': '),
    s: key.selector,
    // Read once: the t= that is hashed is the t= that is sent.
    t: Math.floor((signTime ?? new Date()).getTime() / 1000),
    bh: body.digest('base64'),
  });
  // What mailauth's relaxedHeaders hashes: each signed field relaxed with a CRLF, then the signature field.
  const canonicalizedHeader = Buffer.concat([
    ...present.headers.map((f) => relaxedLine(f.line, '\r\n')),
    relaxedSignatureField(tagText, relaxedLine),
  ]);
  // RFC 8463 3: Ed25519 signs the SHA-256 of the canonicalised header (PureEdDSA over the hash).
  const b =
    key.algorithm === 'rsa'
      ? cryptoSign('sha256', canonicalizedHeader, privateKeyOf(key.privateKeyPem))
      : cryptoSign(
          null,
          createHash('sha256').update(canonicalizedHeader).digest(),
          privateKeyOf(key.privateKeyPem),
        );
  const header = foldedSignatureField(tagText, b.toString('base64'));
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

/**
 * Signs what the queue sends: `sign(queueId, sender, bytes)` -> the bytes with a DKIM-Signature on top
 * (and, for mail our aliases forward, an ARC set below it: arc-seal.ts).
 */
export interface OutboundSigner {
  sign(queueId: string, envelopeSender: string, message: Buffer): Promise<Buffer>;
  /** Signatures and ARC seals made (not served from the cache): for tests and the bench. */
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
  const keyOf = (domain: string): DkimKey | null => {
    try {
      return options.keys.signingKey(domain);
    } catch {
      return null; // not a valid domain name: certainly not ours
    }
  };
  const keyFor = (message: Buffer, sender: string): DkimKey | null => {
    for (const domain of signingDomains(fromDomain(message), sender, options.hostname)) {
      const key = keyOf(domain);
      if (key) return key;
    }
    return null;
  };
  /** The cached header block for (kind, message, key), made by `make` on a miss; null: none to add. */
  const cached = async (
    kind: string,
    queueId: string,
    message: Buffer,
    key: DkimKey,
    make: () => Promise<string | null>,
  ): Promise<string | null> => {
    const digest = createHash('sha256').update(message).digest('base64');
    const id = `${kind}\0${queueId}\0${key.domain}\0${key.selector}\0${digest}`;
    const hit = cache.get(id);
    if (hit !== undefined) return hit === '' ? null : hit;
    let made: string | null;
    try {
      made = await make();
    } catch (err) {
      options.onError?.(queueId, err instanceof Error ? err : new Error(String(err)));
      return null;
    }
    signed++;
    if (cache.size >= DKIM_SIGNATURE_CACHE_ENTRIES) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(id, made ?? '');
    return made;
  };
  return {
    get signed() {
      return signed;
    },
    async sign(queueId, envelopeSender, message) {
      let out = message;
      // Forwarded by one of our aliases (an SRS sender of a local domain): an ARC set sealed with that
      // domain's key (RFC 8617), so the next hop can trust our view of the authentication we checked.
      const forwarder = forwardingDomain(envelopeSender);
      const arcKey = forwarder ? keyOf(forwarder) : null;
      if (arcKey) {
        const set = await cached('arc', queueId, out, arcKey, async () => {
          const headers = await arcSealFor(out, arcKey, { authservId: options.hostname });
          return headers ? headers.toString('latin1') : null;
        });
        if (set) out = Buffer.concat([Buffer.from(set, 'latin1'), out]);
      }
      const key = keyFor(out, envelopeSender);
      if (!key) return out;
      const header = await cached(
        'dkim',
        queueId,
        out,
        key,
        async () => (await signMessage(out, key)).header,
      );
      return header ? Buffer.concat([Buffer.from(header, 'latin1'), out]) : out;
    },
  };
}
