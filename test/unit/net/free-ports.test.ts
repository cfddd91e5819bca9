// The test helper's freePorts: ports below the OS's ephemeral range, so no outgoing connection can take one before the server listens,
// and claimed across test processes, so no two draw the same one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { CLAIMS_DIR, claimPort } from '../../helpers/free-ports.js';
import { freePorts } from '../../helpers/mailroom-process.js';

const HELPER = resolve(import.meta.dirname, '../../helpers/free-ports.ts');

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

test('claimPort: a port handed out by a live test process is refused to the others; a dead one is taken over', async () => {
  const port = 10_000 + Math.floor(Math.random() * 1000); // a claim only: nothing listens on it here
  const file = join(CLAIMS_DIR, String(port));
  rmSync(file, { force: true });
  assert.equal(claimPort(port), true);
  assert.equal(readFileSync(file, 'utf8'), String(process.pid));
  // Another test process asks for the same port while this one lives.
  const other = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import('${HELPER}').then((m) => process.stdout.write(String(m.claimPort(${port}))))`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(other.stdout, 'false', other.stderr);
  // A claim whose process has exited (its pid gone) is taken over.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  writeFileSync(file, dead.stdout);
  assert.equal(claimPort(port), true);
  assert.equal(readFileSync(file, 'utf8'), String(process.pid));
  rmSync(file, { force: true });
});
