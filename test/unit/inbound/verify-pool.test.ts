// The inbound verify worker pool: a worker gives the main thread's DKIM/ARC outcome byte for byte; crash, full pool, DNS errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { MailResolver } from '../../../src/dns/types.js';
import { createInboundChecks } from '../../../src/inbound/checks.js';
import type { MailauthResolver } from '../../../src/inbound/dkim-keys.js';
import { verifyDkim } from '../../../src/inbound/dkim-verify.js';
import { DkimVerifyPool } from '../../../src/inbound/verify-pool.js';
import { arcSealFor } from '../../../src/sender-auth/arc-seal.js';
import { signMessage } from '../../../src/sender-auth/dkim-sign.js';
import type { DkimKey } from '../../../src/store/dkim-store.js';
import { makeKey, recordOf, txtResolver } from '../../helpers/dkim.js';

let rsaKey: DkimKey; // signer.test
let edKey: DkimKey; // signer.test, a second selector
let fwdKey: DkimKey; // the ARC sealer, fwd.test
const records: Record<string, string> = {};
const lookup = (name: string, rrtype: string) => txtResolver(records)(name, rrtype);
/** `lookup` with its answers kept on the worker for a minute (a timed answer): no DNS round trip per message. */
const timed: MailauthResolver = Object.assign((name: string, rrtype: string) => lookup(name, rrtype), {
  timed: async (name: string, rrtype: string) => ({ value: await lookup(name, rrtype), validForMs: 60_000 }),
});
let pool: DkimVerifyPool;
const dir = mkdtempSync(join(tmpdir(), 'mailroom-verify-pool-'));

const plain = Buffer.from(
  'From: Ann <ann@signer.test>\r\nTo: bob@example.test\r\nSubject: hello\r\n' +
    'Date: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <p1@signer.test>\r\n\r\nHello there.\r\n',
);
const sign = async (m: Buffer, key: DkimKey) =>
  Buffer.concat([Buffer.from((await signMessage(m, key)).header), m]);

/** Waits (bounded) until the pool has a ready worker: under tsx a worker takes a moment to load. */
/**
 * The eval source of a probe verify worker: `setup` defines `report(m, j)`, the strings it answers job `j` of
 * batch `m` with (as its outcome's headerFrom), one result message per batch.
 */
function probeEntry(setup: string): string {
  return (
    "const { parentPort } = require('node:worker_threads');" +
    setup +
    "parentPort.on('message', (m) => { if (m.type === 'close') { parentPort.close(); return; }" +
    "  parentPort.postMessage({ type: 'batch', questions: [], results: m.jobs.map((j) => ({ id: j.id, ok: true," +
    '    outcome: { rows: [], headerFrom: report(m, j), arcInfo: null } })) }); });' +
    "parentPort.postMessage({ type: 'ready' });"
  );
}

