// Queue ids: time-ordered, unique per process, in the Received header and every log line about a message.
import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** The random part's range: 50 bits, 10 base32 characters. */
const RANDOM_SPAN = 2 ** 50;

/**
 * Queue ids: 10 base32 characters of milliseconds since the epoch, then 10 of randomness (50 bits),
 * Crockford alphabet (no I, L, O, U: safe to read aloud and in headers). They sort by time, so a
 * log or a queue listing in id order is in arrival order; within one millisecond the random part
 * is incremented instead of redrawn, so ids stay strictly increasing. Clock and randomness are
 * parameters (DESIGN habit 10).
 */
export function createQueueIdGenerator(
  now: () => number = Date.now,
  random: (bytes: number) => Buffer = pooledRandomBytes(),
): () => string {
  let lastTime = -1;
  let lastRandom = 0;
  // Plain numbers, not BigInt: both parts fit in 50 bits, below 2^53, so every step is exact, and the
  // BigInt version allocated a new BigInt per shift and per character for every message (issue 9's SMTP CPU).
  return () => {
    let time = now();
    if (time < lastTime) time = lastTime; // a clock stepping back must not break ordering
    let value: number;
    if (time === lastTime) {
      value = (lastRandom + 1) % RANDOM_SPAN;
      if (value === 0) time = lastTime + 1; // 2^50 ids in one ms: borrow the next millisecond
    } else {
      // The low 50 bits of the 7 random bytes read big-endian: 2 bits of the first, then 48.
      const bytes = random(7);
      value = ((bytes[0] ?? 0) & 0x03) * 2 ** 48 + bytes.readUIntBE(1, 6);
    }
    lastTime = time;
    lastRandom = value;
    return encode(time, 10) + encode(value, 10);
  };
}

/** Bytes drawn from the system at once by pooledRandomBytes: 146 ids' worth of 7 bytes. */
export const RANDOM_POOL_BYTES = 1022;

/**
 * randomBytes(n) served from a pool refilled `poolBytes` at a time. One crypto.randomBytes call per
 * message (a Buffer, then OpenSSL's RAND_bytes under its lock) was ~1% of the SMTP main thread at load (a);
 * the bytes are the same CSPRNG's, only drawn in bulk. The returned Buffer is a view into the pool: read it
 * at once, do not keep it (the generator above reads 7 bytes and drops them).
 */
export function pooledRandomBytes(
  source: (bytes: number) => Buffer = randomBytes,
  poolBytes = RANDOM_POOL_BYTES,
): (bytes: number) => Buffer {
  let pool: Buffer = Buffer.alloc(0);
  let used = 0;
  return (bytes) => {
    if (bytes > poolBytes) return source(bytes);
    if (used + bytes > pool.length) {
      pool = source(poolBytes);
      used = 0;
    }
    const out = pool.subarray(used, used + bytes);
    used += bytes;
    return out;
  };
}

/** The low 5 * length bits of a whole number below 2^53, in Crockford base32, most significant first. */
function encode(value: number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = CROCKFORD[value % 32]! + out;
    value = Math.floor(value / 32);
  }
  return out;
}
