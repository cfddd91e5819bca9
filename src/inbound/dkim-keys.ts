// mailauth's DKIM verifier and ARC check bound to a cache of parsed public keys (KeyObject per DNS key record).
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import {
  ADDRESS_MEMO_ENTRIES,
  ADDRESS_MEMO_MAX_LENGTH,
  DKIM_KEY_CACHE_ENTRIES,
} from '../config/limits-trust.js';
import { fastDkimBody, mailauthBodyModules } from './dkim-body.js';
import {
  fastParseHeaders,
  fastRelaxedLine,
  memoAddressParser,
  type AddressParser,
  type ParsedHeaders,
  type RelaxedLineFormatter,
} from './dkim-headers.js';
import { fastTagParser, type TagParser } from './dkim-tags.js';
import { loadPrivateCopies } from './private-modules.js';

/**
 * mailauth's `resolver` option: node:dns/promises `resolve(name, rrtype)`. `timed`, when present, gives the same
 * answer with how long it stays the cached one (ms; 0: not cached), so a verify worker may keep it that long.
 */
export type MailauthResolver = ((name: string, rrtype: string) => Promise<unknown>) & {
  timed?: (name: string, rrtype: string) => Promise<{ value: unknown; validForMs: number }>;
};

/** What mailauth's tools.getPublicKey resolves to: the key (PEM from mailauth, a KeyObject from the cache). */
interface PublicKeyResult {
  publicKey: string | Buffer | KeyObject;
  rr: string;
  modulusLength?: number;
}

type GetPublicKey = (
  type: string,
  name: string,
  minBitLength: number | undefined,
  resolver: MailauthResolver,
) => Promise<PublicKeyResult>;

/** One DKIM signature's outcome as mailauth's DkimVerifier reports it (the fields verify.ts reads). */
export interface DkimVerifierResult {
  signingDomain: string;
  status: { result: string };
  info: string;
}

/** mailauth's DkimVerifier (lib/dkim/dkim-verifier.js): a Writable fed the whole message. */
export interface DkimVerifierStream extends Writable {
  results: DkimVerifierResult[];
  headerFrom: string[];
  /** The ARC chain found in the headers (`arc()`'s input). */
  arc: unknown;
}

export interface KeyCacheStats {
  hits: number;
  misses: number;
}

export interface CachedMailauth {
  /** A new DKIM verifier (mailauth's own) for one message; `sender` is MAIL FROM (the Return-Path it compares). */
  newDkimVerifier(options: { resolver: MailauthResolver; sender: string }): DkimVerifierStream;
  /** mailauth's `arc()` (RFC 8617 5.2), its ARC-Seal keys from the same cache. */
  arc(
    chain: unknown,
    options: { resolver: MailauthResolver },
  ): Promise<{ info?: string; status: { result: string } }>;
  stats(): KeyCacheStats;
}

/**
 * mailauth parses a DKIM key record on every signature it checks: base64 validation, PEM, createPublicKey, then
 * an export back to PEM that crypto.verify parses once more (~0.5 ms of a 4 KiB message's ~1 ms of checks).
 * The parse is a pure function of (key type, record text, minimum key size), so its result is kept per record
 * text: the record itself is still asked of the resolver for every signature, so the DNS cache's TTL (RFC 1035
 * 3.2.1) decides when a key is looked at again, and a changed or revoked record is never answered from here.
 * Failures are not cached (mailauth's own error, with its code, goes to the verifier every time).
 */
export function cachingGetPublicKey(
  parse: GetPublicKey,
  maxEntries = DKIM_KEY_CACHE_ENTRIES,
): { getPublicKey: GetPublicKey; stats(): KeyCacheStats } {
  const cache = new Map<string, PublicKeyResult>();
  const stats: KeyCacheStats = { hits: 0, misses: 0 };
  const getPublicKey: GetPublicKey = async (type, name, minBitLength, resolver) => {
    const records = await resolver(name, 'TXT');
    const key = `${type}\0${minBitLength ?? ''}\0${JSON.stringify(records)}`;
    const known = cache.get(key);
    if (known) {
      stats.hits++;
      return { ...known };
    }
    stats.misses++;
    // mailauth's own parser and checks (version, key type, k= tag, minimum size) on the very records we hold.
    const parsed = await parse(type, name, minBitLength, () => Promise.resolve(records));
    const pem = parsed.publicKey.toString();
    const keyObject = createPublicKey(pem);
    // The verifier reports `publicKey.toString()` in its result: keep that the PEM it was.
    Object.defineProperty(keyObject, 'toString', { value: () => pem });
    const entry: PublicKeyResult = { ...parsed, publicKey: keyObject };
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(key, entry);
    return { ...entry };
  };
  return { getPublicKey, stats: () => ({ ...stats }) };
}

