// The address directory of the SQLite store: local domains, accounts and aliases (the admin CLI's data, the router's lookups).
import { MailroomError } from '../../errors.js';
import { findAliasLoop, type AddressBook } from '../../delivery/aliases.js';
import type { Account, AccountState, AccountUsage, Alias, LookupFreshness } from '../store.js';
import { quotaFull, type QuotaState } from '../quota.js';
import { allQuotaStates, quotaState } from './quota.js';
import type { SqliteContext } from './context.js';
import type { LookupCache } from './lookup-cache.js';
import { insertWithParents, subscribeName } from './mail-folders.js';
import { normalizeDomain, parseAddress, parseAliasSource } from './names.js';
import { collectGarbage, collectUnusedBlobs } from './queries.js';

/** The folders every new account gets, with their RFC 6154 SPECIAL-USE attributes. */
export const DEFAULT_MAILBOXES: readonly { name: string; specialUse: string | null }[] = [
  { name: 'INBOX', specialUse: null },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Archive', specialUse: '\\Archive' },
];

interface AccountRow {
  id: number;
  address: string;
  password_hash: string;
  created_at: number;
  state: AccountState;
  last_login_at: number | null;
}

const ACCOUNT_COLUMNS = 'id, address, password_hash, created_at, state, last_login_at';

/** A 'recent' lookup's trust (lookup-cache.ts): routing answers only when they accept; the RCPT quota hint always. */
const ifAccepting = (answer: unknown): boolean => answer !== null && answer !== false;
const always = (): boolean => true;
function recentIf(
  freshness: LookupFreshness,
  trust: (answer: unknown) => boolean,
): ((answer: unknown) => boolean) | undefined {
  return freshness === 'recent' ? trust : undefined;
}

/**
 * Domains, accounts and aliases. Every write goes through ctx.write (durable before it returns); the
 * lookups the router makes per RCPT (isLocalDomain, getAccount, getAlias) are served from a cache
 * that PRAGMA data_version invalidates, so a change by the CLI in another process is seen at once.
 */
export class SqliteDirectory {
  constructor(
    private readonly ctx: SqliteContext,
    private readonly lookups: LookupCache,
  ) {}

  // ---- domains ----

  addDomain(name: string): void {
    const domain = normalizeDomain(name);
    const r = this.ctx.write(() =>
      this.ctx
        .prepare('INSERT INTO domains (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING')
        .run(domain, this.ctx.clock().getTime()),
    );
    if (r.changes === 0) throw new MailroomError('DOMAIN_EXISTS', `domain ${domain} already exists`);
  }

  removeDomain(name: string): void {
    const domain = normalizeDomain(name);
    const count = (sql: string) => this.ctx.prepare<[string], { n: number }>(sql).get(domain)?.n ?? 0;
    this.ctx.write(() => {
      if (!this.isLocalDomain(domain)) throw new MailroomError('NO_SUCH_DOMAIN', `no such domain: ${domain}`);
      const users = count('SELECT COUNT(*) AS n FROM accounts WHERE domain = ?');
      const aliases = count('SELECT COUNT(DISTINCT source) AS n FROM aliases WHERE domain = ?');
      if (users > 0 || aliases > 0) {
        throw new MailroomError(
          'DOMAIN_IN_USE',
          `domain ${domain} still has ${users} account(s) and ${aliases} alias(es); remove them first`,
        );
      }
      this.ctx.prepare('DELETE FROM domains WHERE name = ?').run(domain);
    });
  }

  listDomains(): string[] {
    return this.ctx
      .prepare<[], { name: string }>('SELECT name FROM domains ORDER BY name')
      .all()
      .map((r) => r.name);
  }

