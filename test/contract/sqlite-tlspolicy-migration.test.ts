// Migration 17 (outbound TLS policy): a database one version older keeps its queue (require_tls 0) and gains the MTA-STS cache and TLS-RPT counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { assertSchemaCurrent, databaseBefore } from '../helpers/old-schema.js';

test('migration 17: queued messages from before are not REQUIRETLS; the policy cache and TLS-RPT counts work', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-m20-'));
  try {
    // The schema as it was before this migration, with one queued message.
    const old = databaseBefore(dir, 'require_tls');
    old.exec(
      "INSERT INTO blobs (size, head, body, file) VALUES (5, x'', x'68656c6c6f', NULL);" +
        "INSERT INTO queue (id, blob_id, blob_offset, size, sender, created_at) VALUES ('Q1', 1, 0, 5, 'a@a.test', 0);" +
        "INSERT INTO queue_recipients (queue_id, address, state, attempts, next_attempt_at) VALUES ('Q1', 'b@b.test', 'pending', 0, 0);",
    );
    old.close();

    const store = openSqliteStore({ dataDir: dir });
    try {
      assertSchemaCurrent(dir);
      const due = store.queue.due(new Date(1), 10);
      assert.equal(due.length, 1);
      assert.equal(due[0]?.requireTls, undefined);
      store.tlsPolicy.putStsPolicy('b.test', {
        id: 'x',
        mode: 'enforce',
        mx: ['mx.b.test'],
        maxAgeS: 60,
        fetchedAt: 5,
      });
      assert.deepEqual(store.tlsPolicy.getStsPolicy('b.test'), {
        id: 'x',
        mode: 'enforce',
        mx: ['mx.b.test'],
        maxAgeS: 60,
        fetchedAt: 5,
      });
      const result = {
        day: '2026-12-04',
        policyDomain: 'b.test',
        policyType: 'sts' as const,
        policyStrings: ['mode: enforce'],
        mxHost: 'mx.b.test',
        result: 'success',
        receivingIp: '',
        reason: '',
      };
      store.tlsPolicy.recordTlsResult(result);
      store.tlsPolicy.recordTlsResult(result);
      assert.deepEqual(store.tlsPolicy.tlsResultDaysBefore('2026-12-05'), ['2026-12-04']);
      assert.equal(store.tlsPolicy.tlsResults('2026-12-04')[0]?.count, 2);
      store.tlsPolicy.deleteTlsResults('2026-12-04', 'b.test');
      assert.deepEqual(store.tlsPolicy.tlsResultDaysBefore('2026-12-05'), []);
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
