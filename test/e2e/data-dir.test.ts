// data_dir as a user meets it (issue 8 item 9): unusable folders are one line and exit 1, never a hang; everything under it is private.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, lstatSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CLI, createMailroom } from '../helpers/mailroom-process.js';
import { LISTENER_DEFAULTS } from '../../src/config/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'mailroom-datadir-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let configs = 0;
function configFor(dataDir: string): string {
  const path = join(dir, `c${configs++}.toml`);
  // Listeners off: the data_dir problem must be found before any port matters.
  const off = Object.keys(LISTENER_DEFAULTS);
  writeFileSync(
    path,
    [`data_dir = ${JSON.stringify(dataDir)}`, ...off.map((l) => `[${l}]\nlisten = []`)].join('\n'),
  );
  chmodSync(path, 0o644);
  return path;
}

/** Runs the CLI (optionally as another user, or through a wrapper); a hang shows as status null after 15 s. */
function run(args: string[], options: { uid?: number; wrap?: string[] } = {}) {
  const [command, ...prefix] = options.wrap ?? [process.execPath];
  const result = spawnSync(command!, [...prefix, ...(options.wrap ? [process.execPath] : []), CLI, ...args], {
    encoding: 'utf8',
    cwd: tmpdir(),
    timeout: 15_000,
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
  });
  return { status: result.status, stderr: result.stderr };
}