  isLocalDomain(name: string, freshness: LookupFreshness = 'exact'): boolean {
    return this.lookups.get(
      `d:${name}`,
      () => {
        let domain: string;
        try {
          domain = normalizeDomain(name);
        } catch {
          return false; // not a valid name, so certainly not one of ours
        }
        return this.ctx.prepare('SELECT 1 FROM domains WHERE name = ?').get(domain) !== undefined;
      },
      recentIf(freshness, ifAccepting),
    );
  }

  // ---- accounts ----

  addAccount(address: string, passwordHash: string): Account {
    const a = parseAddress(address);
    return this.ctx.write(() => {
      if (!this.isLocalDomain(a.domain)) {
        throw new MailroomError(
          'DOMAIN_NOT_LOCAL',
          `domain ${a.domain} is not a local domain (add it first)`,
        );
      }
      const existing = this.getAccount(a.address);
      if (existing) {
        const hint =
          existing.state === 'removed'
            ? ' (removed with --keep-mail: `user enable` restores it, `user remove --force` deletes it)'
            : '';
        throw new MailroomError('ACCOUNT_EXISTS', `account ${a.address} already exists${hint}`);
      }
      // An alias with this source would be shadowed by the account and never used (aliases.ts lookupLocal).
      if (this.getAlias(a.address)) {
        throw new MailroomError(
          'ALIAS_EXISTS',
          `${a.address} is an alias; remove the alias first (mailroom alias remove ${a.address})`,
        );
      }
      const now = this.ctx.clock();
      const id = Number(
        this.ctx
          .prepare('INSERT INTO accounts (address, domain, password_hash, created_at) VALUES (?, ?, ?, ?)')
          .run(a.address, a.domain, passwordHash, now.getTime()).lastInsertRowid,
      );
      // Subscribed, so clients that list only subscribed folders (LSUB) see them from the start.
      for (const mb of DEFAULT_MAILBOXES) {
        insertWithParents(this.ctx, id, mb.name, mb.specialUse);
        subscribeName(this.ctx, id, mb.name);
      }
      return { id, address: a.address, passwordHash, createdAt: now, state: 'active', lastLoginAt: null };
    });
  }

  removeAccount(address: string): void {
    const { address: addr } = parseAddress(address);
    const unlinkFiles = this.ctx.write(() => {
      const account = this.getAccount(addr);
      if (!account) throw new MailroomError('NO_SUCH_ACCOUNT', `no such account: ${addr}`);
      const messageIds = this.ctx
        .prepare<[number], { message_id: number }>(
          'SELECT DISTINCT mm.message_id FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id WHERE m.account_id = ?',
        )
        .all(account.id)
        .map((r) => r.message_id);
      const uploadBlobs = this.ctx
        .prepare<[number], { blob_id: number }>('SELECT blob_id FROM uploads WHERE account_id = ?')
        .all(account.id)
        .map((r) => r.blob_id);
      this.ctx.prepare('DELETE FROM accounts WHERE id = ?').run(account.id); // mailboxes, rows, uploads cascade
      return [
        ...collectGarbage(this.ctx.prepare, messageIds),
        ...collectUnusedBlobs(this.ctx.prepare, uploadBlobs),
      ];
    });
    // After the commit: the rows are gone for good, so their files may go too. Best effort; a file
    // that stays is only wasted space, and no row can point at it any more.
    void this.ctx.blobs.remove(unlinkFiles);
  }

  setPasswordHash(address: string, passwordHash: string): void {
    const { address: addr } = parseAddress(address);
    const r = this.ctx.write(() =>
      this.ctx.prepare('UPDATE accounts SET password_hash = ? WHERE address = ?').run(passwordHash, addr),
    );
    if (r.changes === 0) throw new MailroomError('NO_SUCH_ACCOUNT', `no such account: ${addr}`);
  }

  setAccountState(address: string, state: AccountState): void {
    const { address: addr } = parseAddress(address);
    const r = this.ctx.write(() =>
      this.ctx.prepare('UPDATE accounts SET state = ? WHERE address = ?').run(state, addr),
    );
    if (r.changes === 0) throw new MailroomError('NO_SUCH_ACCOUNT', `no such account: ${addr}`);
  }

