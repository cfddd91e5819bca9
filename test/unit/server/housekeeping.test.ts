// Housekeeping (issue 11): admin actions made by the CLI become `admin-action` log lines once each (none replayed from before the start); [retention] purges by the running config, "0" keeps forever.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditedAction } from '../../../src/cli/audit.js';
import { parseConfigText } from '../../../src/config/load.js';
import { startHousekeeping } from '../../../src/server/housekeeping.js';
import type { AdminActionRow, TraceStore } from '../../../src/store/trace-store.js';
import { captureLogs } from '../../helpers/log-capture.js';

function memoryTrace(rows: AdminActionRow[]): TraceStore & { purges: [Date | null, Date | null][] } {
  const purges: [Date | null, Date | null][] = [];
  return {
    purges,
    events: () => [],
    recordAdmin: () => undefined,
    adminActionsAfter: (afterId, limit) => rows.filter((r) => r.id > afterId).slice(0, limit),
    lastAdminActionId: () => rows.reduce((n, r) => Math.max(n, r.id), 0),
    purge: (a, b) => {
      purges.push([a, b]);
      return Promise.resolve(3);
    },
  };
}

const row = (id: number, action: string, target: string | null): AdminActionRow => ({
  id,
  at: new Date('2026-12-05T10:00:00Z'),
  actor: 'root',
  action,
  target,
});

const config = (text: string) =>
  parseConfigText(text, { configPath: null, baseDir: '/tmp', defaultHostname: 'x' });

describe('housekeeping', () => {
  test('admin actions after the start are logged once each, in order', async () => {
    const rows = [row(1, 'user add', 'old@example.test')];
    const trace = memoryTrace(rows);
    const { logger, lines } = captureLogs();
    const h = startHousekeeping({
      trace,
      logger,
      config: () => config(''),
      now: () => new Date(),
      timers: false,
    });
    h.pollAdminActions();
    rows.push(row(2, 'user disable', 'bob@example.test'), row(3, 'queue flush', null));
    h.pollAdminActions();
    h.pollAdminActions();
    h.stop();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      lines.filter((l) => l.event === 'admin-action').map((l) => [l.action, l.target, l.actor]),
      [
        ['user disable', 'bob@example.test', 'root'],
        ['queue flush', null, 'root'],
      ],
    );
  });

  test('purge uses [retention] as the running config has it; "0" keeps forever', async () => {
    const trace = memoryTrace([]);
    const { logger, lines } = captureLogs();
    const now = new Date('2026-12-05T00:00:00Z');
    let current = config('[retention]\ntrace = "7d"\nadmin_actions = "0"');
    const h = startHousekeeping({ trace, logger, config: () => current, now: () => now, timers: false });
    assert.equal(await h.purge(), 3);
    current = config(''); // defaults: 30 days and 400 days
    await h.purge();
    h.stop();
    assert.deepEqual(
      trace.purges.map(([a, b]) => [a?.toISOString() ?? null, b?.toISOString() ?? null]),
      [
        ['2026-11-28T00:00:00.000Z', null],
        ['2026-11-05T00:00:00.000Z', new Date(now.getTime() - 400 * 86_400_000).toISOString()],
      ],
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(lines.filter((l) => l.event === 'retention-purged').length, 2);
  });

  test('[retention] refuses what is not a duration or "0"', () => {
    assert.throws(() => config('[retention]\ntrace = "forever"'), /retention\.trace.*"0" for forever/s);
    assert.throws(() => config('[retention]\nkeep = "1d"'), /retention/);
  });
});

describe('the CLI audit record', () => {
  const io = { env: { SUDO_USER: 'ann' } } as never;
  const of = (
    name: string,
    positionals: string[],
    values: Record<string, string | boolean | undefined> = {},
  ) => auditedAction({ name }, { positionals, values, io });

  test('changes are recorded with their target and arguments; passwords are not', () => {
    assert.deepEqual(of('user', ['add', 'a@x.test'], { password: 'hunter2 secret', config: '/etc/m.toml' }), {
      action: {
        actor: 'ann',
        action: 'user add',
        target: 'a@x.test',
        detail: { options: { password: '(given)' } },
      },
    });
    assert.deepEqual(of('alias', ['add', 'team@x.test', 'a@x.test', 'b@x.test'], { replace: true }), {
      action: {
        actor: 'ann',
        action: 'alias add',
        target: 'team@x.test',
        detail: { args: ['a@x.test', 'b@x.test'], options: { replace: true } },
      },
    });
    assert.deepEqual(of('queue', ['remove', 'Q1']), {
      action: { actor: 'ann', action: 'queue remove', target: 'Q1' },
      queueId: 'Q1',
    });
    assert.deepEqual(of('backup', ['/srv/backup']), {
      action: { actor: 'ann', action: 'backup', target: '/srv/backup' },
    });
  });

  test('reads and non-admin commands are not recorded', () => {
    assert.equal(of('user', ['list'], { json: true }), null);
    assert.equal(of('dkim', ['show', 'x.test']), null);
    assert.equal(of('serve', []), null);
    assert.equal(of('trace', ['Q1']), null);
    assert.equal(of('send', ['a@x.test']), null);
  });
});