function assertOneLine(result: { status: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(result.status, 1, `exit 1 (null = hung): ${result.stderr}`);
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line: ${JSON.stringify(result.stderr)}`);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, /internal error/);
}

describe('an unusable data_dir is one line on stderr and exit 1', () => {
  const aFile = join(dir, 'a-file');
  writeFileSync(aFile, 'not a folder\n');
  const cases: [string, string, RegExp][] = [
    [
      'on /proc (used to hang forever)',
      '/proc/nope',
      /^mailroom: data_dir \/proc\/nope: cannot create it: .*ENOENT/,
    ],
    [
      'two levels under /proc',
      '/proc/nope/deeper',
      /data_dir \/proc\/nope\/deeper: cannot create \/proc\/nope/,
    ],
    ['/proc itself (a pseudo file system)', '/proc', /data_dir \/proc: is on the proc pseudo file system/],
    ['a file', aFile, /data_dir .*a-file: is a file, not a folder/],
    [
      'under a file (parent not creatable)',
      join(aFile, 'sub'),
      /data_dir .*a-file\/sub: a part of its path is a file/,
    ],
  ];
  for (const [name, dataDir, pattern] of cases) {
    for (const command of [['domain', 'list'], ['serve']]) {
      test(`${name}: ${command.join(' ')}`, () =>
        assertOneLine(run([...command, '--config', configFor(dataDir)]), pattern));
    }
  }

  test('a read-only file system', (t) => {
    const mountPoint = join(dir, 'ro-mount');
    mkdirSync(mountPoint);
    const probe = spawnSync('unshare', [
      '-m',
      'mount',
      '-t',
      'tmpfs',
      '-o',
      'ro,size=1m',
      'none',
      mountPoint,
    ]);
    if (probe.status !== 0) return t.skip('needs unshare -m and mount (root with CAP_SYS_ADMIN)');
    const config = configFor(mountPoint);
    // A private mount namespace: the read-only tmpfs exists only for this one command.
    const wrap = [
      'unshare',
      '-m',
      'sh',
      '-c',
      `mount -t tmpfs -o ro,size=1m none '${mountPoint}' && exec "$@"`,
      'sh',
    ];
    assertOneLine(
      run(['domain', 'list', '--config', config], { wrap }),
      /data_dir .*ro-mount: not writable: read-only file system \(EROFS\)/,
    );
  });

  test('a folder the server user may not write', (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to run the CLI as nobody');
    const locked = join(dir, 'locked');
    mkdirSync(join(locked, 'data'), { recursive: true });
    chmodSync(dir, 0o755);
    chmodSync(locked, 0o755);
    chmodSync(join(locked, 'data'), 0o755); // root's, readable by all, writable by root alone
    const result = run(['domain', 'list', '--config', configFor(join(locked, 'data'))], { uid: 65534 });
    assertOneLine(result, /data_dir .*locked\/data: not writable: permission denied \(EACCES\)/);
  });
});

/** Modes of everything under `root` that is not 0600 (files) or 0700 (folders), as "path mode". */
function notPrivate(root: string): string[] {
  const wrong: string[] = [];
  const visit = (path: string): void => {
    const st = lstatSync(path);
    const mode = st.mode & 0o777;
    if (st.isDirectory()) {
      if (mode !== 0o700) wrong.push(`${relative(root, path) || '.'} ${mode.toString(8)}`);
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (mode !== 0o600) wrong.push(`${relative(root, path)} ${mode.toString(8)}`);
  };
  visit(root);
  return wrong;
}

/** One SMTP transaction, reply by reply (the test only needs the happy path). */
async function sendMail(port: number, rcpt: string, body: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port });
  let buffer = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    waiters.splice(0).forEach((w) => w());
  });
  const reply = async (): Promise<string> => {
    for (;;) {
      const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(buffer);
      if (m) {
        buffer = buffer.slice(m.index + m[0].length);
        return m[0].trimEnd();
      }
      await new Promise<void>((done, fail) => {
        const timer = setTimeout(
          () => fail(new Error(`no SMTP reply; have ${JSON.stringify(buffer)}`)),
          10_000,
        );
        waiters.push(() => (clearTimeout(timer), done()));
      });
    }
  };
  try {
    await reply();
    for (const line of ['EHLO client.test', 'MAIL FROM:<a@remote.test>', `RCPT TO:<${rcpt}>`, 'DATA']) {
      socket.write(`${line}\r\n`);
      await reply();
    }
    socket.write(`Subject: modes\r\n\r\n${body}\r\n.\r\n`);
    return await reply();
  } finally {
    socket.destroy();
  }
}

test('everything under data_dir is 0600/0700; older 0644/0755 data is fixed on start with one log line', async () => {
  const instance = await createMailroom();
  try {
    instance.cli(['domain', 'add', 'example.test']);
    instance.cli(['user', 'add', 'bob@example.test', '--password', 'secret-password']);
    assert.deepEqual(notPrivate(instance.dataDir), [], 'made by the CLI');
    // As an older version (umask 022) left them:
    chmodSync(instance.dataDir, 0o755);
    chmodSync(join(instance.dataDir, 'blobs'), 0o755);
    chmodSync(join(instance.dataDir, 'mailroom.db'), 0o644);
    await instance.start();
    const fixedLine = instance.output.find((l) => l.includes('data_dir: made files 0600'));
    assert.ok(fixedLine, instance.output.join('\n'));
    const entry = JSON.parse(fixedLine) as { count: number; paths: string[] };
    assert.equal(entry.count, 3);
    assert.deepEqual([...entry.paths].sort(), ['.', 'blobs', 'mailroom.db']);
    // A body over the inline limit is a blob file; the spool and the TLS pair are written too.
    const reply = await sendMail(
      instance.ports.smtp,
      'bob@example.test',
      `${'x'.repeat(70)}\r\n`.repeat(1_500),
    );
    assert.match(reply, /^250 /);
    assert.deepEqual(notPrivate(instance.dataDir), [], 'made by the server');
    assert.ok(readdirSync(join(instance.dataDir, 'blobs')).length > 0, 'a blob file was checked');
    assert.ok(readdirSync(join(instance.dataDir, 'tls')).includes('key.pem'));
    assert.equal(instance.output.filter((l) => l.includes('data_dir: made files')).length, 1);
  } finally {
    await instance.cleanup();
  }
});

test('domain add foo.test. stores foo.test, which then receives mail', async () => {
  const instance = await createMailroom();
  try {
    assert.equal(instance.cli(['domain', 'add', 'Foo.Test.']), 'domain foo.test added\n');
    assert.equal(instance.cli(['domain', 'list']), 'foo.test\n');
    instance.cli(['user', 'add', 'bob@foo.test', '--password', 'secret-password']);
    assert.equal(instance.cli(['domain', 'add', 'xn--bcher-kva.test']), 'domain bücher.test added\n');
    const bad = spawnSync(
      process.execPath,
      [CLI, 'domain', 'add', 'foo_bar.test', '--config', instance.configPath],
      { encoding: 'utf8' },
    );
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /invalid domain name "foo_bar.test"/);
    await instance.start();
    assert.match(await sendMail(instance.ports.smtp, 'bob@foo.test.', 'hello'), /^(250|5)/);
    assert.match(await sendMail(instance.ports.smtp, 'bob@FOO.test', 'hello'), /^250 /);
  } finally {
    await instance.cleanup();
  }
});
