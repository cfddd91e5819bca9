// The JMAP session resource (RFC 8620 2): capabilities with the core limits, the user's accounts, URLs, state.
import { createHash } from 'node:crypto';
import { CORE_CAPABILITY } from './errors.js';
import type { JmapAccount, JmapUser } from './engine.js';

/** The core capability's limits (RFC 8620 2); the values come from config/limits.ts JMAP_CORE_LIMITS. */
export interface CoreLimits {
  maxSizeUpload: number;
  maxConcurrentUpload: number;
  maxSizeRequest: number;
  maxConcurrentRequests: number;
  maxCallsInRequest: number;
  maxObjectsInGet: number;
  maxObjectsInSet: number;
}

/**
 * Collations (RFC 4790) the server compares strings with (RFC 8620 2 collationAlgorithms):
 * i;ascii-numeric and i;ascii-casemap (RFC 4790 9.1, 9.2) and i;unicode-casemap (RFC 5051), the
 * default of RFC 8621 4.4.2. A query naming another gets unsupportedSort (isSupportedCollation).
 */
export const COLLATION_ALGORITHMS = ['i;ascii-numeric', 'i;ascii-casemap', 'i;unicode-casemap'] as const;

export function isSupportedCollation(name: string): boolean {
  return (COLLATION_ALGORITHMS as readonly string[]).includes(name);
}

/** A capability the server offers: its session-level object and, for data capabilities, its per-account one. */
export interface CapabilitySpec {
  urn: string;
  session: Record<string, unknown>;
  /** Present for capabilities accounts have (RFC 8620 2 accountCapabilities); absent for core. */
  account?: (account: JmapAccount) => Record<string, unknown>;
}

export function coreCapability(limits: CoreLimits): CapabilitySpec {
  return { urn: CORE_CAPABILITY, session: { ...limits, collationAlgorithms: [...COLLATION_ALGORITHMS] } };
}

/** JMAP over WebSocket (RFC 8887 4.1): the session names the URL and says push is supported. */
export const WEBSOCKET_CAPABILITY = 'urn:ietf:params:jmap:websocket';

/**
 * The WebSocket capability. Its `url` here is the path; buildSession makes it a ws:// or wss:// URL of
 * the host the client reached (RFC 8887 4.1 asks for a "wss-URI"; relative when the Host is unusable).
 */
export function websocketCapability(): CapabilitySpec {
  return { urn: WEBSOCKET_CAPABILITY, session: { url: JMAP_PATHS.webSocket, supportsPush: true } };
}

/**
 * The accountId of a store account: "A" + its store id. Stable for the account's life (store ids come
 * from AUTOINCREMENT and are never reused, so a deleted account's id never names a new one), and
 * within RFC 8620 1.2's Id syntax (A-Za-z0-9-_, 1-255 characters).
 */
export function accountIdOf(storeId: number): string {
  return `A${storeId}`;
}

/** The store id an accountId names, or null when it is not one of ours. */
export function storeIdOf(accountId: string): number | null {
  const m = /^A([1-9][0-9]{0,14})$/.exec(accountId);
  return m ? Number(m[1]) : null;
}

/** The user of a signed-in mail account: that one account, personal and writable, with every data capability. */
export function userOfAccount(
  account: { id: number; address: string },
  capabilities: readonly CapabilitySpec[],
): JmapUser {
  const jmapAccount: JmapAccount = {
    id: accountIdOf(account.id),
    storeId: account.id,
    name: account.address,
    isPersonal: true,
    isReadOnly: false,
    capabilities: new Set(capabilities.filter((c) => c.account).map((c) => c.urn)),
  };
  return { username: account.address, accounts: new Map([[jmapAccount.id, jmapAccount]]) };
}

/** The URL templates of the session (RFC 8620 2; templates per RFC 6570 level 1). */
export const JMAP_PATHS = {
  session: '/.well-known/jmap',
  api: '/jmap/api',
  download: '/jmap/download/{accountId}/{blobId}/{name}?accept={type}',
  upload: '/jmap/upload/{accountId}/',
  eventSource: '/jmap/eventsource/?types={types}&closeafter={closeafter}&ping={ping}',
  webSocket: '/jmap/ws',
} as const;

/**
 * The session resource for `user`. `baseUrl` ("https://host:port", or '' for URLs relative to the
 * session resource, which CONTRACT.md allows) prefixes every URL. `state` changes whenever anything
 * else in the object does (it is a hash of the rest), as RFC 8620 2 asks.
 */
export function buildSession(
  user: JmapUser,
  capabilities: readonly CapabilitySpec[],
  baseUrl: string,
): Record<string, unknown> {
  const accounts: Record<string, unknown> = {};
  const primaryAccounts: Record<string, string> = {};
  for (const account of user.accounts.values()) {
    const accountCapabilities: Record<string, unknown> = {};
    for (const c of capabilities) {
      if (c.account && account.capabilities.has(c.urn)) accountCapabilities[c.urn] = c.account(account);
    }
    accounts[account.id] = {
      name: account.name,
      isPersonal: account.isPersonal,
      isReadOnly: account.isReadOnly,
      accountCapabilities,
    };
    for (const c of capabilities) {
      if (c.account && account.isPersonal && account.capabilities.has(c.urn))
        primaryAccounts[c.urn] ??= account.id;
    }
  }
  const session: Record<string, unknown> = {
    capabilities: Object.fromEntries(
      capabilities.map((c) => [
        c.urn,
        c.urn === WEBSOCKET_CAPABILITY
          ? { ...c.session, url: baseUrl.replace(/^http/, 'ws') + JMAP_PATHS.webSocket }
          : c.session,
      ]),
    ),
    accounts,
    primaryAccounts,
    username: user.username,
    apiUrl: baseUrl + JMAP_PATHS.api,
    downloadUrl: baseUrl + JMAP_PATHS.download,
    uploadUrl: baseUrl + JMAP_PATHS.upload,
    eventSourceUrl: baseUrl + JMAP_PATHS.eventSource,
  };
  session.state = sessionStateOf(user, capabilities);
  return session;
}

/**
 * The session state: a hash of what the session says apart from URLs (which depend on how the client
 * reached us, not on the session), so API responses' sessionState match the resource's state.
 */
export function sessionStateOf(user: JmapUser, capabilities: readonly CapabilitySpec[]): string {
  const accounts = [...user.accounts.values()].map((a) => [
    a.id,
    a.name,
    a.isReadOnly,
    [...a.capabilities].sort(),
  ]);
  const caps = capabilities.map((c) => [c.urn, c.session]);
  return createHash('sha256')
    .update(JSON.stringify([user.username, accounts, caps]))
    .digest('base64url')
    .slice(0, 16);
}
