// The CLI as a user runs it (`node dist/cli.js`): admin commands with --json, one-line errors, config errors, serve + SIGTERM.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, freePorts } from '../helpers/mailroom-process.js';

let dir: string;
let configPath: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-cli-'));
  configPath = join(dir, 'mailroom.toml');
  // Relative data_dir: resolved against the config file's folder, not the cwd of the test.
  writeFileSync(configPath, 'hostname = "mx.example.test"\ndata_dir = "data"\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], options: { input?: string; config?: string | null; cwd?: string } = {}) {
  const extra = options.config === null ? [] : ['--config', options.config ?? configPath];
  const result = spawnSync(process.execPath, [CLI, ...args, ...extra], {
    input: options.input ?? '',
    encoding: 'utf8',
    cwd: options.cwd ?? tmpdir(),
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function ok(args: string[], input?: string): string {
  const result = run(args, input === undefined ? {} : { input });
  assert.equal(result.status, 0, `mailroom ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** Like run(), but async so independent failing commands can run side by side (each process is mostly start-up). */
function runAsync(args: string[], options: { input?: string; config?: string | null } = {}) {
  const extra = options.config === null ? [] : ['--config', options.config ?? configPath];
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, [CLI, ...args, ...extra], { cwd: tmpdir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.end(options.input ?? '');
    child.once('close', (status) => done({ status, stdout, stderr }));
  });
}

async function fails(
  args: string[],
  pattern: RegExp,
  options: { input?: string; config?: string | null } = {},
): Promise<void> {
  const result = await runAsync(args, options);
  assert.notEqual(result.status, 0, `mailroom ${args.join(' ')} should fail`);
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line: ${JSON.stringify(result.stderr)}`);
  assert.match(result.stderr, pattern);
}

describe('admin commands', () => {
  test('domain add / list --json / remove', () => {
    ok(['domain', 'add', 'Example.TEST']);
    ok(['domain', 'add', 'spare.test']);
    assert.deepEqual(JSON.parse(ok(['domain', 'list', '--json'])), [
      { name: 'example.test' },
      { name: 'spare.test' },
    ]);
    ok(['domain', 'remove', 'spare.test']);
    assert.deepEqual(JSON.parse(ok(['domain', 'list', '--json'])), [{ name: 'example.test' }]);
    assert.equal(ok(['domain', 'list']), 'example.test\n');
  });

  test('user add (--password and --password-stdin) / list --json / passwd / remove', () => {
    ok(['user', 'add', 'alice@example.test', '--password', 'alice-pw']);
    ok(['user', 'add', 'Bob@Example.test', '--password-stdin'], 'bob-password\n');
    const users = JSON.parse(ok(['user', 'list', '--json'])) as { address: string; created_at: string }[];
    assert.deepEqual(
      users.map((u) => u.address),
      ['alice@example.test', 'bob@example.test'],
    );
    assert.ok(users.every((u) => !Number.isNaN(Date.parse(u.created_at))));
    assert.ok(!JSON.stringify(users).includes('scrypt'), 'no password hashes in the listing');
    ok(['user', 'passwd', 'bob@example.test', '--password', 'new-password']);
    ok(['user', 'add', 'temp@example.test', '--password', 'temp-password']);
    ok(['user', 'remove', 'temp@example.test', '--force']);
    assert.equal(ok(['user', 'list']), 'alice@example.test\nbob@example.test\n');
  });

  test('user disable / enable / remove --keep-mail / list --json with state, last_login, quota, usage', () => {
    ok(['user', 'add', 'erin@example.test', '--password', 'erin-password']);
    assert.equal(ok(['user', 'disable', 'Erin@example.test']), 'user erin@example.test disabled\n');
    assert.match(ok(['user', 'list']), /^erin@example\.test \(disabled\)$/m);
    type Entry = {
      address: string;
      state: string;
      disabled: boolean;
      last_login: string | null;
      quota: { bytes: number | null; messages: number | null } | null;
      usage: { bytes: number; messages: number };
    };
    const erin = () =>
      (JSON.parse(ok(['user', 'list', '--json'])) as Entry[]).find((u) => u.address === 'erin@example.test');
    assert.deepEqual(
      { ...erin(), created_at: undefined },
      {
        address: 'erin@example.test',
        created_at: undefined,
        state: 'disabled',
        disabled: true,
        last_login: null,
        quota: null,
        usage: { bytes: 0, messages: 0 },
      },
    );
    ok(['user', 'enable', 'erin@example.test']);
    assert.equal(erin()?.disabled, false);
    assert.match(ok(['user', 'remove', 'erin@example.test', '--keep-mail']), /mailboxes are kept/);
    assert.equal(erin()?.state, 'removed');
    assert.match(ok(['user', 'list']), /^erin@example\.test \(removed, mail kept\)$/m);
    ok(['user', 'remove', 'erin@example.test', '--force']);
    assert.equal(erin(), undefined);
  });

  test('user quota ADDRESS SIZE [--messages N]: shown by list --json; 0 removes it; bad sizes are usage errors', async () => {
    ok(['user', 'add', 'quinn@example.test', '--password', 'quinn-password']);
    type Entry = { address: string; quota: { bytes: number | null; messages: number | null } | null };
    const quinn = () =>
      (JSON.parse(ok(['user', 'list', '--json'])) as Entry[]).find((u) => u.address === 'quinn@example.test');
    assert.equal(
      ok(['user', 'quota', 'Quinn@example.test', '2G']),
      'storage quota of quinn@example.test set to 2147483648 octets\n',
    );
    assert.deepEqual(quinn()?.quota, { bytes: 2 * 1024 ** 3, messages: null });
    ok(['user', 'quota', 'quinn@example.test', '500M', '--messages', '1000']);
    assert.deepEqual(quinn()?.quota, { bytes: 500 * 1024 ** 2, messages: 1000 });
    ok(['user', 'quota', 'quinn@example.test', '0', '--messages', '0']);
    assert.equal(quinn()?.quota, null);
    await Promise.all([
      fails(['user', 'quota', 'quinn@example.test', 'lots'], /not a size: "lots"/),
      fails(['user', 'quota', 'nobody@example.test', '1G'], /no such account: nobody@example\.test/),
      fails(['user', 'quota', 'quinn@example.test'], /missing size/),
    ]);
    ok(['user', 'remove', 'quinn@example.test', '--force']);
  });

  test('--config before or after the command', () => {
    const before = spawnSync(process.execPath, [CLI, '--config', configPath, 'domain', 'list'], {
      encoding: 'utf8',
      cwd: tmpdir(),
    });
    assert.equal(before.status, 0, before.stderr);
    assert.equal(before.stdout, 'example.test\n');
    const equals = spawnSync(process.execPath, [CLI, `--config=${configPath}`, 'domain', 'list', '--json'], {
      encoding: 'utf8',
      cwd: tmpdir(),
    });
    assert.deepEqual(JSON.parse(equals.stdout), [{ name: 'example.test' }]);
  });

  test('alias add (comma list, catch-all) / list --json / remove', () => {
    ok(['alias', 'add', 'team@example.test', 'alice@example.test,bob@example.test,ext@remote.example']);
    ok(['alias', 'add', '@example.test', 'alice@example.test']);
    assert.deepEqual(JSON.parse(ok(['alias', 'list', '--json'])), [
      { source: '@example.test', targets: ['alice@example.test'] },
      {
        source: 'team@example.test',
        targets: ['alice@example.test', 'bob@example.test', 'ext@remote.example'],
      },
    ]);
    ok(['alias', 'remove', '@example.test']);
    assert.equal((JSON.parse(ok(['alias', 'list', '--json'])) as unknown[]).length, 1);
  });

  test('errors: non-zero exit and one line on stderr', async () => {
    await Promise.all([
      fails(['user', 'add', 'carol@elsewhere.test', '--password', 'x-password'], /not a local domain/),
      fails(['user', 'add', 'not-an-address', '--password', 'x-password'], /invalid address/),
      fails(['user', 'add', 'alice@example.test', '--password', 'x-password'], /already exists/),
      fails(['user', 'add', 'dave@example.test'], /--password/),
      fails(['user', 'add', 'dave@example.test', '--password-stdin'], /empty/, { input: '\n' }),
      fails(['user', 'remove', 'nobody@example.test', '--force'], /no such account/),
      fails(['user', 'remove', 'alice@example.test'], /deletes all its mail: give --force .* or --keep-mail/),
      fails(['user', 'disable', 'nobody@example.test'], /no such account/),
      fails(['user', 'passwd', 'nobody@example.test', '--password', 'x-password'], /no such account/),
      fails(['alias', 'remove', 'nothing@example.test'], /no such alias/),
      fails(['alias', 'add', 'x@example.test'], /missing target/),
      fails(['domain', 'remove', 'never.test'], /no such domain/),
      fails(['domain', 'frobnicate'], /unknown action/),
      fails(['frobnicate'], /unknown command/),
      fails(['user', 'list', '--bogus'], /Unknown option '--bogus'/),
      fails(['domain', 'list'], /cannot read .*missing\.toml/, { config: join(dir, 'missing.toml') }),
    ]);
  });

  test('MAILROOM_CONFIG and ./mailroom.toml are found without --config', () => {
    const result = spawnSync(process.execPath, [CLI, 'domain', 'list'], { cwd: dir, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'example.test\n');
    const viaEnv = spawnSync(process.execPath, [CLI, 'domain', 'list'], {
      cwd: tmpdir(),
      encoding: 'utf8',
      env: { ...process.env, MAILROOM_CONFIG: configPath },
    });
    assert.equal(viaEnv.stdout, 'example.test\n');
  });

  test('token create (printed once) / list --json (no token in it) / revoke', async () => {
    const made = JSON.parse(ok(['token', 'create', 'Alice@example.test', '--name', 'phone', '--json'])) as {
      id: number;
      address: string;
      token: string;
    };
    assert.equal(made.address, 'alice@example.test');
    assert.match(made.token, /^mrt_[A-Za-z0-9_-]{43}$/);
    const plain = ok(['token', 'create', 'alice@example.test']).trim().split('\n');
    assert.match(plain[plain.length - 1]!, /^mrt_[A-Za-z0-9_-]{43}$/);
    const listed = ok(['token', 'list', '--json']);
    assert.ok(!listed.includes(made.token), 'the list never shows a token');
    const rows = JSON.parse(listed) as { id: number; address: string; name: string }[];
    assert.deepEqual(
      rows.map((r) => [r.address, r.name]),
      [
        ['alice@example.test', 'phone'],
        ['alice@example.test', ''],
      ],
    );
    ok(['token', 'revoke', String(made.id)]);
    assert.equal((JSON.parse(ok(['token', 'list', '--json'])) as unknown[]).length, 1);
    await Promise.all([
      fails(['token', 'revoke', String(made.id)], /no such token/),
      fails(['token', 'create', 'nobody@example.test'], /no such account/),
      fails(['token', 'create'], /missing address/),
    ]);
  });
});

describe('serve', () => {
  test('an unknown config key stops start-up with one line naming it', async () => {
    const bad = join(dir, 'bad.toml');
    const bad2 = join(dir, 'bad2.toml');
    writeFileSync(bad, 'data_dir = "data"\n[limits]\nmax_recipent = 5\n');
    writeFileSync(bad2, 'data_dir = "data"\n[limits]\nmax_recipients = "x"\n');
    await Promise.all([
      fails(['serve'], /config: limits\.max_recipent: unknown key/, { config: bad }),
      fails(['serve'], /config: limits\.max_recipients: expected a positive integer, got "x"/, {
        config: bad2,
      }),
    ]);
  });

  test('prints ready on free ports, accepts SMTP, exits 0 on SIGTERM', async () => {
    const [smtp, submission, submissions] = (await freePorts(3)) as [number, number, number];
    const config = join(dir, 'serve.toml');
    writeFileSync(
      config,
      [
        'hostname = "mx.example.test"',
        'data_dir = "data"',
        `[smtp]\nlisten = ["127.0.0.1:${smtp}"]`,
        `[submission]\nlisten = ["127.0.0.1:${submission}"]`,
        `[submissions]\nlisten = ["127.0.0.1:${submissions}"]`,
        ...['imap', 'imaps', 'pop3', 'pop3s', 'http', 'https', 'metrics'].map((s) => `[${s}]\nlisten = []`),
      ].join('\n'),
    );
    const child = spawn(process.execPath, [CLI, 'serve', '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      await new Promise<void>((ready, fail) => {
        let buffer = '';
        const timer = setTimeout(
          () => fail(new Error(`no ready line: ${lines.join('\n')}${stderr}`)),
          15_000,
        );
        child.stdout.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            lines.push(buffer.slice(0, nl));
            buffer = buffer.slice(nl + 1);
            if (lines.at(-1)!.includes('ready')) {
              clearTimeout(timer);
              ready();
            }
          }
        });
        void exited.then((code) => fail(new Error(`exited ${code}: ${stderr}`)));
      });
      for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `JSON log line: ${line}`);
      const ready = JSON.parse(lines.at(-1)!) as { msg: string; listening: Record<string, string[]> };
      assert.equal(ready.msg, 'ready');
      assert.deepEqual(ready.listening.smtp, [`127.0.0.1:${smtp}`]);
      assert.deepEqual(ready.listening.submissions, [`127.0.0.1:${submissions}`]);

      const greeting = await new Promise<string>((done, fail) => {
        const socket = connect(smtp, '127.0.0.1');
        socket.once('data', (d) => {
          done(d.toString());
          socket.end('QUIT\r\n');
        });
        socket.once('error', fail);
      });
      assert.match(greeting, /^220 mx\.example\.test /);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
  });
});
