// What loading the command line costs: mailauth (DKIM/SPF/ARC) loads at its first use, not with every command (issue 12).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

test('importing cli/main (as `serve` does) loads no mailauth module', () => {
  // A child, so modules this test process already loaded do not count. mailauth is CommonJS, so what it
  // loaded is in require.cache. `doctor` used to import its SPF code at the top: ~5 MiB of heap in
  // every `serve`, idle or not, for a command that never runs there.
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(MAIN)});
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    process.stdout.write(JSON.stringify(loaded.filter((k) => /node_modules[\\\\/]mailauth[\\\\/]/.test(k))));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.deepEqual(JSON.parse(out), []);
});
