// contrib/mailroom.service: the hardening and reload keys the README promises, and `systemd-analyze verify` where it exists.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const UNIT = resolve(import.meta.dirname, '../../../contrib/mailroom.service');
const text = readFileSync(UNIT, 'utf8');

/** Section -> key -> every value given (systemd allows repeats). */
function parseUnit(source: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current && eq > 0, `not a key=value line in a section: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('contrib/mailroom.service', () => {
  const unit = parseUnit(text);
  const service = unit.get('Service')!;
  const one = (key: string): string | undefined => service.get(key)?.at(-1);

  test('runs `mailroom serve` as its own user, reloads with SIGHUP, restarts on failure', () => {
    assert.ok(unit.get('Unit') && unit.get('Install'));
    assert.equal(one('User'), 'mailroom');
    assert.match(one('ExecStart') ?? '', /dist\/cli\.js serve --config \S+/);
    assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(one('Restart'), 'on-failure');
    assert.equal(unit.get('Install')!.get('WantedBy')?.[0], 'multi-user.target');
  });

  test('hardened: read-only system, data_dir writable, only the low-port capability, no new privileges', () => {
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('ReadWritePaths'), '/var/lib/mailroom');
    assert.equal(one('NoNewPrivileges'), 'yes');
    assert.equal(one('PrivateTmp'), 'yes');
    assert.equal(one('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
    assert.equal(one('CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
    assert.equal(one('UMask'), '0077');
    // V8's JIT needs writable executable pages: this key would stop Node from starting.
    assert.equal(service.has('MemoryDenyWriteExecute'), false);
  });

  test(
    'systemd-analyze verify finds nothing to say',
    { skip: !hasSystemdAnalyze && 'systemd-analyze not installed' },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'mailroom-unit-'));
      try {
        // verify checks that ExecStart's program exists: point it at this node.
        const path = join(dir, 'mailroom.service');
        writeFileSync(path, text.replace('/usr/bin/node ', `${process.execPath} `));
        const result = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
        assert.equal(result.status, 0, result.stderr);
        // Unknown or misspelt keys are only warnings ("... ignoring"): the unit must have none.
        assert.doesNotMatch(`${result.stdout}${result.stderr}`, /mailroom\.service:\d+:|Unknown|ignoring/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
