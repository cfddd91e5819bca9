// SqliteTokenStore: API tokens (store/token-store.ts) in `api_tokens`, by SHA-256 of the token, removed with their account.
import { MailroomError } from '../../errors.js';
import type { ApiToken, TokenStore } from '../token-store.js';
import type { SqliteContext } from './context.js';

interface TokenRow {
  id: number;
  account_id: number;
  address: string;
  name: string;
  created_at: number;
}

const SELECT_TOKEN =
  'SELECT t.id, t.account_id, a.address, t.name, t.created_at FROM api_tokens t JOIN accounts a ON a.id = t.account_id';

function toToken(row: TokenRow): ApiToken {
  return {
    id: row.id,
    accountId: row.account_id,
    address: row.address,
    name: row.name,
    createdAt: new Date(row.created_at),
  };
}

export class SqliteTokenStore implements TokenStore {
  constructor(private readonly ctx: SqliteContext) {}

  create(address: string, name: string, tokenHash: string): ApiToken {
    const { ctx } = this;
    const addr = address.trim().toLowerCase();
    return ctx.write(() => {
      const account = ctx
        .prepare<[string], { id: number }>('SELECT id FROM accounts WHERE address = ?')
        .get(addr);
      if (!account) throw new MailroomError('NO_SUCH_ACCOUNT', `no such account: ${addr}`);
      const id = Number(
        ctx
          .prepare<[number, string, string, number]>(
            'INSERT INTO api_tokens (account_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)',
          )
          .run(account.id, name, tokenHash, ctx.clock().getTime()).lastInsertRowid,
      );
      return toToken(ctx.prepare<[number], TokenRow>(`${SELECT_TOKEN} WHERE t.id = ?`).get(id)!);
    });
  }

  list(): ApiToken[] {
    return this.ctx.prepare<[], TokenRow>(`${SELECT_TOKEN} ORDER BY t.id`).all().map(toToken);
  }

  revoke(id: number): void {
    const { ctx } = this;
    ctx.write(() => {
      const { changes } = ctx.prepare<[number]>('DELETE FROM api_tokens WHERE id = ?').run(id);
      if (changes === 0) throw new MailroomError('NO_SUCH_TOKEN', `no such token: ${id}`);
    });
  }

  find(tokenHash: string): ApiToken | null {
    const row = this.ctx.prepare<[string], TokenRow>(`${SELECT_TOKEN} WHERE t.token_hash = ?`).get(tokenHash);
    return row ? toToken(row) : null;
  }
}
