// Every config key the schema accepts is documented in README.md's Configuration block (DESIGN habit 18:
// what users read is documented where they look, and a test fails when the two disagree).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rawConfigSchema } from '../../../src/config/schema.js';

interface Def {
  type?: string;
  innerType?: unknown;
  in?: unknown;
  shape?: Record<string, unknown>;
}
const defOf = (t: unknown): Def | undefined => (t as { _zod?: { def?: Def } } | undefined)?._zod?.def;

/** Dotted paths of the schema's keys (optional/default/pipe wrappers looked through). */
function schemaKeys(t: unknown, prefix = ''): string[] {
  let d = defOf(t);
  while (d && (d.type === 'optional' || d.type === 'nullable' || d.type === 'default' || d.type === 'pipe')) {
    d = defOf(d.type === 'pipe' ? d.in : d.innerType);
  }
  if (!d?.shape) return [];
  return Object.entries(d.shape).flatMap(([k, v]) => [`${prefix}${k}`, ...schemaKeys(v, `${prefix}${k}.`)]);
}

/** Keys written in README's toml blocks under ## Configuration, as section.key (commented-out ones too). */
function documentedKeys(readme: string): Set<string> {
  const section = readme.slice(readme.indexOf('## Configuration'));
  const out = new Set<string>();
  for (const block of section.matchAll(/```toml\n([\s\S]*?)```/g)) {
    let table = '';
    for (const line of block[1]!.split('\n')) {
      const header = /^#?\s*\[([a-z0-9_.]+)(?:\.".*")?\]/.exec(line);
      if (header) {
        table = header[1]!;
        out.add(table);
        continue;
      }
      const key = /^#?\s*([a-z_]+)\s*=/.exec(line);
      if (key) out.add(table ? `${table}.${key[1]}` : key[1]!);
    }
  }
  return out;
}

test('README.md documents every key of the config schema', () => {
  const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');
  const documented = documentedKeys(readme);
  const missing = schemaKeys(rawConfigSchema).filter((k) => !documented.has(k));
  assert.deepEqual(missing, [], `keys missing from README.md's Configuration block: ${missing.join(', ')}`);
});
