// The test helper's freePorts: ports below the OS's ephemeral range, so no outgoing connection can take one before the server listens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePorts } from '../../helpers/mailroom-process.js';

test('freePorts: distinct ports below the ephemeral range, each free to listen on', async () => {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports = await freePorts(8);
  assert.equal(new Set(ports).size, 8);
  for (const port of ports) {
    // A port from a port-0 bind lies inside the range, where the suite's connections take source ports.
    assert.ok(port >= 10_000 && port < low, `${port} below ${low}`);
    await new Promise<void>((done, fail) => {
      const server = createServer();
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => server.close(() => done()));
    });
  }
});
