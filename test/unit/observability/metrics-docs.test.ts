// Every Mailroom metric the registry holds is listed in docs/metrics.md (DESIGN habit 18: what users read is where they look).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createMetrics } from '../../../src/observability/metrics.js';

test('docs/metrics.md names every mailroom_* metric, and no metric that does not exist', async () => {
  const docs = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
  const registered = (await createMetrics().registry.getMetricsAsJSON())
    .map((m) => m.name)
    .filter((n) => n.startsWith('mailroom_'))
    .sort();
  const documented = [...new Set([...docs.matchAll(/`(mailroom_[a-z_]+)`/g)].map((m) => m[1]!))].sort();
  assert.ok(registered.length >= 10);
  assert.deepEqual(documented, registered);
});
