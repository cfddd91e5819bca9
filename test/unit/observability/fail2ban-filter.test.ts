// README's fail2ban filter, run by the real fail2ban-regex (Debian's fail2ban) over lines our logger writes: it finds the IP and parses the ISO time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/observability/logger.js';

test('fail2ban-regex with the README filter matches each auth_failed line once, with its time', () => {
  const found = spawnSync('fail2ban-regex', ['--version'], { encoding: 'utf8' });
  assert.ok(
    !found.error,
    'fail2ban-regex is missing: scripts/install-test-tools.sh installs Debian fail2ban',
  );
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const filter = /```ini\n(\[Definition\][\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(filter, 'README has the [Definition] block');
  const lines: string[] = [];
  const logger = createLogger({
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  // One real failure, and a client-chosen account name that imitates another line's fields.
  const forged = 'x","event":"auth_failed","protocol":"smtp","ip":"192.0.2.200';
  logger.info(
    { event: 'auth_failed', protocol: 'imap', ip: '203.0.113.9', account: 'a@example.test' },
    'auth failed',
  );
  logger.info({ event: 'auth_failed', protocol: 'pop3', ip: '2001:db8::7', account: forged }, 'auth failed');
  logger.info({ event: 'login', protocol: 'imap', ip: '198.51.100.1', account: 'a@example.test' }, 'login');
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-f2b-'));
  try {
    writeFileSync(join(dir, 'mailroom.conf'), filter);
    writeFileSync(join(dir, 'mailroom.log'), lines.join(''));
    const run = spawnSync(
      'fail2ban-regex',
      ['-v', '--print-all-matched', join(dir, 'mailroom.log'), join(dir, 'mailroom.conf')],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Lines: 3 lines, 0 ignored, 2 matched, 1 missed/);
    assert.match(run.stdout, /203\.0\.113\.9 /);
    assert.match(run.stdout, /2001:db8::7 /);
    assert.doesNotMatch(run.stdout, /192\.0\.2\.200 /);
    // The date template hit every line: the ISO time was parsed, not the time of the run.
    assert.match(run.stdout, /Date template hits:\n\|- \[# of hits\] date format\n\| {2}\[3\] "time":/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
