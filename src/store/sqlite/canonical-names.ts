// Brings domain names stored by older versions to today's one canonical form (names.ts: U-labels), once.
import type Database from 'better-sqlite3';
import { normalizeDomain } from './names.js';

/** The canonical form of a stored domain, or null when it is already canonical or cannot be read as one. */
function canonical(domain: string): string | null {
  try {
    const c = normalizeDomain(domain);
    return c === domain ? null : c;
  } catch {
    return null; // refused today, but stored before: left as it is rather than lost
  }
}

/** `local@domain` (or `@domain`) with its domain made canonical; null when nothing changes. */
function canonicalAddress(address: string): string | null {
  const at = address.lastIndexOf('@');
  if (at < 0) return null;
  const domain = canonical(address.slice(at + 1));
  return domain === null ? null : `${address.slice(0, at + 1)}${domain}`;
}

/**
 * Before domains were canonical, `xn--bcher-kva.test` was stored as written, and lookups now turn every
 * A-label into its U-label, so such a domain (its accounts, its aliases) would stop receiving mail after an
 * upgrade. This rewrites those rows in one transaction. It runs at every open but costs one indexed-free
 * LIKE over three small tables when there is nothing to do. A name whose canonical form is already stored
 * too (the two were separate domains before) is left as it was: merging two mailboxes' owners is not ours
 * to decide.
 */
export function canonicalizeStoredNames(db: Database.Database): number {
  const pending = db
    .prepare(
      "SELECT (SELECT COUNT(*) FROM domains WHERE name LIKE '%xn--%') + " +
        "(SELECT COUNT(*) FROM accounts WHERE address LIKE '%xn--%') + " +
        "(SELECT COUNT(*) FROM aliases WHERE source LIKE '%xn--%' OR target LIKE '%xn--%')",
    )
    .pluck()
    .get() as number;
  if (pending === 0) return 0;
  let changed = 0;
  db.transaction(() => {
    const exists = db.prepare('SELECT 1 FROM domains WHERE name = ?').pluck();
    const domains = db.prepare("SELECT name, created_at FROM domains WHERE name LIKE '%xn--%'").all() as {
      name: string;
      created_at: number;
    }[];
    for (const { name, created_at } of domains) {
      const target = canonical(name);
      if (target === null || exists.get(target) !== undefined) continue;
      // The new parent row first, then the children, then the old row: accounts.domain references it.
      db.prepare('INSERT INTO domains (name, created_at) VALUES (?, ?)').run(target, created_at);
      const accounts = db.prepare('SELECT id, address FROM accounts WHERE domain = ?').all(name) as {
        id: number;
        address: string;
      }[];
      for (const a of accounts) {
        db.prepare('UPDATE accounts SET address = ?, domain = ? WHERE id = ?').run(
          canonicalAddress(a.address) ?? a.address,
          target,
          a.id,
        );
      }
      db.prepare('UPDATE aliases SET domain = ? WHERE domain = ?').run(target, name);
      db.prepare('DELETE FROM domains WHERE name = ?').run(name);
      changed++;
    }
    const aliases = db
      .prepare("SELECT source, target FROM aliases WHERE source LIKE '%xn--%' OR target LIKE '%xn--%'")
      .all() as { source: string; target: string }[];
    for (const a of aliases) {
      const source = canonicalAddress(a.source) ?? a.source;
      const target = canonicalAddress(a.target) ?? a.target;
      if (source === a.source && target === a.target) continue;
      db.prepare('UPDATE OR IGNORE aliases SET source = ?, target = ? WHERE source = ? AND target = ?').run(
        source,
        target,
        a.source,
        a.target,
      );
      changed++;
    }
  }).immediate();
  return changed;
}
