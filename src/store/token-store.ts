// API tokens (Bearer credentials for JMAP clients): the store keeps who owns each token and a hash of it, never the token.

/** One API token as the store keeps it (the token itself is shown once, at creation, and never stored). */
export interface ApiToken {
  id: number;
  accountId: number;
  /** The owning account's address (lower-cased local@domain). */
  address: string;
  /** What the admin called it (`--name`), or ''. */
  name: string;
  createdAt: Date;
}

export interface TokenStore {
  /** Records a token of `address` by its hash (auth/api-token.ts); 'NO_SUCH_ACCOUNT' when there is no such account. */
  create(address: string, name: string, tokenHash: string): ApiToken;
  /** Every token, oldest first. */
  list(): ApiToken[];
  /** Deletes the token at once (the next request with it fails); 'NO_SUCH_TOKEN' when absent. */
  revoke(id: number): void;
  /** The token with this hash, or null (revoked, its account removed, or never made). */
  find(tokenHash: string): ApiToken | null;
}