async function readyPool(p: DkimVerifyPool): Promise<void> {
  p.start();
  for (let i = 0; i < 200 && p.ready === 0; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(p.ready, 1, 'the worker came up');
}

/** Runs `use` on a ready pool of one worker of its own (its traffic counted from zero), closed afterwards. */
async function withFreshPool(use: (fresh: DkimVerifyPool) => Promise<void>): Promise<void> {
  const fresh = new DkimVerifyPool({ size: 1 });
  try {
    await readyPool(fresh);
    await use(fresh);
  } finally {
    await fresh.close();
  }
}

before(async () => {
  rsaKey = await makeKey('signer.test', 'rsa', 'rsa');
  edKey = await makeKey('signer.test', 'ed', 'ed25519');
  fwdKey = await makeKey('fwd.test', 'arc', 'rsa');
  for (const k of [rsaKey, edKey, fwdKey]) records[recordOf(k).name] = recordOf(k).txt;
  pool = new DkimVerifyPool({ size: 1 });
  await readyPool(pool);
});
after(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('DkimVerifyPool', () => {
  test('the worker gives what the main thread gives: pass, two signatures, a tampered body, no key, ARC', async () => {
    const one = await sign(plain, rsaKey);
    const two = await sign(one, edKey);
    const tampered = Buffer.from(one.toString('latin1').replace('Hello there', 'Hello thor'), 'latin1');
    // A selector without a record: ENOTFOUND crosses the thread with its code (mailauth: neutral, "no key").
    const noKey = Buffer.from(one.toString('latin1').replace('s=rsa;', 's=gone;'), 'latin1');
    const arrived = Buffer.concat([Buffer.from('Authentication-Results: mx.fwd.test; dkim=pass\r\n'), one]);
    const sealed = Buffer.concat([
      (await arcSealFor(arrived, fwdKey, { authservId: 'mx.fwd.test' }))!,
      arrived,
    ]);
    for (const [name, message] of Object.entries({ one, two, tampered, noKey, sealed, plain })) {
      const here = await verifyDkim(message, 'ann@signer.test', lookup);
      const there = await pool.run(message, 'ann@signer.test', lookup);
      assert.ok(there, `${name}: a ready pool with room takes the job`);
      assert.deepEqual(there, here, name);
    }
    const here = await verifyDkim(two, '', lookup);
    assert.deepEqual(
      here.rows.map((r) => r.result),
      ['pass', 'pass'],
    );
    assert.match((await verifyDkim(sealed, '', lookup)).arcInfo ?? '', /^arc=pass/);
    // Chunks (the memory spool) and the spool file's path (the worker reads it) give the same outcome.
    const path = join(dir, 'spooled.eml');
    writeFileSync(path, two);
    assert.deepEqual(await pool.run([two.subarray(0, 100), two.subarray(100)], '', lookup), here);
    assert.deepEqual(await pool.run({ path }, '', lookup), here);
    assert.equal(pool.pending, 0);
  });

  test('a temporary DNS failure stays temporary across the thread (temperror, not a missing key)', async () => {
    const one = await sign(plain, rsaKey);
    const down = () => Promise.reject(Object.assign(new Error('queryTxt ETIMEOUT'), { code: 'ETIMEOUT' }));
    const here = await verifyDkim(one, '', down);
    assert.equal(here.rows[0]!.result, 'temperror');
    assert.deepEqual(await pool.run(one, '', down), here);
  });

  test('an idle worker gets the first job at once, the rest of that turn in one message; the results in few', async () => {
    const one = await sign(plain, rsaKey);
    const here = await verifyDkim(one, '', lookup);
    await withFreshPool(async (fresh) => {
      assert.deepEqual(await fresh.run(one, '', timed), here);
      const before = { ...fresh.traffic };
      const jobs = Array.from({ length: 8 }, () => fresh.run(one, '', timed));
      assert.equal(fresh.pending, 8);
      // The first before this turn ends (the worker had nothing in hand), the seven others after it, together.
      assert.equal(fresh.traffic.jobMessages - before.jobMessages, 1, 'the first job, at once');
      await new Promise((r) => setImmediate(r));
      assert.equal(fresh.traffic.jobMessages - before.jobMessages, 2, 'the seven others, in one message');
      for (const outcome of await Promise.all(jobs)) assert.deepEqual(outcome, here);
      assert.equal(fresh.traffic.jobs - before.jobs, 8);
      assert.equal(fresh.traffic.results - before.results, 8);
      assert.ok(
        fresh.traffic.resultMessages - before.resultMessages <= 3,
        'the results in at most three messages',
      );
      assert.equal(fresh.pending, 0);
    });
  });

  test('a burst comes back in chunks of seven, in the order it was posted', async () => {
    const one = await sign(plain, rsaKey);
    const here = await verifyDkim(one, '', lookup);
    await withFreshPool(async (fresh) => {
      await fresh.run(one, '', timed); // the key is kept on the worker from here
      const before = { ...fresh.traffic };
      const done: number[] = [];
      const jobs = Array.from({ length: 15 }, (_, i) =>
        fresh.run(one, '', timed)!.then((o) => (done.push(i), o)),
      );
      for (const outcome of await Promise.all(jobs)) assert.deepEqual(outcome, here);
      // The first job at once, then fourteen in one message, verified one after another: 7 + 7 results.
      assert.equal(fresh.traffic.jobMessages - before.jobMessages, 2);
      assert.equal(
        fresh.traffic.resultMessages - before.resultMessages,
        3,
        'the first, then two chunks of seven',
      );
      assert.deepEqual(
        done,
        [...done].sort((a, b) => a - b),
        'in the order they were posted',
      );
    });
  });

  test('a message waiting for its DNS answer does not hold up the ones behind it', async () => {
    const one = await sign(plain, rsaKey);
    const other = await sign(plain, edKey);
    let markAsked: () => void = () => undefined;
    const slowKeyAsked = new Promise<void>((asked) => {
      markAsked = asked;
    });
    let answerSlowKey: () => void = () => undefined;
    const slowKeyAnswered = new Promise<void>((answer) => {
      answerSlowKey = answer;
    });
    // The rsa selector's record comes only when the test says so; the ed one at once.
    const slow = async (name: string, rrtype: string) => {
      if (name.startsWith('rsa.')) {
        markAsked();
        await slowKeyAnswered;
      }
      return lookup(name, rrtype);
    };
    await withFreshPool(async (fresh) => {
      try {
        const order: string[] = [];
        const first = fresh.run(one, '', slow)!.then(() => order.push('slow'));
        const rest = [1, 2, 3].map((i) => fresh.run(other, '', slow)!.then(() => order.push(`fast ${i}`)));
        await slowKeyAsked;
        // Bounded: a worker that waited for the first message's answer would never verify these.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(rest),
          new Promise((_, fail) => {
            timer = setTimeout(() => fail(new Error('the three behind it were held up')), 10_000);
          }),
        ]).finally(() => clearTimeout(timer));
        assert.deepEqual(order, ['fast 1', 'fast 2', 'fast 3'], 'verified while the first waits');
        answerSlowKey();
        await first;
        assert.equal(order.at(-1), 'slow');
        assert.equal(fresh.pending, 0);
      } finally {
        answerSlowKey();
      }
    });
  });

  test('the messages of one batch travel in one buffer: each job verifies its own part of it', async () => {
    const rsa = await sign(plain, rsaKey);
    const ed = await sign(plain, edKey);
    const tampered = Buffer.from(rsa.toString('latin1').replace('Hello there.', 'Hello thera.'), 'latin1');
    // As the spool gives them: one Buffer, or chunks split anywhere.
    const inputs: (Buffer | Buffer[])[] = [
      rsa,
      [ed.subarray(0, 7), ed.subarray(7, 300), ed.subarray(300)],
      plain,
      tampered,
      [rsa.subarray(0, 1), rsa.subarray(1)],
    ];
    const expected = await Promise.all(inputs.map((m) => verifyDkim(m, '', lookup)));
    await withFreshPool(async (fresh) => {
      const before = { ...fresh.traffic };
      const outcomes = await Promise.all(inputs.map((m) => fresh.run(m, '', lookup)));
      assert.equal(
        fresh.traffic.jobMessages - before.jobMessages,
        2,
        'the first at once, the other four together',
      );
      assert.deepEqual(outcomes, expected);
      // The messages differ, so a job reading another's part would not match.
      const results = outcomes.map((o) => o!.rows.map((r) => r.result).join());
      assert.deepEqual([results[0], results[1], results[2], results[4]], ['pass', 'pass', 'none', 'pass']);
      assert.notEqual(results[3], 'pass', 'the tampered body');
    });
  });

  test("one moved buffer per batch, the jobs' spans back to back in it", async () => {
    // A worker reporting what it was posted: the buffer's size and whether it was moved (not a copy of a view).
    const probe = new DkimVerifyPool({
      size: 1,
      entry: probeEntry(
        'const report = (m, j) => [JSON.stringify(m.jobs.map((k) => [k.at, k.size])),' +
          " String(m.bytes ? m.bytes.buffer.byteLength : -1), Buffer.from(m.bytes).toString('latin1', j.at, j.at + j.size)];",
      ),
    });
    try {
      await readyPool(probe);
      // A first job takes the idle worker's turn, so the two below go as one batch.
      const busy = probe.run(Buffer.from('x\r\n'), '', lookup);
      const a = Buffer.from('first message\r\n');
      const b = [Buffer.from('second '), Buffer.from('message\r\n')];
      const [, ra, rb] = await Promise.all([busy, probe.run(a, '', lookup), probe.run(b, '', lookup)]);
      const [spans, total, mine] = ra!.headerFrom;
      assert.equal(
        spans,
        JSON.stringify([
          [0, a.length],
          [a.length, 16],
        ]),
      );
      assert.equal(total, String(a.length + 16), 'one buffer holding both, nothing more');
      assert.equal(mine, 'first message\r\n');
      assert.equal(rb!.headerFrom[2], 'second message\r\n');
    } finally {
      await probe.close();
    }
  });

  test('a stream is not handed over (null: the caller verifies it)', () => {
    assert.equal(pool.run(Readable.from([plain]), '', lookup), null);
  });

  test('a full pool hands the message back (null) instead of queueing past its bound', async () => {
    // A worker that takes jobs and never answers.
    const stuck = new DkimVerifyPool({
      size: 1,
      maxInFlight: 2,
      entry:
        "const { parentPort } = require('node:worker_threads');" +
        "parentPort.on('message', (m) => { if (m.type === 'close') parentPort.close(); });" +
        "parentPort.postMessage({ type: 'ready' });",
    });
    try {
      await readyPool(stuck);
      const first = stuck.run(plain, '', lookup);
      const second = stuck.run(plain, '', lookup);
      assert.ok(first && second);
      first.catch(() => undefined);
      second.catch(() => undefined);
      assert.equal(stuck.pending, 2);
      assert.equal(stuck.run(plain, '', lookup), null, 'full: the main thread verifies this one');
    } finally {
      await stuck.close();
    }
  });
});

