// WebSocket frame reader under random input and random splits (fast-check): it never throws, and the split never matters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeClientFrame, FrameReader, OPCODE, type WsEvent } from '../../src/http/websocket/frames.js';

const reader = () => new FrameReader({ maxMessageBytes: 4096, requireMask: true });

function readAll(pieces: Buffer[]): WsEvent[] {
  const r = reader();
  return pieces.flatMap((p) => r.push(p));
}

function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}

test('random bytes: no exception, at most one error or close and nothing after it', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      const events = readAll(cut(Buffer.from(bytes), cuts));
      const ends = events.filter((e) => e.kind === 'error' || e.kind === 'close');
      assert.ok(ends.length <= 1);
      if (ends.length === 1) assert.equal(events[events.length - 1], ends[0]);
    }),
    { numRuns: 500 },
  );
});

test('random well-formed frames: the same events at any split', () => {
  const frame = fc.oneof(
    fc.string({ maxLength: 200 }).map((s) => ({ op: OPCODE.text, data: Buffer.from(s) })),
    fc.uint8Array({ maxLength: 125 }).map((b) => ({ op: OPCODE.ping, data: Buffer.from(b) })),
    fc.uint8Array({ maxLength: 300 }).map((b) => ({ op: OPCODE.binary, data: Buffer.from(b) })),
  );
  fc.assert(
    fc.property(
      fc.array(frame, { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      (frames, cuts, mask) => {
        const bytes = Buffer.concat(frames.map((f) => encodeClientFrame(f.op, f.data, Buffer.from(mask))));
        assert.deepEqual(readAll(cut(bytes, cuts)), readAll([bytes]));
        assert.equal(readAll([bytes]).length, frames.length);
      },
    ),
    { numRuns: 300 },
  );
});
