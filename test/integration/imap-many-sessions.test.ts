// Many IMAP sessions on one mailbox: store listeners return to baseline when they end, and no MaxListeners warning (issue 8 item 10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startImapServer } from '../helpers/imap-server.js';
import { hashPassword } from '../../src/auth/password-hash.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { RawImap } from '../helpers/imap-raw.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const SESSIONS = 30;

function listenerCount(store: {
  events: { eventNames(): (string | symbol)[]; listenerCount(e: string | symbol): number };
}): number {
  return store.events.eventNames().reduce((n, e) => n + store.events.listenerCount(e), 0);
}

test(`${SESSIONS} sessions idling on one mailbox: no MaxListeners warning, listeners back to baseline after close`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-imap-many-'));
  const store = openSqliteStore({ dataDir: dir });
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  const server = await startImapServer(store);
  try {
    store.addDomain('example.test');
    store.addAccount('bob@example.test', await hashPassword('secret', { params: PARAMS }));
    const port = server.port;
    const baseline = listenerCount(store);
    const clients: RawImap[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const c = await RawImap.open(port);
      assert.equal((await c.command('LOGIN bob@example.test secret')).status, 'OK');
      assert.equal((await c.command('SELECT INBOX')).status, 'OK');
      const tag = c.nextTag();
      c.write(`${tag} IDLE\r\n`);
      assert.match(await c.line(), /^\+ /);
      clients.push(c);
    }
    // Half end with DONE + LOGOUT, half just drop the connection (a phone losing its network).
    for (const [i, c] of clients.entries()) {
      if (i % 2 === 0) {
        c.write('DONE\r\n');
        await c.command('LOGOUT').catch(() => undefined);
      }
      c.close();
    }
    const deadline = Date.now() + 5_000;
    while ((server.openConnections() > 0 || listenerCount(store) !== baseline) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    assert.equal(server.openConnections(), 0);
    assert.equal(listenerCount(store), baseline, 'store listeners back to baseline');
    assert.deepEqual(
      warnings.map((w) => `${w.name}: ${w.message}`),
      [],
      'no process warning',
    );
  } finally {
    process.off('warning', onWarning);
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
