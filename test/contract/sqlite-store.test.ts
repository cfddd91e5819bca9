// Runs the Store contract suite against the embedded SQLite store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runStoreContract } from './store-contract.js';
import { runQueueContract } from './queue-contract.js';
import { runMailContract } from './mail-contract.js';
import { runRecentContract } from './recent-contract.js';
import { runInternalDateContract } from './internal-date-contract.js';
import { runSubscriptionsContract } from './subscriptions-contract.js';
import { runUploadsContract } from './uploads-contract.js';
import { runJmapContract } from './jmap-contract.js';

const INLINE_MAX = 8 * 1024;
const dirs: string[] = [];

const harness: Parameters<typeof runStoreContract>[1] = {
  async newLocation() {
    const dir = await mkdtemp(join(tmpdir(), 'mailroom-contract-'));
    dirs.push(dir);
    return dir;
  },
  open: (dataDir, clock) => openSqliteStore({ dataDir, clock, inlineMaxBytes: INLINE_MAX }),
  largeBodyBytes: INLINE_MAX,
  async cleanup() {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  },
};
runStoreContract('sqlite', harness);
runQueueContract('sqlite', harness);
runMailContract('sqlite', harness);
runRecentContract('sqlite', harness);
runInternalDateContract('sqlite', harness);
runSubscriptionsContract('sqlite', harness);
runUploadsContract('sqlite', harness);
runJmapContract('sqlite', harness);
