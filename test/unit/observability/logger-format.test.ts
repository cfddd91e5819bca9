// Log line shape (issue 11): JSON with ISO times and level names by default; `text` for humans, one line per entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { stdTimeFunctions } from 'pino';
import { createLogger, type LogFormat } from '../../../src/observability/logger.js';
import { formatTextLine } from '../../../src/observability/text-format.js';

function capture(format?: LogFormat): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger({ destination, ...(format ? { format } : {}) }) };
}

test('JSON by default: "time" is an ISO 8601 UTC string, "level" a name', () => {
  const { lines, logger } = capture();
  logger.info({ event: 'login', protocol: 'imap' }, 'login');
  logger.warn('careful');
  logger.error('broken');
  const entries = lines.map((l) => JSON.parse(l) as { time: string; level: string; msg: string });
  assert.deepEqual(
    entries.map((e) => e.level),
    ['info', 'warn', 'error'],
  );
  for (const e of entries) {
    assert.match(e.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(e.time) - Date.now()) < 60_000);
  }
  // Field order for greps and fail2ban: level, time first, then the fields as given.
  assert.match(lines[0]!, /^\{"level":"info","time":"[^"]+","pid":\d+,"hostname":"[^"]*","event":"login"/);
});

test('child loggers keep the shape', () => {
  const { lines, logger } = capture();
  logger.child({ listener: 'smtp', session: 'S1' }).info({ event: 'session-start' }, 'smtp session start');
  const e = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(e.level, 'info');
  assert.equal(e.listener, 'smtp');
  assert.equal(e.session, 'S1');
});

test('text: time, level, message, then key=value; client-chosen values quoted so they cannot forge fields or lines', () => {
  const { lines, logger } = capture('text');
  logger.info(
    { event: 'auth_failed', protocol: 'imap', ip: '203.0.113.9', account: 'x ip=192.0.2.1\nforged' },
    'auth failed',
  );
  logger.warn({ results: [{ to: 'a@b.test', state: 'deferred' }], n: 3, ok: false }, 'delivery attempt');
  assert.equal(lines.length, 2);
  assert.match(
    lines[0]!,
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z info {2}auth failed event=auth_failed protocol=imap ip=203\.0\.113\.9 account="x ip=192\.0\.2\.1\\nforged"$/,
  );
  assert.match(
    lines[1]!,
    / warn {2}delivery attempt results=\[\{"to":"a@b\.test","state":"deferred"\}\] n=3 ok=false$/,
  );
  assert.doesNotMatch(lines.join('\n'), /pid=|hostname=/);
});

test('formatTextLine passes through what is not JSON', () => {
  assert.equal(formatTextLine('plain words\n'), 'plain words');
});

test('"time" is made once per millisecond, byte for byte what pino\'s isoTime writes', (t) => {
  const { lines, logger } = capture();
  t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-12-06T05:00:00.123Z') });
  const made = t.mock.method(Date.prototype, 'toISOString');
  for (let i = 0; i < 50; i++) logger.info({ event: 'delivered', i }, 'delivered');
  // At load (a) many lines share a millisecond: pino's own function made a Date and a string for each.
  assert.equal(made.mock.callCount(), 1);
  t.mock.timers.tick(1);
  logger.info('next millisecond');
  assert.equal(made.mock.callCount(), 2);
  made.mock.restore();
  assert.equal(lines.length, 51);
  for (const line of lines.slice(0, 50))
    assert.match(line, /^\{"level":"info","time":"2026-12-06T05:00:00\.123Z","pid":/);
  assert.match(lines[50]!, /"time":"2026-12-06T05:00:00\.124Z"/);
  // pino's stdTimeFunctions.isoTime, what the lines had before, for the same instant.
  assert.equal(stdTimeFunctions.isoTime(), ',"time":"2026-12-06T05:00:00.124Z"');
  assert.ok(lines[50]!.includes(stdTimeFunctions.isoTime()));
});
