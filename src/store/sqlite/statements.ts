// A per-connection cache of prepared statements: preparing is the costly part of a tiny query.
import type Database from 'better-sqlite3';

export type Prepare = <P extends unknown[] = unknown[], R = unknown>(sql: string) => Database.Statement<P, R>;

/** Returns prepare(sql) that prepares each distinct SQL text once for this connection. */
export function cachedPrepare(db: Database.Database): Prepare {
  const cache = new Map<string, Database.Statement>();
  return <P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    // The cache is keyed by SQL text; the caller's type parameters describe that same statement.
    return stmt as unknown as Database.Statement<P, R>;
  };
}
