// mailauth's relaxed body hash (RFC 6376 3.4.4) with its per-byte scan replaced by Buffer.indexOf where the bytes need no fixing.
import { createRequire } from 'node:module';

/** The RelaxedHash state the fast update shares with mailauth's (lib/dkim/body/relaxed.js, 4.13). */
interface RelaxedHashState {
  byteLength: number;
  maxSizeReached: boolean;
  remainder: Buffer | false;
  bodyHashedBytes: number;
  update(chunk: Buffer | null, final?: boolean): void;
  _pushBodyHash(chunk: Buffer): void;
  _updateBodyHash(chunk: Buffer): void;
}

type RelaxedHashClass = new (algorithm?: string, maxBodyLength?: number | '') => RelaxedHashState;

/** mailauth's body hasher factory (lib/dkim/body/index.js dkimBody). */
export type DkimBodyFactory = (canonicalization: string, ...options: unknown[]) => unknown;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const TWO_SPACES = Buffer.from('  ');
const CRLF = [CR, LF];

/**
 * True when mailauth's scan of `data` (RelaxedHash.update) would mark no line as needing a fix: no TAB, no two
 * spaces in a row, and every LF preceded by CR, with no space before that CR, and not the chunk's first byte (its
 * conditions, byte for byte). Then relaxed canonicalization leaves these bytes as they are (RFC 6376 3.4.4: no
 * WSP to reduce or strip before a line end) and the hash may take them whole.
 */
export function needsNoFix(data: Buffer): boolean {
  if (data.indexOf(TAB) >= 0 || data.indexOf(TWO_SPACES) >= 0) return false;
  for (let i = data.indexOf(LF); i >= 0; i = data.indexOf(LF, i + 1)) {
    if (i === 0 || data[i - 1] !== CR || (i >= 2 && data[i - 2] === SPACE)) return false;
  }
  return true;
}

/**
 * A subclass of mailauth's RelaxedHash whose update() finds, with Buffer.indexOf (native), whether any line of the
 * chunk needs fixing; when none does (the usual message), it hashes the complete lines as one piece, exactly what
 * mailauth's per-byte loop then does; otherwise mailauth's own update() runs on the same bytes. Why: that loop was
 * ~13 us of a 4 KiB body's ~14 us hash (the SHA-256 itself ~4 us). Its results - digest, hashed and total lengths,
 * the MIME structure start - are unchanged: test/unit/inbound/dkim-body.test.ts compares them on random input.
 */
export function fastRelaxedHash(RelaxedHash: RelaxedHashClass): RelaxedHashClass {
  return class FastRelaxedHash extends RelaxedHash {
    override update(chunk: Buffer | null, final?: boolean): void {
      const added = chunk?.length ?? 0;
      if (this.maxSizeReached) {
        this.byteLength += added;
        return;
      }
      // As mailauth: the partial line kept from the last chunk goes first.
      let data = chunk;
      if (this.remainder && this.remainder.length) {
        data = chunk ? Buffer.concat([this.remainder, chunk]) : this.remainder;
      }
      this.remainder = false;
      if (!data || data.length === 0 || !needsNoFix(data)) {
        // mailauth's loop on the same bytes; it counts what it is given, and only `added` bytes are new.
        this.byteLength -= (data?.length ?? 0) - added;
        super.update(data, final);
        return;
      }
      this.byteLength += added;
      // What mailauth's loop leaves when no line needs fixing: every complete line in one piece, the rest kept.
      const lineEnd = data.lastIndexOf(LF);
      let cursor = 0;
      if (lineEnd >= 0) {
        this._pushBodyHash(data.subarray(0, lineEnd + 1));
        cursor = lineEnd + 1;
      }
      if (!final) {
        if (cursor < data.length) this.remainder = data.subarray(cursor);
        return;
      }
      // mailauth's final step: the last line, without its line break (one is added to a non-empty body).
      const rest = data.subarray(cursor);
      if (rest.length) this._pushBodyHash(rest);
      if (this.bodyHashedBytes) this._updateBodyHash(Buffer.from(CRLF));
    }
  };
}

/**
 * mailauth's dkimBody with relaxed body hashes made by `fastRelaxedHash`; simple ones (and unknown names, which
 * throw) by mailauth's own factory. The canonicalization name is read as dkimBody reads it.
 */
export function fastDkimBody(original: DkimBodyFactory, RelaxedHash: RelaxedHashClass): DkimBodyFactory {
  const Fast = fastRelaxedHash(RelaxedHash);
  return (canonicalization, ...options) => {
    const name = (canonicalization || 'simple/simple').toString().split('/').pop()!.toLowerCase().trim();
    if (name !== 'relaxed') return original(canonicalization, ...options);
    return new Fast(...(options as [string?, (number | '')?]));
  };
}

/** mailauth's body module (lib/dkim/body/index.js) and its RelaxedHash, as dkim-keys.ts patches them in. */
export function mailauthBodyModules(): {
  body: { dkimBody: DkimBodyFactory };
  RelaxedHash: RelaxedHashClass;
  bodyPath: string;
} {
  const require = createRequire(import.meta.url);
  const bodyPath = require.resolve('mailauth/lib/dkim/body/index.js');
  // mailauth is CommonJS without types for its internals; these shapes are what 4.13 exports.
  const body = require(bodyPath) as { dkimBody: DkimBodyFactory };
  const { RelaxedHash } = require('mailauth/lib/dkim/body/relaxed.js') as { RelaxedHash: RelaxedHashClass };
  return { body, RelaxedHash, bodyPath };
}
