// Migration 24 (DMARC aggregate reports): a database one version older keeps its TLS-RPT counts and gains the DMARC report counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { assertSchemaCurrent, databaseBefore } from '../helpers/old-schema.js';

test('migration 24: an older database keeps its TLS-RPT counts; DMARC report rows count, list and delete', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-m25-'));
  try {
    const old = databaseBefore(dir, 'CREATE TABLE dmarc_report_rows');
    old.exec(
      "INSERT INTO tls_rpt_results VALUES ('2026-12-04', 'b.test', 'sts', '[]', 'mx.b.test', 'success', '', '', 3)",
    );
    old.close();

    const store = openSqliteStore({ dataDir: dir });
    try {
      assertSchemaCurrent(dir);
      assert.equal(store.tlsPolicy.tlsResults('2026-12-04')[0]?.count, 3);
      const row = {
        day: '2026-12-04',
        policyDomain: 's.test',
        sourceIp: '192.0.2.1',
        headerFrom: 's.test',
        disposition: 'none' as const,
        dkimAligned: 'pass' as const,
        spfAligned: 'fail' as const,
        policy: { p: 'none' as const, pct: 100, adkim: 'r' as const, aspf: 'r' as const },
        dkim: [{ domain: 's.test', result: 'pass' }],
        spf: { domain: 's.test', result: 'fail' },
      };
      store.dmarcReports.recordDmarcResult(row);
      store.dmarcReports.recordDmarcResult(row);
      store.dmarcReports.recordDmarcResult({ ...row, sourceIp: '192.0.2.2' });
      assert.deepEqual(store.dmarcReports.dmarcResultDaysBefore('2026-12-05'), ['2026-12-04']);
      assert.deepEqual(store.dmarcReports.dmarcResults('2026-12-04'), [
        { ...row, count: 2 },
        { ...row, sourceIp: '192.0.2.2', count: 1 },
      ]);
      store.dmarcReports.deleteDmarcResults('2026-12-04', 's.test');
      assert.deepEqual(store.dmarcReports.dmarcResultDaysBefore('2026-12-05'), []);
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
