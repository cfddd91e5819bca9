// Part blob ids (src/jmap/mail/email-blobs.ts): "<blob>_<partId>", nested at most MAX_PART_NESTING deep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PART_NESTING, parsePartBlobId, partBlobId } from '../../../../src/jmap/mail/email-blobs.js';

test('part blob ids: round trip, nesting, and refusals', () => {
  assert.deepEqual(parsePartBlobId(partBlobId('B2b', '3')), { blobId: 'B2b', partId: '3' });
  assert.deepEqual(parsePartBlobId('U7_2_1'), { blobId: 'U7_2', partId: '1' });
  for (const bad of ['B2b', 'B2b_0', 'B2b_', '_1', 'B2b_x', 'B2b__1', 'B2b_1234567']) {
    assert.equal(parsePartBlobId(bad), null, bad);
  }
  const deep = (n: number) => `B1${'_1'.repeat(n)}`;
  assert.notEqual(parsePartBlobId(deep(MAX_PART_NESTING)), null);
  assert.equal(parsePartBlobId(deep(MAX_PART_NESTING + 1)), null);
  assert.equal(parsePartBlobId(deep(120)), null);
});
