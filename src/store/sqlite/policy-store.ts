// SqlitePolicyStore: server secrets and greylisting rows on SQLite (tables of schema.ts migration 14).
import type { GreylistPrune, GreylistRow, PolicyStore } from '../policy-store.js';
import type { SqliteContext } from './context.js';

/** Pruning runs on one save in this many: a DELETE scan per RCPT would cost more than the check itself. */
const PRUNE_EVERY = 512;

interface Row {
  key: string;
  first_seen: number;
  passed_at: number | null;
  last_seen: number;
  passes: number;
}

export class SqlitePolicyStore implements PolicyStore {
  private saves = 0;
  /** Secrets do not change once made: one read per process. */
  private readonly secrets = new Map<string, Buffer>();

  constructor(private readonly ctx: SqliteContext) {}

  secret(name: string, create: () => Buffer): Buffer {
    const cached = this.secrets.get(name);
    if (cached) return cached;
    const read = () =>
      this.ctx
        .prepare<[string], { value: Buffer }>('SELECT value FROM server_secrets WHERE name = ?')
        .get(name)?.value;
    let value = read();
    if (!value) {
      // INSERT OR IGNORE then read: a CLI and the server making it at once agree on the first one.
      this.ctx.write(() =>
        this.ctx
          .prepare('INSERT OR IGNORE INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)')
          .run(name, create(), this.ctx.clock().getTime()),
      );
      value = read();
      if (!value) throw new Error(`server secret ${name} could not be stored`);
    }
    this.secrets.set(name, value);
    return value;
  }

  greylistRows(keys: readonly string[]): GreylistRow[] {
    const get = this.ctx.prepare<[string], Row>(
      'SELECT key, first_seen, passed_at, last_seen, passes FROM greylist WHERE key = ?',
    );
    const out: GreylistRow[] = [];
    for (const key of keys) {
      const r = get.get(key);
      if (r) {
        out.push({
          key: r.key,
          firstSeen: r.first_seen,
          passedAt: r.passed_at,
          lastSeen: r.last_seen,
          passes: r.passes,
        });
      }
    }
    return out;
  }

  greylistSave(rows: readonly GreylistRow[], prune: GreylistPrune): void {
    if (rows.length === 0) return;
    const prunes = ++this.saves % PRUNE_EVERY === 0;
    const { durable } = this.ctx.writeLazy(() => {
      const put = this.ctx.prepare(
        'INSERT OR REPLACE INTO greylist (key, first_seen, passed_at, last_seen, passes) VALUES (?, ?, ?, ?, ?)',
      );
      for (const r of rows) put.run(r.key, r.firstSeen, r.passedAt, r.lastSeen, r.passes);
      if (prunes) this.prune(prune);
    });
    durable.catch(() => undefined); // losing greylist rows only greylists a client again
  }

  private prune(p: GreylistPrune): void {
    this.ctx
      .prepare('DELETE FROM greylist WHERE last_seen < ? OR (passed_at IS NULL AND first_seen < ?)')
      .run(p.keepSince, p.unretriedSince);
    const count = this.ctx.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM greylist').get()?.n ?? 0;
    if (count > p.maxEntries) {
      this.ctx
        .prepare('DELETE FROM greylist WHERE key IN (SELECT key FROM greylist ORDER BY last_seen LIMIT ?)')
        .run(count - p.maxEntries);
    }
  }
}
