// Queue ids: time-ordered, unique per process, in the Received header and every log line about a message.
import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * Queue ids: 10 base32 characters of milliseconds since the epoch, then 10 of randomness (50 bits),
 * Crockford alphabet (no I, L, O, U: safe to read aloud and in headers). They sort by time, so a
 * log or a queue listing in id order is in arrival order; within one millisecond the random part
 * is incremented instead of redrawn, so ids stay strictly increasing. Clock and randomness are
 * parameters (DESIGN habit 10).
 */
export function createQueueIdGenerator(
  now: () => number = Date.now,
  random: (bytes: number) => Buffer = randomBytes,
): () => string {
  let lastTime = -1;
  let lastRandom = 0n;
  const RANDOM_BITS = 50n;
  return () => {
    let time = now();
    if (time < lastTime) time = lastTime; // a clock stepping back must not break ordering
    let value: bigint;
    if (time === lastTime) {
      value = (lastRandom + 1n) & ((1n << RANDOM_BITS) - 1n);
      if (value === 0n) time = lastTime + 1; // 2^50 ids in one ms: borrow the next millisecond
    } else {
      value = BigInt(`0x${random(7).toString('hex')}`) & ((1n << RANDOM_BITS) - 1n);
    }
    lastTime = time;
    lastRandom = value;
    return encode(BigInt(time), 10) + encode(value, 10);
  };
}

function encode(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = CROCKFORD[Number(value & 31n)]! + out;
    value >>= 5n;
  }
  return out;
}
