// IMAP session state (RFC 9051 3): a tagged union, and the one table of which commands each state allows.
import type { ImapCommandName } from './proto/command-types.js';
import type { Account } from '../store/store.js';
import type { SelectedView } from './selected-view.js';

export type SessionState =
  | { kind: 'not-authenticated' }
  | { kind: 'authenticated'; account: Account }
  | { kind: 'selected'; account: Account; view: SelectedView }
  | { kind: 'logout' };

export type StateKind = SessionState['kind'];

const ANY: readonly ImapCommandName[] = ['CAPABILITY', 'NOOP', 'LOGOUT', 'ID'];
const AUTHENTICATED: readonly ImapCommandName[] = [
  'SELECT',
  'EXAMINE',
  'CREATE',
  'DELETE',
  'RENAME',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'LIST',
  'LSUB',
  'NAMESPACE',
  'STATUS',
  'APPEND',
  'IDLE',
  // RFC 5465 8: command-auth =/ notify.
  'NOTIFY',
  // RFC 4978 5: command-auth, so valid when authenticated and when selected.
  'COMPRESS',
  // RFC 4467 6: valid in the authenticated and selected states.
  'GENURLAUTH',
  'RESETKEY',
  'URLFETCH',
  // RFC 9208 4.1-4.3: GETQUOTA, GETQUOTAROOT (and SETQUOTA, refused) when authenticated or selected.
  'GETQUOTA',
  'GETQUOTAROOT',
  'SETQUOTA',
];
const SELECTED_ONLY: readonly ImapCommandName[] = [
  'CHECK',
  'CLOSE',
  'UNSELECT',
  'EXPUNGE',
  'SEARCH',
  'SORT',
  'THREAD',
  'CANCELUPDATE',
  'FETCH',
  'STORE',
  'COPY',
  'MOVE',
];

/**
 * Commands allowed per state (RFC 9051 6.1-6.4). ENABLE is valid only in the authenticated state
 * (RFC 5161 3.1). The dispatcher checks this table; handlers never re-check (DESIGN habit 4).
 */
export const ALLOWED: Readonly<Record<StateKind, ReadonlySet<ImapCommandName>>> = {
  'not-authenticated': new Set([...ANY, 'STARTTLS', 'AUTHENTICATE', 'LOGIN']),
  authenticated: new Set([...ANY, ...AUTHENTICATED, 'ENABLE']),
  selected: new Set([...ANY, ...AUTHENTICATED, ...SELECTED_ONLY]),
  logout: new Set(),
};