  /**
   * Bookkeeping, so the WAL fsync runs off the event loop (writeLazy): a sign-in lost to a power cut
   * only makes last_login a minute older. The caller (auth/login-recorder.ts) writes at most once a
   * minute per account.
   */
  recordLogin(accountId: number, at: Date): void {
    const { durable } = this.ctx.writeLazy(() =>
      this.ctx.prepare('UPDATE accounts SET last_login_at = ? WHERE id = ?').run(at.getTime(), accountId),
    );
    durable.catch(() => undefined); // a failed fsync here loses only this timestamp
  }

  /** Usage is kept per account by triggers (schema.ts migration 21): one row each, no scan of the mail. */
  accountUsage(): AccountUsage[] {
    return allQuotaStates(this.ctx.prepare);
  }

  quotaOf(accountId: number): QuotaState | null {
    return quotaState(this.ctx.prepare, accountId);
  }

  /**
   * Whether the account is at or over a limit (SMTP RCPT's early 452). Whether it has a limit at all is a
   * cached answer (lookup-cache.ts: `user quota` from this store is seen at once, from the CLI at once or, for
   * a 'recent' lookup as RCPT makes, within LOOKUP_RECENT_MS), so the usual account without one costs no query
   * per RCPT; usage changes with every delivery and is never cached. The commit checks the quota exactly.
   */
  quotaReached(accountId: number, freshness: LookupFreshness = 'exact'): boolean {
    const limited = this.lookups.get(
      `q:${accountId}`,
      () => {
        const row = this.ctx
          .prepare<[number], { limited: number }>(
            'SELECT quota_bytes IS NOT NULL OR quota_messages IS NOT NULL AS limited FROM accounts WHERE id = ?',
          )
          .get(accountId);
        return row?.limited === 1;
      },
      recentIf(freshness, always),
    );
    if (!limited) return false;
    const q = this.quotaOf(accountId);
    return q !== null && quotaFull(q);
  }

  /** `user quota`: null limits mean none. Lowering a quota below the usage keeps the mail (RFC 9208 4.3). */
  setQuota(address: string, quota: { bytes: number | null; messages?: number | null }): void {
    const { address: addr } = parseAddress(address);
    const r = this.ctx.write(() =>
      quota.messages === undefined
        ? this.ctx.prepare('UPDATE accounts SET quota_bytes = ? WHERE address = ?').run(quota.bytes, addr)
        : this.ctx
            .prepare('UPDATE accounts SET quota_bytes = ?, quota_messages = ? WHERE address = ?')
            .run(quota.bytes, quota.messages, addr),
    );
    if (r.changes === 0) throw new MailroomError('NO_SUCH_ACCOUNT', `no such account: ${addr}`);
  }

