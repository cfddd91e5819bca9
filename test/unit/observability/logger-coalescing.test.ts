// The server's stdout log: the lines of 10 ms go out in one write, and none is lost at exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LOG_FLUSH_MS } from '../../../src/config/limits.js';
import { coalescingDestination } from '../../../src/observability/logger.js';

const LOGGER = fileURLToPath(new URL('../../../src/observability/logger.ts', import.meta.url));

test('lines written before the flush reach the destination in one write, in order; later ones in another', async () => {
  const writes: string[] = [];
  const dest = coalescingDestination({ write: (text: string) => writes.push(text) }, setImmediate);
  dest.write('a\n');
  dest.write('b\n');
  dest.write('c\n');
  assert.deepEqual(writes, [], 'nothing before the end of the turn');
  await new Promise((done) => setImmediate(done));
  assert.deepEqual(writes, ['a\nb\nc\n']);
  dest.write('d\n');
  dest.flushSync();
  assert.deepEqual(writes, ['a\nb\nc\n', 'd\n']);
  await new Promise((done) => setImmediate(done));
  assert.equal(writes.length, 2, 'a flushed line is not written twice');
});

function runChild(body: string): { status: number | null; stdout: string; stderr: string } {
  // A child process, since the default destination is the process's stdout: it counts the writes to fd 1
  // (fs.write by pino's asynchronous destination, fs.writeSync at exit), printed after every exit handler.
  const script = `
    const fs = require('node:fs');
    let writes = 0;
    for (const name of ['write', 'writeSync']) {
      const real = fs[name];
      fs[name] = (fd, ...rest) => { if (fd === 1) writes++; return real(fd, ...rest); };
    }
    import(${JSON.stringify(LOGGER)}).then(async ({ createLogger }) => {
      const logger = createLogger({ level: 'info' });
      process.on('exit', () => fs.writeSync(2, 'writes=' + writes + '\\n'));
      ${body}
    });`;
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
}

function indexes(stdout: string): number[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { i: number }).i);
}

test("`mailroom serve`'s logger: 200 lines over several turns within 10 ms are one write to stdout", () => {
  const r = runChild(`
      const started = performance.now();
      for (let i = 0; i < 200; i++) {
        logger.info({ event: 'delivered', i }, 'delivered');
        if (i % 50 === 49) await new Promise((done) => setImmediate(done));
      }
      fs.writeSync(2, 'elapsed=' + (performance.now() - started) + '\\n');
      await new Promise((done) => setTimeout(done, 200));`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    indexes(r.stdout),
    Array.from({ length: 200 }, (_, i) => i),
  );
  const writes = Number(/writes=(\d+)\n/.exec(r.stderr)?.[1]);
  const elapsed = Number(/elapsed=([\d.]+)\n/.exec(r.stderr)?.[1]);
  // The four turns normally take well under LOG_FLUSH_MS: one write. A machine so busy that they spread over
  // more (CI's parallel tests preempting this child) gets one write per window they spanned, never one per line.
  if (elapsed < LOG_FLUSH_MS) assert.equal(writes, 1, r.stderr);
  else assert.ok(writes <= 1 + Math.ceil(elapsed / LOG_FLUSH_MS), r.stderr);
});

test('process.exit in the same turn as the lines loses none, and keeps their order', () => {
  const r = runChild(`
      logger.info({ i: 0 }, 'first');
      await new Promise((done) => setTimeout(done, 100));
      for (let i = 1; i < 100; i++) logger.info({ i }, 'line');
      process.exit(0);`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    indexes(r.stdout),
    Array.from({ length: 100 }, (_, i) => i),
  );
});
