// GET /healthz on [metrics] (CONTRACT.md): 200 once the server is ready, 503 from the moment shutdown begins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { lineClient, startObservedServer } from '../helpers/observed-server.js';

test('/healthz: 200 "ready" while serving, 503 "stopping" while a session drains, then the listener is gone', async () => {
  const s = await startObservedServer(9); // no remote mail in this test: the route is never used
  try {
    const ready = await s.get('/healthz');
    assert.deepEqual([ready.status, ready.body], [200, 'ready\n']);
    // An open SMTP session keeps shutdown draining (it waits for the session after its 421).
    const session = await lineClient(s.port('smtp'));
    await session.send('EHLO client.test');
    const stopped = s.server.shutdown();
    const draining = await s.get('/healthz');
    assert.deepEqual([draining.status, draining.body], [503, 'stopping\n']);
    // Scraping still works while stopping (the store may be closing: the queue reads are skipped then).
    assert.equal((await s.get('/metrics')).status, 200);
    session.close();
    await stopped;
    await assert.rejects(s.get('/healthz')); // refused (or a kept-alive socket hung up)
  } finally {
    await s.server.shutdown();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
