// JSON of a JMAP Response as UTF-8 bytes, written straight into a buffer, reusing the bytes of objects that never change.

/*
 * Why: a JMAP worker turned every answer into one JSON string and then into UTF-8 (jmap-worker.ts). For
 * issue 9's page (50 Emails, ~17 KB) that was a quarter of the worker's CPU, and the strings and their
 * garbage another quarter (its scavenges), although the 50 Email objects were the same objects request
 * after request (Email/get keeps them while the account's Email state is unchanged, state-cache.ts).
 * An object handed to memoizeJson is one its owner never changes again: its JSON is encoded once, when
 * first written, and later answers copy those bytes. Everything else is written as JSON.stringify would
 * write it: the result is byte for byte JSON.stringify's (test/unit/jmap/core/json-bytes.test.ts).
 */

/** Objects that never change -> their JSON as UTF-8 (null until first written). */
const memo = new WeakMap<object, Uint8Array | null>();
const utf8 = new TextEncoder();

/**
 * Promises that `value` (and everything it holds) is never changed again, so its JSON may be encoded
 * once and reused. Only for objects shared read-only anyway (e.g. a cache's entries).
 */
export function memoizeJson(value: object): void {
  if (!memo.has(value)) memo.set(value, null);
}

/**
 * How deep containers are walked to find memoized objects: a Response (0) -> methodResponses (1) -> an
 * invocation (2) -> its arguments (3) -> a list (4) -> an object of the list (5). Deeper, and for
 * containers of no memoized object, JSON.stringify writes the whole value at once.
 */
const WALK_DEPTH = 5;

/** A growable byte buffer over a given ArrayBuffer (a JMAP worker's recycled answer buffer). */
export class ByteSink {
  private bytes: Buffer;
  /** Bytes written so far. */
  length = 0;
  /** True once the first buffer was too small and a larger one was allocated. */
  grown = false;

  constructor(buffer: ArrayBuffer) {
    this.bytes = Buffer.from(buffer);
  }

  /** The written bytes: a view at the start of the current buffer (the given one unless grown). */
  view(): Uint8Array {
    return new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.length);
  }

  /** Appends a string as UTF-8. */
  text(s: string): void {
    // At most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units); when that may not fit, count.
    if (this.length + s.length * 3 > this.bytes.length) this.reserve(Buffer.byteLength(s));
    this.length += this.bytes.write(s, this.length, 'utf8');
  }

  /** Appends one ASCII character. */
  char(code: number): void {
    this.reserve(1);
    this.bytes[this.length++] = code;
  }

  /** Appends bytes. */
  copy(b: Uint8Array): void {
    this.reserve(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const next = Buffer.from(new ArrayBuffer(Math.max(this.bytes.length * 2, this.length + n)));
    this.bytes.copy(next, 0, 0, this.length);
    this.bytes = next;
    this.grown = true;
  }
}

const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** True for values JSON.stringify leaves out of an object (and writes as null in an array). */
const skipped = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/** An array, or an object of no class (the JSON a JMAP method returns); anything else is stringified whole. */
function plain(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Appends `value`'s JSON (exactly JSON.stringify(value)'s text) to `sink`. `value` must be something
 * JSON.stringify turns into text (not undefined); like it, throws on a cycle or a BigInt.
 */
export function writeJson(value: unknown, sink: ByteSink): void {
  write(value, 0, sink);
}

function write(value: unknown, depth: number, sink: ByteSink): void {
  if (typeof value !== 'object' || value === null) {
    sink.text(JSON.stringify(value));
    return;
  }
  const known = memo.get(value);
  if (known !== undefined) {
    let bytes = known;
    if (bytes === null) memo.set(value, (bytes = utf8.encode(JSON.stringify(value))));
    sink.copy(bytes);
    return;
  }
  // toJSON (a Date) and boxed primitives change what is written: JSON.stringify knows them all.
  if (depth >= WALK_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === 'function' || !plain(value)) {
    sink.text(JSON.stringify(value));
    return;
  }
  if (Array.isArray(value)) {
    // Ids, keywords and the like: one call for the whole array (memoized objects are objects).
    if (!value.some((item) => typeof item === 'object' && item !== null)) {
      sink.text(JSON.stringify(value));
      return;
    }
    sink.char(OPEN_ARRAY);
    for (let i = 0; i < value.length; i++) {
      if (i > 0) sink.char(COMMA);
      const item: unknown = value[i];
      if (skipped(item)) sink.text('null');
      else write(item, depth + 1, sink);
    }
    sink.char(CLOSE_ARRAY);
    return;
  }
  sink.char(OPEN_OBJECT);
  let first = true;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (skipped(item)) continue;
    if (!first) sink.char(COMMA);
    first = false;
    sink.text(JSON.stringify(key));
    sink.char(COLON);
    write(item, depth + 1, sink);
  }
  sink.char(CLOSE_OBJECT);
}

/** True when `value` was handed to memoizeJson (tests). */
export function isMemoizedJson(value: object): boolean {
  return memo.has(value);
}
