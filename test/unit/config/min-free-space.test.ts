// [limits] min_free_space: sizes with 1024-based units, percentages, the default, and one-line errors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../../src/config/load.js';
import { parseMinFreeSpace, parseSize } from '../../../src/config/schema.js';
import { floorBytes } from '../../../src/store/free-space.js';

const parse = (text: string) =>
  parseConfigText(text, { configPath: '/etc/m/m.toml', baseDir: '/etc/m', defaultHostname: 'box.test' });

describe('parseSize (CONTRACT.md: bytes, or a 1024-based unit)', () => {
  const rows: [string, number | null][] = [
    ['0', 0],
    ['123', 123],
    ['20K', 20 * 1024],
    ['500M', 500 * 1024 ** 2],
    ['2G', 2 * 1024 ** 3],
    ['1g', 1024 ** 3],
    ['1T', 1024 ** 4],
    ['', null],
    ['1.5G', null],
    ['-1G', null],
    ['1 G', null],
    ['1GB', null],
    ['G', null],
    ['999999999999999T', null],
  ];
  for (const [text, expected] of rows)
    test(JSON.stringify(text), () => assert.equal(parseSize(text), expected));
});

describe('parseMinFreeSpace', () => {
  const rows: [number | string, { bytes: number | null; percent: number | null } | null][] = [
    ['1G', { bytes: 1024 ** 3, percent: null }],
    [1048576, { bytes: 1048576, percent: null }],
    [0, { bytes: 0, percent: null }],
    ['5%', { bytes: null, percent: 5 }],
    ['0.5%', { bytes: null, percent: 0.5 }],
    ['100%', null],
    ['5 %', null],
    [-1, null],
    [1.5, null],
    ['lots', null],
  ];
  for (const [value, expected] of rows) {
    test(JSON.stringify(value), () => {
      const got = parseMinFreeSpace(value);
      if (expected === null) assert.equal(typeof got, 'string');
      else assert.deepEqual(got, expected);
    });
  }
});

describe('floorBytes: the smaller of the size and the percentage', () => {
  const GiB = 1024 ** 3;
  test('default on a 10 GiB disk: 5% (512 MiB) is smaller than 1 GiB', () =>
    assert.equal(floorBytes({ bytes: GiB, percent: 5 }, 10 * GiB), GiB / 2));
  test('default on a 4 TiB disk: 1 GiB, not 200 GiB', () =>
    assert.equal(floorBytes({ bytes: GiB, percent: 5 }, 4096 * GiB), GiB));
  test('only a size, only a percentage, 0 = off', () => {
    assert.equal(floorBytes({ bytes: 2 * GiB, percent: null }, 4096 * GiB), 2 * GiB);
    assert.equal(floorBytes({ bytes: null, percent: 10 }, 100 * GiB), 10 * GiB);
    assert.equal(floorBytes({ bytes: 0, percent: null }, 100 * GiB), 0);
  });
});

describe('[limits] min_free_space in the config file', () => {
  test('absent: the smaller of 1 GiB and 5%', () =>
    assert.deepEqual(parse('').limits.minFreeSpace, { bytes: 1024 ** 3, percent: 5 }));
  test('a size string, bytes, a percentage', () => {
    assert.deepEqual(parse('[limits]\nmin_free_space = "500M"').limits.minFreeSpace, {
      bytes: 500 * 1024 ** 2,
      percent: null,
    });
    assert.deepEqual(parse('[limits]\nmin_free_space = 0').limits.minFreeSpace, { bytes: 0, percent: null });
    assert.deepEqual(parse('[limits]\nmin_free_space = "10%"').limits.minFreeSpace, {
      bytes: null,
      percent: 10,
    });
  });
  for (const bad of ['"1 GB"', '"200%"', 'true']) {
    test(`refuses ${bad} on one line naming the key`, () => {
      assert.throws(
        () => parse(`[limits]\nmin_free_space = ${bad}`),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(
            error.message,
            /^config: limits\.min_free_space: expected a size \("1G", "500M", bytes\) or a percentage below 100 \("5%"\), got /,
          );
          assert.ok(!error.message.includes('\n'));
          return true;
        },
      );
    });
  }
});
