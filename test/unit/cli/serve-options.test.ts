// `mailroom serve --log-format`: only json or text, refused as a usage error (exit 2) before anything starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../../src/cli/main.js';

test('serve --log-format pretty is a usage error naming the two formats', async () => {
  let stderr = '';
  const status = await main({
    argv: ['serve', '--log-format', 'pretty'],
    cwd: '/nonexistent',
    env: {},
    stdout: () => undefined,
    stderr: (t) => (stderr += t),
    readStdin: async () => '',
  });
  assert.equal(status, 2);
  assert.match(stderr, /--log-format must be "json" or "text"/);
});
