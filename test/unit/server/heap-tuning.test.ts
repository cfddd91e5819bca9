// [limits] heap (server/heap-tuning.ts): which V8 flags each setting applies, and that they take effect at run time.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { getHeapSpaceStatistics } from 'node:v8';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEAP_TUNINGS, YOUNG_GENERATION_CAP_MIB } from '../../../src/config/limits.js';
import {
  applyHeapTuning,
  EARLY_SERVE_FLAGS,
  heapFlags,
  YoungGenerationCap,
} from '../../../src/server/heap-tuning.js';

const HEAP_TUNING_MODULE = fileURLToPath(new URL('../../../src/server/heap-tuning.ts', import.meta.url));
const CHECKPOINTER_MODULE = fileURLToPath(
  new URL('../../../src/store/sqlite/checkpointer.ts', import.meta.url),
);

/**
 * Runs a child that applies the flags of `tuning` (none: V8 as Node starts it) the way serve does, then
 * allocates like a server under load (short-lived objects, a share of them kept across scavenges, the
 * event loop turning every 2,000 objects as it does between commands) and reports the young generation's
 * size and the heap's peak, in MiB. A `worker` starts a third of the way in, once the young generation
 * has grown to where the tuning holds it.
 */
function churn(
  tuning: 'small' | 'node' | null,
  worker: 'none' | 'plain' | 'checkpointer' | 'checkpointer-busy' = 'none',
): { newSpaceMiB: number; peakHeapMiB: number } {
  const script = `
    import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
    import { mkdtempSync, rmSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    import { Worker } from 'node:worker_threads';
    import { applyHeapTuning, applyV8Flags, EARLY_SERVE_FLAGS } from ${JSON.stringify(HEAP_TUNING_MODULE)};
    import { startCheckpointer } from ${JSON.stringify(CHECKPOINTER_MODULE)};
    const tuning = ${JSON.stringify(tuning)};
    if (tuning) { applyV8Flags(EARLY_SERVE_FLAGS); applyHeapTuning(tuning); }
    const worker = ${JSON.stringify(worker)};
    let stop = async () => {};
    const startWorker = async () => {
      if (worker === 'plain') {
        const w = new Worker('setTimeout(() => {}, 5000)', { eval: true });
        await new Promise((started) => w.once('online', started));
        stop = () => w.terminate();
      } else if (worker !== 'none') {
        const dir = mkdtempSync(join(tmpdir(), 'mailroom-heap-'));
        const c = startCheckpointer({ dbPath: join(dir, 'x.db'), intervalMs: 1000 });
        // 'checkpointer-busy': the allocation goes on while the worker boots, as a server's under load does.
        if (worker === 'checkpointer') await c.online;
        stop = async () => { await c.stop(); rmSync(dir, { recursive: true, force: true }); };
      }
    };
    let kept = [];
    let peak = 0;
    for (let round = 0; round < 30; round++) {
      if (round === 10) await startWorker();
      for (let i = 0; i < 40000; i++) {
        const o = { id: i, text: 'message ' + i + ' of round ' + round, flags: ['\\\\Seen'] };
        if (i % 4 === 0) kept.push(o);
        if (i % 2000 === 0) await new Promise((turn) => setImmediate(turn));
      }
      if (kept.length > 100000) kept = [];
      peak = Math.max(peak, getHeapStatistics().total_heap_size);
    }
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    await stop();
    process.stdout.write(JSON.stringify({ newSpaceMiB: young.space_size / 1048576, peakHeapMiB: peak / 1048576 }));
  `;
  // A file, not `-e` with --input-type=module: worker threads inherit that flag, and the checkpointer's
  // CommonJS source then fails to start (as it never does under `mailroom serve`).
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-churn-'));
  try {
    const file = join(dir, 'churn.mjs');
    writeFileSync(file, script);
    const out = execFileSync(process.execPath, ['--import', 'tsx', file], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(out) as { newSpaceMiB: number; peakHeapMiB: number };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('heap tuning', () => {
  test('"small" grows the old generation by 20% and starts the young generation\'s cap', () => {
    assert.deepEqual(heapFlags('small'), ['--heap-growing-percent=20']);
    assert.deepEqual(EARLY_SERVE_FLAGS, ['--semi-space-growth-factor=1']);
    const applied: string[] = [];
    assert.deepEqual(
      applyHeapTuning('small', (flag) => applied.push(flag)),
      HEAP_TUNINGS.small,
    );
    // The cap's first check: growth while this process's young generation is under the cap, none at it.
    const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    const atCap = (young?.space_size ?? 0) >= YOUNG_GENERATION_CAP_MIB * 1024 * 1024;
    assert.deepEqual(applied, [...HEAP_TUNINGS.small, `--semi-space-growth-factor=${atCap ? 1 : 2}`]);
    applied.length = 0;
    applyHeapTuning('node', (flag) => applied.push(flag)); // stops the cap again
    assert.deepEqual(applied, [...HEAP_TUNINGS.node]);
  });

  test('the cap lets the young generation grow until it reaches the cap, then stops its growth', () => {
    const MiB = 1024 * 1024;
    let size = 2 * MiB;
    const set: string[] = [];
    const cap = new YoungGenerationCap(
      8 * MiB,
      () => size,
      (flag) => set.push(flag),
    );
    assert.equal(cap.check(), 2);
    assert.equal(cap.check(), 2);
    size = 4 * MiB;
    assert.equal(cap.check(), 2);
    size = 8 * MiB;
    assert.equal(cap.check(), 1);
    size = 16 * MiB; // one step too far between two checks: growth stays stopped
    assert.equal(cap.check(), 1);
    size = 2 * MiB; // V8 shrank it (idle): it may grow again
    assert.equal(cap.check(), 2);
    // The flag is set only when the factor changes: a check after every GC costs a size read.
    assert.deepEqual(set, [
      '--semi-space-growth-factor=2',
      '--semi-space-growth-factor=1',
      '--semi-space-growth-factor=2',
    ]);
  });

  test('"node" sets back exactly the defaults of the V8 this Node runs', () => {
    // cli.ts has set the growth factor to 1 before the config is read; "node" must undo that, so its
    // values must be V8's own (a Node upgrade that changes them fails here, not silently).
    const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    for (const flag of heapFlags('node')) {
      const name = flag.slice(2, flag.indexOf('='));
      const shown = new RegExp(`default: (--${name}=\\S+)`).exec(
        options.slice(options.indexOf(`--${name} (`)),
      );
      assert.equal(shown?.[1], flag, `V8's default for --${name}`);
    }
  });

  test('the flags take effect when set at run time: the young generation held at its cap, a smaller heap', () => {
    const plain = churn(null);
    const node = churn('node');
    const small = churn('small');
    // The control: without the tuning V8 grows the young generation under this load (to 32 MiB here).
    assert.ok(plain.newSpaceMiB >= 16, `untuned young generation ${plain.newSpaceMiB} MiB`);
    assert.ok(node.newSpaceMiB >= 16, `"node" young generation ${node.newSpaceMiB} MiB`);
    // Grown from its initial 2 MiB to the cap, and no further.
    assert.equal(small.newSpaceMiB, YOUNG_GENERATION_CAP_MIB, `"small" young generation`);
    assert.ok(
      small.peakHeapMiB < plain.peakHeapMiB * 0.8,
      `peak heap: "small" ${small.peakHeapMiB.toFixed(1)} MiB, untuned ${plain.peakHeapMiB.toFixed(1)} MiB`,
    );
  });
  test('a worker thread starting does not undo it (Node resets V8 flags then; the checkpointer sets them again)', () => {
    // The control: a plain Worker, as Node starts it, puts the young generation's growth back.
    const plain = churn('small', 'plain');
    assert.ok(plain.newSpaceMiB >= 16, `after a plain worker: ${plain.newSpaceMiB} MiB`);
    const checkpointer = churn('small', 'checkpointer');
    assert.equal(checkpointer.newSpaceMiB, YOUNG_GENERATION_CAP_MIB, `after the checkpointer`);
  });
  test("nor one starting while the main thread allocates (startWorker waits out the worker's heap set-up)", () => {
    // V8 raises the growth factor to 2 when it makes the worker's heap; setting it back only once the worker
    // was online (~40 ms later) let the young generation grow a step past the cap in most runs of this.
    for (let run = 0; run < 3; run++) {
      const busy = churn('small', 'checkpointer-busy');
      assert.equal(busy.newSpaceMiB, YOUNG_GENERATION_CAP_MIB, `run ${run}: started mid-churn`);
    }
  });
});

describe('every worker the server starts keeps the heap tuning', () => {
  // Node resets V8's flags while any worker boots (see the test above), so one `new Worker` that bypasses
  // server/worker-thread.ts's startWorker (which calls keepHeapTuning) quietly undoes [limits] heap for the
  // whole process. This guards the next worker added.
  test('no file under src/ but server/worker-thread.ts starts a Worker itself', () => {
    const src = fileURLToPath(new URL('../../../src/', import.meta.url));
    const missing: string[] = [];
    for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file === join('server', 'worker-thread.ts')) continue;
      if (/new Worker\(/.test(readFileSync(join(src, file), 'utf8'))) missing.push(file);
    }
    assert.deepEqual(missing, []);
  });
});