  getAccount(address: string, freshness: LookupFreshness = 'exact'): Account | null {
    // Frozen: the cached object is shared by every caller.
    return this.lookups.get(
      `a:${address}`,
      () => {
        let addr: string;
        try {
          addr = parseAddress(address).address;
        } catch {
          return null; // an invalid address names no account
        }
        const row = this.ctx
          .prepare<[string], AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE address = ?`)
          .get(addr);
        return row ? Object.freeze(toAccount(row)) : null;
      },
      recentIf(freshness, ifAccepting),
    );
  }

  getAccountById(id: number): Account | null {
    const row = this.ctx
      .prepare<[number], AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`)
      .get(id);
    return row ? toAccount(row) : null;
  }

  listAccounts(): Account[] {
    return this.ctx
      .prepare<[], AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY address`)
      .all()
      .map(toAccount);
  }

  // ---- aliases ----

  /**
   * Adds the targets to the alias (or replaces them). All checks run inside the write transaction, so
   * two admins racing cannot together make what each alone would be refused: a source that is an
   * account (the account wins at delivery, the alias would be dead) and a loop (findAliasLoop, over the
   * aliases as they would be after this change).
   */
  addAlias(source: string, targets: string[], options: { replace?: boolean } = {}): void {
    const src = parseAliasSource(source);
    const given = [...new Set(targets.map((t) => parseAddress(t).address))];
    if (given.length === 0)
      throw new MailroomError('BAD_ADDRESS', `alias ${src.source} needs at least one target`);
    if (given.includes(src.source))
      throw new MailroomError('ALIAS_LOOP', `alias ${src.source} cannot target itself`);
    this.ctx.write(() => {
      if (!this.isLocalDomain(src.domain)) {
        throw new MailroomError(
          'DOMAIN_NOT_LOCAL',
          `domain ${src.domain} is not a local domain (add it first)`,
        );
      }
      if (!src.source.startsWith('@') && this.getAccount(src.source)) {
        throw new MailroomError(
          'ACCOUNT_EXISTS',
          `${src.source} is an account; an alias with that source would never be used`,
        );
      }
      const old = options.replace ? [] : (this.getAlias(src.source)?.targets ?? []);
      const list = [...old, ...given.filter((t) => !old.includes(t))];
      const loop = findAliasLoop(this.bookWith(src.source, list), src.source);
      if (loop) {
        throw new MailroomError('ALIAS_LOOP', `alias ${src.source} would make a loop: ${loop.join(' -> ')}`);
      }
      this.ctx.prepare('DELETE FROM aliases WHERE source = ?').run(src.source);
      const insert = this.ctx.prepare(
        'INSERT INTO aliases (source, domain, target, position) VALUES (?, ?, ?, ?)',
      );
      list.forEach((t, i) => insert.run(src.source, src.domain, t, i));
    });
  }

  /** The directory as delivery sees it (removed accounts receive nothing), with one alias set to `targets`. */
  private bookWith(source: string, targets: string[]): AddressBook {
    return {
      isLocalDomain: (domain) => this.isLocalDomain(domain),
      accountId: (address) => {
        const account = this.getAccount(address);
        return account && account.state !== 'removed' ? account.id : null;
      },
      aliasTargets: (s) => (s === source ? targets : (this.getAlias(s)?.targets ?? null)),
    };
  }

  removeAlias(source: string): void {
    const { source: src } = parseAliasSource(source);
    const r = this.ctx.write(() => this.ctx.prepare('DELETE FROM aliases WHERE source = ?').run(src));
    if (r.changes === 0) throw new MailroomError('NO_SUCH_ALIAS', `no such alias: ${src}`);
  }

  getAlias(source: string, freshness: LookupFreshness = 'exact'): Alias | null {
    return this.lookups.get(
      `l:${source}`,
      () => {
        let src: string;
        try {
          src = parseAliasSource(source).source;
        } catch {
          return null;
        }
        const targets = this.ctx
          .prepare<[string], { target: string }>(
            'SELECT target FROM aliases WHERE source = ? ORDER BY position',
          )
          .all(src)
          .map((r) => r.target);
        // Frozen: the cached object is shared by every caller.
        return targets.length > 0
          ? Object.freeze({ source: src, targets: Object.freeze(targets) as string[] })
          : null;
      },
      recentIf(freshness, ifAccepting),
    );
  }

  listAliases(): Alias[] {
    const out: Alias[] = [];
    for (const r of this.ctx
      .prepare<[], { source: string; target: string }>(
        'SELECT source, target FROM aliases ORDER BY source, position',
      )
      .all()) {
      const last = out[out.length - 1];
      if (last?.source === r.source) last.targets.push(r.target);
      else out.push({ source: r.source, targets: [r.target] });
    }
    return out;
  }
}

function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    address: r.address,
    passwordHash: r.password_hash,
    createdAt: new Date(r.created_at),
    state: r.state,
    lastLoginAt: r.last_login_at === null ? null : new Date(r.last_login_at),
  };
}