describe("a verify worker's young generation", () => {
  test('starts at 4 MiB and grows to 8 at most (config/limits.ts VERIFY_WORKER_YOUNG_GENERATION)', async () => {
    // A worker answering each job with its young generation's size (V8's new_space, KiB) before and after a churn
    // of ~40 MiB. At V8's start size for a worker (2 MiB) the real verifier scavenged every ~25 messages.
    const probe = new DkimVerifyPool({
      size: 1,
      entry: probeEntry(
        "const size = () => require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1024;" +
          'const report = () => { const start = size(); let keep = [];' +
          "  for (let i = 0; i < 4e5; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 20000) keep = []; }" +
          '  return [String(start), String(size())]; };',
      ),
    });
    try {
      await readyPool(probe);
      const outcome = await probe.run(plain, '', lookup);
      const [start, end] = outcome!.headerFrom.map(Number);
      assert.equal(start, 4096, 'KiB at start');
      assert.ok(end === 4096 || end === 8192, `KiB after the churn: ${end}`);
    } finally {
      await probe.close();
    }
  });
});

describe('checkMessage with a verify pool', () => {
  const resolver = {
    resolve: (name: string, type: string) => txtResolver(records)(name, type),
    resolveTxt: (name: string) => txtResolver(records)(name, 'TXT'),
    reverse: () => Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })),
    resolve4: () => Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })),
    resolve6: () => Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })),
  } as unknown as MailResolver;
  const settings = {
    greylisting: false,
    greylistDelayMs: 0,
    greetPauseMs: 0,
    dmarc: 'enforce' as const,
    dmarcReports: false,
    dnsbl: [],
    trustedNetworks: [],
    verifyWorkers: 0,
  };
  const context = { remoteAddress: '192.0.2.9', helo: 'mail.signer.test', sender: 'ann@signer.test' };
  const checksWith = (verifyPool?: DkimVerifyPool) =>
    createInboundChecks({
      settings,
      hostname: 'mx.example.test',
      resolver,
      isLocalDomain: (d) => d === 'example.test',
      ...(verifyPool ? { verifyPool } : {}),
    });

  /**
   * A one-worker pool whose worker runs `onMessage` (with `parentPort` in scope) after saying it is ready,
   * never respawned during the test; with the checks over it and a signed message to give them.
   */
  const crashingPool = async (onMessage: string) => {
    const exits: number[] = [];
    const crashing = new DkimVerifyPool({
      size: 1,
      respawnMs: 60_000,
      onWorkerExit: (code) => exits.push(code),
      entry:
        "const { parentPort } = require('node:worker_threads');" +
        onMessage +
        "parentPort.postMessage({ type: 'ready' });",
    });
    try {
      await readyPool(crashing);
    } catch (error) {
      await crashing.close(); // the test fails, but leaves no worker behind
      throw error;
    }
    const m = await sign(plain, rsaKey);
    const body = { kind: 'memory' as const, chunks: [m], size: m.length };
    return { crashing, exits, checks: checksWith(crashing), body };
  };

  test('the verdict and the Authentication-Results field are the same with the worker as without', async () => {
    const m = await sign(plain, rsaKey);
    const body = { kind: 'memory' as const, chunks: [m], size: m.length };
    const inline = await checksWith().checkMessage(body, context);
    let taken = 0;
    const counting = Object.assign(Object.create(pool) as DkimVerifyPool, {
      run: (...args: Parameters<DkimVerifyPool['run']>) => {
        const job = pool.run(...args);
        if (job) taken++;
        return job;
      },
    });
    const viaWorker = await checksWith(counting).checkMessage(body, context);
    assert.equal(taken, 1, 'the worker did the DKIM pass');
    assert.deepEqual(viaWorker, inline);
    assert.match(viaWorker.header, /dkim=pass header\.i=@signer\.test header\.s=rsa/);
    assert.equal(viaWorker.action.kind, 'deliver');
  });

  test('a worker that dies with the message in hand: that message is deferred (451), never passed; the next runs here', async () => {
    // A worker that is ready and dies at its first job, as a crash in mailauth or the thread would.
    const { crashing, exits, checks, body } = await crashingPool(
      "parentPort.on('message', (m) => { if (m.type === 'batch') process.exit(7); });",
    );
    try {
      const lost = await checks.checkMessage(body, context);
      assert.equal(lost.action.kind, 'defer', 'checks that could not finish: 451, never a pass');
      assert.equal(lost.header, '');
      assert.match(String(lost.error), /worker exited \(7\)/);
      assert.deepEqual(exits, [7]);
      assert.equal(crashing.ready, 0);
      // Until a worker is back, the main thread verifies: the next message is checked and delivered.
      const next = await checks.checkMessage(body, context);
      assert.equal(next.action.kind, 'deliver');
      assert.match(next.header, /dkim=pass/);
    } finally {
      await crashing.close();
    }
  });

  test('a worker that dies with batches in hand: every message of them is deferred (451), none passed', async () => {
    // A worker that takes its first two messages (a first job at once, the second in a batch) and never answers
    // them, then dies when the third arrives.
    const { crashing, exits, checks, body } = await crashingPool(
      "let seen = 0; parentPort.on('message', (m) => { if (m.type !== 'close' && ++seen === 3) process.exit(7); });",
    );
    try {
      const first = [checks.checkMessage(body, context), checks.checkMessage(body, context)];
      for (let i = 0; i < 100 && crashing.traffic.jobs < 2; i++) await new Promise((r) => setImmediate(r));
      assert.equal(crashing.pending, 2);
      const second = [checks.checkMessage(body, context), checks.checkMessage(body, context)];
      const verdicts = await Promise.all([...first, ...second]);
      assert.deepEqual(crashing.traffic, { jobMessages: 3, jobs: 4, resultMessages: 0, results: 0 });
      for (const verdict of verdicts) {
        assert.equal(verdict.action.kind, 'defer', 'checks that could not finish: 451, never a pass');
        assert.equal(verdict.header, '');
        assert.match(String(verdict.error), /worker exited \(7\)/);
      }
      assert.deepEqual(exits, [7]);
      assert.equal(crashing.pending, 0);
      // The main thread verifies until a worker is back.
      assert.equal((await checks.checkMessage(body, context)).action.kind, 'deliver');
    } finally {
      await crashing.close();
    }
  });

  test('the worker keeps a DNS answer only as long as the main thread says it stays cached, then asks again', async () => {
    const one = await sign(plain, rsaKey);
    let asked = 0;
    let plainAsked = 0;
    const shortLived: MailauthResolver = Object.assign(
      (name: string, rrtype: string) => (plainAsked++, lookup(name, rrtype)),
      {
        timed: async (name: string, rrtype: string) => {
          asked++;
          return { value: await lookup(name, rrtype), validForMs: 300 };
        },
      },
    );
    await withFreshPool(async (fresh) => {
      const here = await verifyDkim(one, '', lookup);
      assert.deepEqual(await fresh.run(one, '', shortLived), here);
      assert.deepEqual(await fresh.run(one, '', shortLived), here);
      assert.equal(asked, 1, 'the second message used the kept key record');
      await new Promise((r) => setTimeout(r, 400)); // past the 300 ms it was good for
      assert.deepEqual(await fresh.run(one, '', shortLived), here);
      assert.equal(asked, 2, 'asked again once expired');
      assert.equal(plainAsked, 0);
      // An answer without a lifetime (a resolver that cannot tell) is asked for every time (another key here).
      const ed = await sign(plain, edKey);
      let untimed = 0;
      const counting: MailauthResolver = (name, rrtype) => (untimed++, lookup(name, rrtype));
      await fresh.run(ed, '', counting);
      await fresh.run(ed, '', counting);
      assert.equal(untimed, 2);
    });
  });
});
