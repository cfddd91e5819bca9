// newSessionId: 12 hex digits per connection from a pooled CSPRNG, all different across pool refills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newSessionId } from '../../../src/net/session-id.js';

test('session ids are 12 hex digits and do not repeat across many pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const id = newSessionId();
    assert.match(id, /^[0-9a-f]{12}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 5000);
});
