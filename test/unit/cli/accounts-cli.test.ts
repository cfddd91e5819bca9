// The CLI's account and alias rules, run in-process through main() (issue 11): password length, alias add semantics and refusals, --help, --config first.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.js';

let dir: string;
let config: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-cli-unit-'));
  config = join(dir, 'mailroom.toml');
  writeFileSync(config, 'hostname = "mx.example.test"\ndata_dir = "data"\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** One invocation; `--config` is appended unless the arguments name one. */
async function run(argv: string[], stdin = ''): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main({
    argv: argv.some((a) => a.startsWith('--config')) ? argv : [...argv, '--config', config],
    cwd: dir,
    env: {},
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    readStdin: () => Promise.resolve(stdin),
  });
  return { status, stdout, stderr };
}

async function ok(argv: string[], stdin?: string): Promise<string> {
  const r = await run(argv, stdin);
  assert.equal(r.status, 0, `mailroom ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function fails(argv: string[], pattern: RegExp, stdin?: string): Promise<void> {
  const r = await run(argv, stdin);
  assert.notEqual(r.status, 0, `mailroom ${argv.join(' ')} should fail`);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

describe('mailroom CLI: accounts and aliases', () => {
  before(async () => {
    await ok(['domain', 'add', 'example.test']);
    await ok(['user', 'add', 'alice@example.test', '--password', 'alice-password']);
    await ok(['user', 'add', 'bob@example.test', '--password', 'bob-password']);
  });

  test('[auth] min_password_length: 8 characters by default, configurable, for add and passwd', async () => {
    await fails(
      ['user', 'add', 'short@example.test', '--password', 'x'],
      /too short: 1 character\(s\), at least 8/,
    );
    await fails(
      ['user', 'add', 'short@example.test', '--password-stdin'],
      /too short: 7 .*at least 8/,
      'seven77\n',
    );
    await fails(['user', 'passwd', 'alice@example.test', '--password', '1234567'], /too short/);
    // Characters, not bytes or UTF-16 units: eight letters of any script are enough.
    await ok(['user', 'add', 'short@example.test', '--password', 'ééééèèèè']);
    await ok(['user', 'remove', 'short@example.test', '--force']);
    const strict = join(dir, 'strict.toml');
    writeFileSync(
      strict,
      'hostname = "mx.example.test"\ndata_dir = "data"\n[auth]\nmin_password_length = 12\n',
    );
    await fails(
      ['user', 'add', 'short@example.test', '--password', 'eleven-char', '--config', strict],
      /at least 12/,
    );
    writeFileSync(strict, 'data_dir = "data"\n[auth]\nmin_password_length = 0\n');
    await fails(
      ['domain', 'list', '--config', strict],
      /auth\.min_password_length: expected a positive integer/,
    );
  });

  test('alias add on an existing source adds targets; --replace replaces', async () => {
    await ok(['alias', 'add', 'desk@example.test', 'alice@example.test']);
    assert.equal(
      await ok(['alias', 'add', 'desk@example.test', 'bob@example.test,alice@example.test']),
      'alias desk@example.test -> alice@example.test, bob@example.test\n',
    );
    assert.equal(
      await ok(['alias', 'add', 'desk@example.test', 'far@remote.example', '--replace']),
      'alias desk@example.test -> far@remote.example\n',
    );
    await ok(['alias', 'remove', 'desk@example.test']);
  });

  test('alias add refuses a source that is an account and loops; user add refuses an alias source', async () => {
    await ok(['alias', 'add', 'loop-a@example.test', 'loop-b@example.test']);
    await ok(['alias', 'add', 'sales@example.test', 'bob@example.test']);
    await fails(
      ['alias', 'add', 'alice@example.test', 'bob@example.test'],
      /alice@example\.test is an account/,
    );
    await fails(
      ['alias', 'add', 'loop-b@example.test', 'loop-a@example.test'],
      /would make a loop: loop-b@example\.test -> loop-a@example\.test -> loop-b@example\.test/,
    );
    await fails(['alias', 'add', 'self@example.test', 'Self@example.test'], /cannot target itself/);
    await fails(
      ['alias', 'add', '@example.test', 'nobody@example.test'],
      /loop: @example\.test -> @example\.test/,
    );
    await fails(
      ['user', 'add', 'sales@example.test', '--password', 'sales-password'],
      /sales@example\.test is an alias/,
    );
    assert.equal(
      await ok(['alias', 'list']),
      'loop-a@example.test -> loop-b@example.test\nsales@example.test -> bob@example.test\n',
    );
    await ok(['alias', 'remove', 'loop-a@example.test']);
    await ok(['alias', 'remove', 'sales@example.test']);
  });

  test('user remove needs --force or --keep-mail (not both)', async () => {
    await fails(
      ['user', 'remove', 'bob@example.test'],
      /deletes all its mail: give --force .* or --keep-mail/,
    );
    await fails(['user', 'remove', 'bob@example.test', '--force', '--keep-mail'], /not both/);
    assert.match(await ok(['user', 'list']), /^bob@example\.test$/m);
  });
});

describe('mailroom CLI: --help and --config', () => {
  test("every command's --help lists its options; user --help shows --password-stdin, --force, --keep-mail", async () => {
    const usage = await ok(['--help']);
    const names = [...usage.matchAll(/^ {2}mailroom (\S+)/gm)].map((m) => m[1]!);
    assert.ok(names.includes('user') && names.includes('alias') && names.length >= 8, usage);
    for (const name of names) {
      const help = await ok([name, '--help']);
      assert.match(help, /^options:$/m, name);
      assert.match(help, /--config/, name);
    }
    const user = await ok(['user', '--help']);
    for (const option of ['--password-stdin', '--password', '--json', '--force', '--keep-mail'])
      assert.ok(user.includes(option), `user --help shows ${option}`);
    assert.match(user, /user disable ADDRESS/);
    assert.match(await ok(['alias', '--help']), /--replace/);
  });

  test('--config before the command (both spellings); two different paths are refused', async () => {
    assert.equal(await ok(['--config', config, 'domain', 'list']), 'example.test\n');
    assert.equal(await ok([`--config=${config}`, 'domain', 'list']), 'example.test\n');
    const r = await run(['--config', join(dir, 'other.toml'), 'domain', 'list', '--config', config]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--config given twice/);
    const missing = await run(['--config']);
    assert.equal(missing.status, 2);
  });
});