/**
 * mailauth's verifier and ARC modules take `getPublicKey` (and `parseDkimHeaders`) from lib/tools.js when they
 * load (a destructured require), so there is no option to hand them a cache (or a faster parser). This loads
 * private copies of those two modules while tools.getPublicKey is the caching one (and tools.parseDkimHeaders
 * the fast one, dkim-tags.ts, the body module's dkimBody the fast relaxed hash, dkim-body.ts, and nodemailer's
 * addressparser a memoized one and tools.formatRelaxedLine a one-pass one, dkim-headers.ts; the header
 * canonicalization modules are loaded privately too), then puts
 * tools, the body module, addressparser's module and the module cache back as they were: the rest of
 * the process (mailauth's `authenticate`, the ARC sealer, tests) keeps mailauth untouched. mailauth is pinned
 * to ~4.13.3 in package.json; test/unit/inbound/dkim-keys.test.ts fails if a release moves these internals.
 */
export function loadCachedMailauth(maxEntries = DKIM_KEY_CACHE_ENTRIES): CachedMailauth {
  const require = createRequire(import.meta.url);
  const toolsPath = require.resolve('mailauth/lib/tools.js');
  const verifierPath = require.resolve('mailauth/lib/dkim/dkim-verifier.js');
  const arcPath = require.resolve('mailauth/lib/arc/index.js');
  // mailauth is CommonJS without types for its internals; these shapes are what 4.13 exports.
  const tools = require(toolsPath) as {
    getPublicKey: GetPublicKey;
    parseHeaders(buf: Buffer): ParsedHeaders;
    formatRelaxedLine: RelaxedLineFormatter;
    parseDkimHeaders: TagParser;
  };
  // The header block split into fields without mailauth's string round trip (dkim-headers.ts).
  mailauthParseHeaders = fastParseHeaders(tools.parseHeaders);
  const original = tools.getPublicKey;
  const originalTags = tools.parseDkimHeaders;
  const originalRelaxed = tools.formatRelaxedLine;
  const cache = cachingGetPublicKey(original, maxEntries);
  // The ARC module loads the signer, which takes dkimBody when it loads: loaded first, it keeps mailauth's own.
  require('mailauth/lib/dkim/dkim-signer.js');
  const { body, RelaxedHash } = mailauthBodyModules();
  const originalBody = body.dkimBody;
  // The header canonicalization modules take formatRelaxedLine when they load: private copies of them too.
  const headerPaths = ['index.js', 'relaxed.js'].map((f) => require.resolve(`mailauth/lib/dkim/header/${f}`));
  // The verifier takes nodemailer's addressparser when it loads (a plain require): its module's exports are
  // the memoized one while the private verifier loads (dkim-headers.ts memoAddressParser).
  const addressPath = createRequire(verifierPath).resolve('nodemailer/lib/addressparser');
  const addressParser = require(addressPath) as AddressParser;
  const addressModule = require.cache[addressPath]!;
  const patch = () => {
    tools.getPublicKey = cache.getPublicKey;
    // The DKIM-Signature / ARC tag lists parsed without mailauth's per-character string building (dkim-tags.ts).
    tools.parseDkimHeaders = fastTagParser(originalTags);
    // Relaxed body hashes without mailauth's per-byte scan when no line needs fixing (dkim-body.ts).
    body.dkimBody = fastDkimBody(originalBody, RelaxedHash);
    addressModule.exports = memoAddressParser(addressParser, ADDRESS_MEMO_ENTRIES, ADDRESS_MEMO_MAX_LENGTH);
    // Relaxed header fields written in one pass instead of four regular expressions (dkim-headers.ts).
    tools.formatRelaxedLine = fastRelaxedLine(originalRelaxed);
    return () => {
      tools.getPublicKey = original;
      tools.parseDkimHeaders = originalTags;
      body.dkimBody = originalBody;
      addressModule.exports = addressParser;
      tools.formatRelaxedLine = originalRelaxed;
    };
  };
  const { Verifier, arcCheck } = loadPrivateCopies(
    require,
    [verifierPath, arcPath, ...headerPaths],
    patch,
    () => ({
      Verifier: (require(verifierPath) as { DkimVerifier: new (options: object) => DkimVerifierStream })
        .DkimVerifier,
      arcCheck: (require(arcPath) as { arc: CachedMailauth['arc'] }).arc,
    }),
  );
  const Fast = withFastScanning(Verifier);
  return {
    newDkimVerifier: (options) => new Fast(options),
    arc: arcCheck,
    stats: cache.stats,
  };
}

