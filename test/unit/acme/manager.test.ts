// The ACME manager on a fake clock and a fake CA: orders when nothing is stored, renews at two thirds, backs off on failure, installs each new certificate, and logs acme-issued/-renewed/-failed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { AcmeChallenges } from '../../../src/acme/challenges.js';
import { startAcmeManager, type SetTimer } from '../../../src/acme/manager.js';
import type { Issued } from '../../../src/acme/order.js';
import type { AcmeSettings } from '../../../src/config/schema.js';
import { createLogger } from '../../../src/observability/logger.js';

const HOST = 'mail.example.test';
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 1);
const settings: AcmeSettings = {
  directory: 'https://acme.example.test/dir',
  email: null,
  domains: [HOST],
  challenges: ['http-01'],
  caFile: null,
};

/** A "CA" certificate for HOST valid from `from` for `days` (1024-bit: fast to make, never served). */
async function certificate(from: number, days: number): Promise<Issued> {
  const pems = await generate([{ name: 'commonName', value: HOST }], {
    keyType: 'rsa',
    keySize: 1024,
    notBeforeDate: new Date(from),
    notAfterDate: new Date(from + days * DAY),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: HOST }] }],
  });
  return { cert: pems.cert, key: pems.private };
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function harness(orders: (() => Promise<Issued>)[], install: () => Promise<void> = async () => undefined) {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailroom-acme-'));
  dirs.push(dataDir);
  let clock = T0;
  const timers: { at: number; run: () => void; cancelled: boolean }[] = [];
  const setTimer: SetTimer = (ms, run) => {
    const timer = { at: clock + ms, run, cancelled: false };
    timers.push(timer);
    return () => (timer.cancelled = true);
  };
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
  let installed = 0;
  let ordered = 0;
  const manager = startAcmeManager({
    settings,
    dataDir,
    challenges: new AcmeChallenges(),
    logger,
    now: () => new Date(clock),
    setTimer,
    onCertificate: async () => {
      installed += 1;
      await install();
    },
    order: async () => {
      const next = orders[ordered];
      ordered += 1;
      if (!next) throw new Error('unexpected order');
      return next();
    },
  });
  return {
    manager,
    dataDir,
    logs,
    events: () => logs.filter((l) => typeof l.event === 'string').map((l) => l.event),
    installed: () => installed,
    ordered: () => ordered,
    /** The one pending timer's delay from now. */
    pending: () => {
      const live = timers.filter((t) => !t.cancelled);
      assert.equal(live.length, 1, 'one timer pending');
      return live[0]!.at - clock;
    },
    /** Moves the clock to the pending timer and fires it. */
    fire: async () => {
      const live = timers.filter((t) => !t.cancelled);
      const timer = live[0]!;
      timers.splice(timers.indexOf(timer), 1);
      clock = timer.at;
      timer.run();
      await manager.idle();
    },
  };
}

test('nothing stored: orders at once, stores 0600, installs it, then waits until two thirds of its life', async () => {
  const h = harness([() => certificate(T0, 90), () => certificate(T0 + 60 * DAY, 90)]);
  await h.manager.idle();
  assert.equal(h.ordered(), 1);
  assert.equal(h.installed(), 1);
  assert.deepEqual(h.events(), ['acme-issued']);
  const issued = h.logs.find((l) => l.event === 'acme-issued')!;
  assert.equal(issued.renewAt, new Date(T0 + 60 * DAY).toISOString());
  for (const name of ['cert.pem', 'key.pem'])
    assert.equal(statSync(join(h.dataDir, 'acme', name)).mode & 0o777, 0o600);
  // 60 days do not fit one setTimeout (~24.8 days): wake-ups at its limit only re-plan.
  const MAX = 2 ** 31 - 1;
  for (const step of [1, 2]) {
    assert.equal(h.pending(), MAX);
    await h.fire();
    assert.equal(h.ordered(), 1, `early wake-up ${step} orders nothing`);
  }
  assert.equal(h.pending(), 60 * DAY - 2 * MAX);
  await h.fire();
  assert.equal(h.ordered(), 2);
  assert.equal(h.installed(), 2);
  assert.deepEqual(h.events(), ['acme-issued', 'acme-renewed']);
  h.manager.stop();
});

test('a failed order is logged and retried after 1, 2, 4 minutes; success resets the backoff', async () => {
  const refuse = () =>
    Promise.reject(new Error('urn:ietf:params:acme:error:connection: cannot reach the CA'));
  const h = harness([refuse, refuse, refuse, () => certificate(T0, 90)]);
  await h.manager.idle();
  assert.equal(h.installed(), 0);
  assert.equal(h.pending(), 60_000);
  const failed = h.logs.find((l) => l.event === 'acme-failed')!;
  assert.equal(failed.attempt, 1);
  assert.equal(failed.level, 'error');
  assert.match(String(failed.reason), /cannot reach the CA/);
  assert.equal(failed.retryAt, new Date(T0 + 60_000).toISOString());
  await h.fire();
  assert.equal(h.pending(), 120_000);
  await h.fire();
  assert.equal(h.pending(), 240_000);
  await h.fire();
  assert.equal(h.installed(), 1);
  assert.deepEqual(h.events(), ['acme-failed', 'acme-failed', 'acme-failed', 'acme-issued']);
  h.manager.stop();
});

test('a stored certificate still fresh is kept (no order at start); stop() cancels the timer', async () => {
  const first = harness([() => certificate(T0, 90)]);
  await first.manager.idle();
  first.manager.stop();
  const again = startAcmeManager({
    settings,
    dataDir: first.dataDir,
    challenges: new AcmeChallenges(),
    logger: createLogger({ destination: { write: () => undefined } }),
    now: () => new Date(T0 + DAY),
    setTimer: () => () => undefined,
    onCertificate: async () => assert.fail('nothing new to install'),
    order: async () => assert.fail('no order for a fresh certificate'),
  });
  await again.idle();
  again.stop();
});

test('a certificate stored but not installed (the swap failed) is not ordered again, and is no CA failure', async () => {
  const h = harness([() => certificate(T0, 90)], () => Promise.reject(new Error('the server is stopping')));
  await h.manager.idle();
  assert.equal(h.ordered(), 1);
  assert.deepEqual(h.events(), ['acme-issued']);
  assert.ok(h.logs.some((l) => l.level === 'warn' && /not yet in use/.test(String(l.msg))));
  assert.equal(h.pending(), 2 ** 31 - 1, 'waits for the renewal like any stored certificate');
  h.manager.stop();
});

test('acme-issued is logged only once the new certificate is served (a client that reads the line then connects sees it)', async () => {
  let eventsAtInstall: unknown[] = [];
  const h = harness([() => certificate(T0, 90)], async () => {
    // Still installing: nothing may have announced the certificate yet.
    await new Promise((done) => setTimeout(done, 20));
    eventsAtInstall = h.events();
  });
  await h.manager.idle();
  assert.deepEqual(eventsAtInstall, []);
  assert.deepEqual(h.events(), ['acme-issued']);
  h.manager.stop();
});
