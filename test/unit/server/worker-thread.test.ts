// startWorker's start size for a worker's young generation: set while the worker is made, set back once it runs.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../../src/server/worker-thread.js';

// The worker posts its young generation's size (V8's new_space, KiB) as soon as it runs.
const REPORT_SIZE =
  "const v8 = require('node:v8'); require('node:worker_threads').parentPort.postMessage(" +
  "v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1024);";

async function startSizeOf(worker: Worker): Promise<number> {
  const [size] = (await once(worker, 'message')) as [number];
  await worker.terminate();
  return size;
}

describe('startWorker: the young generation a worker starts with', () => {
  test('startSemiSpaceMb sizes that worker only; the next one starts at V8 default again', async () => {
    const limits = { maxYoungGenerationSizeMb: 12 };
    const sized = startWorker(REPORT_SIZE, { eval: true, resourceLimits: limits }, { startSemiSpaceMb: 2 });
    // Two semi-spaces of 2 MiB. Without the option V8 starts a worker at 2 MiB in all (checked below).
    assert.equal(await startSizeOf(sized), 4096);
    const plain = startWorker(REPORT_SIZE, { eval: true, resourceLimits: limits });
    assert.equal(await startSizeOf(plain), 2048, 'the flag was set back once the sized worker ran');
  });
});