const CRLF = Buffer.from('\r\n');

/** The MessageParser state the scanning methods below share with mailauth's (lib/dkim/message-parser.js). */
interface ParserState {
  state: 'header' | 'body';
  headerChunks: Buffer[];
  headers: unknown;
  lastByte?: number;
  messageHeaders(headers: unknown): Promise<void>;
  nextChunk(chunk: Buffer): Promise<void>;
}

/**
 * mailauth's MessageParser finds the end of the header one byte at a time, keeping the last four in an array it
 * re-slices per byte (a third of the verifier's own CPU and most of its garbage on a 4 KiB message), and looks
 * for bare LFs one byte at a time too. These two methods do the same with Buffer.indexOf, with mailauth's exact
 * results, quirks included (a leading blank line does not end the header; a LF after CRLF LF is left bare):
 * test/unit/inbound/dkim-keys.test.ts compares them with mailauth's own on random input.
 */
// TypeScript's mixin rule: the base constructor must be typed `(...args: any[])`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function withFastScanning<T extends new (...args: any[]) => DkimVerifierStream>(Base: T): T {
  // mailauth's MessageParser with its state typed; `headerTail` is the last two header bytes seen (-1: none).
  const Scanning = class extends Base {
    headerTail: [number, number] = [-1, -1];

    async processChunk(this: ParserState & { headerTail: [number, number] }, chunk: Buffer): Promise<void> {
      if (!chunk || !chunk.length) return;
      if (this.state === 'header') {
        const end = headerEnd(this.headerTail, chunk);
        if (end < 0) {
          this.headerTail = [
            chunk.length > 1 ? chunk[chunk.length - 2]! : this.headerTail[1],
            chunk[chunk.length - 1]!,
          ];
          this.headerChunks.push(chunk);
          return;
        }
        this.state = 'body';
        this.headerChunks.push(end === chunk.length - 1 ? chunk : chunk.subarray(0, end + 1));
        this.headers = mailauthParseHeaders(Buffer.concat(this.headerChunks));
        await this.messageHeaders(this.headers);
        if (end === chunk.length - 1) return;
        chunk = chunk.subarray(end + 1);
      }
      await this.nextChunk(chunk);
    }

    *ensureLinebreaks(this: ParserState, input: Buffer): Generator<Buffer> {
      let pos = 0;
      // The last byte before each LF that is not itself a LF (mailauth never records a LF as lastByte).
      let lastNonLf = this.lastByte;
      let scanned = 0;
      for (let i = input.indexOf(0x0a); i >= 0; i = input.indexOf(0x0a, i + 1)) {
        // Bytes from `scanned` to i - 1 hold no LF (indexOf found none): the one before this LF counts, if any.
        if (i - 1 >= scanned) lastNonLf = input[i - 1];
        scanned = i + 1;
        if (lastNonLf !== 0x0d) {
          yield i === 0 || pos === i ? Buffer.from(CRLF) : Buffer.concat([input.subarray(pos, i), CRLF]);
          pos = i + 1;
        }
      }
      if (input.length - 1 >= scanned) lastNonLf = input[input.length - 1];
      this.lastByte = lastNonLf;
      if (pos === 0) yield input;
      else if (pos < input.length) yield input.subarray(pos);
    }
  };
  return Scanning as unknown as T;
}

/** Where the header ends in `chunk` (the index of the LF of LF LF or LF CR LF), or -1; `tail`: bytes before it. */
function headerEnd(tail: readonly [number, number], chunk: Buffer): number {
  for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) {
    const b1 = i >= 1 ? chunk[i - 1]! : tail[1];
    const b2 = i >= 2 ? chunk[i - 2]! : i === 1 ? tail[1] : tail[0];
    if (b1 === 0x0a || (b1 === 0x0d && b2 === 0x0a)) return i;
  }
  return -1;
}

let mailauthParseHeaders: (buf: Buffer) => unknown = () => {
  throw new Error('mailauth tools not loaded');
};

let shared: CachedMailauth | undefined;

/** The process's one cached verifier (keys are a function of the record text alone, so every resolver shares it). */
export function cachedMailauth(): CachedMailauth {
  shared ??= loadCachedMailauth();
  return shared;
}
