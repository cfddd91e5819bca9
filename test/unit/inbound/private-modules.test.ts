// loadPrivateCopies: a module that takes a function from another at load keeps the patched one in its private copy;
// the patched module and the module cache are as they were afterwards, for everyone else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPrivateCopies } from '../../../src/inbound/private-modules.js';

test('the private copy keeps the patch; the originals and the cache come back, also when loading throws', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-private-modules-'));
  try {
    writeFileSync(join(dir, 'tools.js'), "module.exports = { shout: (s) => s + '!' };\n");
    // As mailauth's modules do: the function is taken from tools when this module loads.
    writeFileSync(
      join(dir, 'user.js'),
      "const { shout } = require('./tools.js');\nmodule.exports = { run: (s) => shout(s) };\n",
    );
    writeFileSync(join(dir, 'broken.js'), "require('./tools.js');\nthrow new Error('cannot load');\n");
    const require = createRequire(join(dir, 'index.js'));
    const tools = require('./tools.js') as { shout(s: string): string };
    const original = tools.shout;
    const shared = require('./user.js') as { run(s: string): string };
    const userPath = require.resolve('./user.js');
    const patch = () => {
      tools.shout = (s: string) => s.toUpperCase();
      return () => (tools.shout = original);
    };
    const mine = loadPrivateCopies(require, [userPath], patch, () => require(userPath) as typeof shared);
    assert.equal(mine.run('hi'), 'HI', 'the private copy took the patched function');
    assert.notEqual(mine, shared);
    assert.equal(shared.run('hi'), 'hi!', 'the shared copy keeps the original');
    assert.equal(tools.shout, original, 'the patch is undone');
    assert.equal(require(userPath), shared, 'the cache holds the shared copy again');

    const brokenPath = require.resolve('./broken.js');
    assert.throws(
      () => loadPrivateCopies(require, [brokenPath], patch, () => require(brokenPath)),
      /cannot load/,
    );
    assert.equal(tools.shout, original, 'undone when loading throws');
    assert.equal(require.cache[brokenPath], undefined, 'a module not cached before is not cached after');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
