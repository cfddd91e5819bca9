// routeProcessWarnings: a process warning becomes one JSON log line, not Node's plain-text stderr line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, routeProcessWarnings } from '../../../src/observability/logger.js';

test('a process warning is logged as JSON and the default stderr printer is off until restored', async () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const before = process.listeners('warning');
  const restore = routeProcessWarnings(createLogger({ destination }));
  try {
    for (const listener of before) assert.ok(!process.listeners('warning').includes(listener));
    process.emitWarning('something odd', { type: 'MaxListenersExceededWarning', code: 'TEST_CODE' });
    await new Promise((done) => setImmediate(done)); // warnings are emitted on the next tick
  } finally {
    restore();
  }
  assert.deepEqual(process.listeners('warning'), before);
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]!) as { level: string; msg: string; warning: Record<string, string> };
  assert.equal(entry.msg, 'process warning');
  assert.equal(entry.level, 'warn');
  assert.deepEqual(entry.warning, {
    name: 'MaxListenersExceededWarning',
    code: 'TEST_CODE',
    message: 'something odd',
  });
});
