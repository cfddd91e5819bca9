// ChangePoller: JMAP changes made by another process (a second store on the same data_dir) become `changes` events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChangePoller, type PollTimers } from '../../../src/store/change-poller.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { StoreEvents } from '../../../src/store/store.js';

function fakeTimers(): PollTimers & { fire(): void; active: number } {
  const fns = new Map<number, () => void>();
  let next = 1;
  return {
    setInterval(fn) {
      fns.set(next, fn);
      return next++;
    },
    clearInterval(h) {
      fns.delete(h as number);
    },
    fire() {
      for (const fn of fns.values()) fn();
    },
    get active() {
      return fns.size;
    },
  };
}

test('a change committed by another process is announced once at the next poll; own changes are not repeated', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-poll-'));
  const server = openSqliteStore({ dataDir: dir });
  const cli = openSqliteStore({ dataDir: dir });
  try {
    server.addDomain('example.test');
    const bob = server.addAccount('bob@example.test', 'h').id;
    const timers = fakeTimers();
    const poller = new ChangePoller(server, 1000, timers);
    const seen: Array<StoreEvents['changes'][0]> = [];
    server.events.on('changes', (e) => seen.push(e));
    const stop = poller.watch(bob);
    assert.equal(timers.active, 1);

    timers.fire();
    assert.equal(seen.length, 0, 'nothing changed');
    cli.mail.createMailbox(bob, 'FromCli'); // the CLI process
    assert.equal(seen.length, 0, 'another process: no event yet');
    timers.fire();
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]?.states, server.jmap.states(bob));
    timers.fire();
    assert.equal(seen.length, 1, 'announced once');

    server.mail.createMailbox(bob, 'Local'); // this process: the store's own event
    assert.equal(seen.length, 2);
    timers.fire();
    assert.equal(seen.length, 2, 'not repeated by the poll');

    stop();
    assert.equal(timers.active, 0, 'no watcher, no timer');
    poller.close();
  } finally {
    await cli.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
