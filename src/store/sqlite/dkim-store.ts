// SqliteDkimStore: the dkim_keys table (migration 15) behind the DkimStore interface.
import { MailroomError } from '../../errors.js';
import {
  pickSigningKey,
  type DkimAlgorithm,
  type DkimKey,
  type DkimStore,
  type NewDkimKey,
} from '../dkim-store.js';
import type { SqliteContext } from './context.js';
import { normalizeDomain } from './names.js';

interface Row {
  domain: string;
  selector: string;
  algorithm: string;
  private_key: string;
  public_key: string;
  created_at: number;
  activated_at: number | null;
  inactive: number;
}

const COLUMNS = 'domain, selector, algorithm, private_key, public_key, created_at, activated_at, inactive';

function toKey(r: Row): DkimKey {
  return {
    domain: r.domain,
    selector: r.selector,
    algorithm: r.algorithm as DkimAlgorithm,
    privateKeyPem: r.private_key,
    publicKey: r.public_key,
    createdAt: new Date(r.created_at),
    activatedAt: r.activated_at === null ? null : new Date(r.activated_at),
    inactive: r.inactive !== 0,
  };
}

export class SqliteDkimStore implements DkimStore {
  constructor(private readonly ctx: SqliteContext) {}

  addKey(key: NewDkimKey): DkimKey {
    const domain = normalizeDomain(key.domain);
    const selector = key.selector.toLowerCase();
    return this.ctx.write(() => {
      if (!this.ctx.prepare<[string], { n: number }>('SELECT 1 AS n FROM domains WHERE name = ?').get(domain))
        throw new MailroomError('DOMAIN_NOT_LOCAL', `domain ${domain} is not local`);
      if (this.get(domain, selector))
        throw new MailroomError('DKIM_KEY_EXISTS', `a DKIM key ${selector} for ${domain} already exists`);
      // Strictly after every key of the domain, so "newest" is well defined even within one millisecond.
      const last = this.ctx
        .prepare<[string], { t: number | null }>(
          'SELECT MAX(created_at) AS t FROM dkim_keys WHERE domain = ?',
        )
        .get(domain)?.t;
      const createdAt = Math.max(this.ctx.clock().getTime(), (last ?? -1) + 1);
      this.ctx
        .prepare(`INSERT INTO dkim_keys (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)`)
        .run(
          domain,
          selector,
          key.algorithm,
          key.privateKeyPem,
          key.publicKey,
          createdAt,
          key.inactive ? 1 : 0,
        );
      return toKey(this.get(domain, selector) as Row);
    });
  }

  listKeys(domain?: string): DkimKey[] {
    const rows =
      domain === undefined
        ? this.ctx.prepare<[], Row>(`SELECT ${COLUMNS} FROM dkim_keys ORDER BY domain, created_at`).all()
        : this.ctx
            .prepare<[string], Row>(`SELECT ${COLUMNS} FROM dkim_keys WHERE domain = ? ORDER BY created_at`)
            .all(normalizeDomain(domain));
    return rows.map(toKey);
  }

  activateKey(domain: string, selector: string): void {
    const d = normalizeDomain(domain);
    const s = selector.toLowerCase();
    this.ctx.write(() => {
      if (!this.get(d, s)) throw noSuchKey(d, s);
      const last = this.ctx
        .prepare<[string], { t: number | null }>(
          'SELECT MAX(activated_at) AS t FROM dkim_keys WHERE domain = ?',
        )
        .get(d)?.t;
      const at = Math.max(this.ctx.clock().getTime(), (last ?? -1) + 1);
      this.ctx
        .prepare('UPDATE dkim_keys SET activated_at = ? WHERE domain = ? AND selector = ?')
        .run(at, d, s);
    });
  }

  removeKey(domain: string, selector: string): void {
    const d = normalizeDomain(domain);
    const s = selector.toLowerCase();
    this.ctx.write(() => {
      const r = this.ctx.prepare('DELETE FROM dkim_keys WHERE domain = ? AND selector = ?').run(d, s);
      if (r.changes === 0) throw noSuchKey(d, s);
    });
  }

  signingKey(domain: string): DkimKey | null {
    // A few rows per domain at most: the rule is pickSigningKey's, applied to all of them.
    return pickSigningKey(this.listKeys(domain));
  }

  private get(domain: string, selector: string): Row | undefined {
    return this.ctx
      .prepare<[string, string], Row>(`SELECT ${COLUMNS} FROM dkim_keys WHERE domain = ? AND selector = ?`)
      .get(domain, selector);
  }
}

function noSuchKey(domain: string, selector: string): MailroomError {
  return new MailroomError('NO_SUCH_DKIM_KEY', `no DKIM key ${selector} for ${domain}`);
}
