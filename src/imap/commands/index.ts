// The IMAP command table: every command name -> its handler (RFC 9051 6); which states allow it is session-state.ts.
import type { ImapCommand, ImapCommandName } from '../proto/command-types.js';
import type { ResponseCode } from '../proto/response-writer.js';
import { append } from './append.js';
import * as auth from './auth.js';
import type { CommandContext, SessionAction } from './context.js';
import { fetch } from './fetch.js';
import { list } from './list.js';
import * as mailboxes from './mailboxes.js';
import * as messages from './messages.js';
import * as quota from './quota.js';
import { search } from './search.js';
import * as sel from './select.js';
import { sort, thread } from './sort.js';
import { cancelUpdate } from './contexts.js';
import { notify } from './notify.js';
import { expungeIssued } from '../view-sync.js';
import * as urlauth from './urlauth.js';

/** Reads a raw line for a command in progress (SASL response, IDLE's DONE). */
export type LineHandler = (ctx: CommandContext, line: string) => Promise<Done | void> | Done | void;

/** How a handler finished; nothing returned means `tag OK <NAME> completed`. */
export interface Done {
  code?: ResponseCode;
  text?: string;
  action?: SessionAction;
  /** The handler wrote the tagged response itself (LOGOUT). */
  taggedWritten?: boolean;
  /** Do not report mailbox changes before the tagged response (SELECT, CLOSE: nothing is selected). */
  skipSync?: boolean;
  /** Wait for a raw line, then run this (the command is not finished yet). */
  continueWith?: { purpose: 'sasl' | 'idle'; handler: LineHandler };
}

type Handler = (ctx: CommandContext, cmd: never) => Promise<Done | void> | Done | void;

const EXPUNGE_ISSUED: Done = { code: { name: 'EXPUNGEISSUED' } };

/**
 * SEARCH, SORT and THREAD leave out a message expunged by another session meanwhile (its data is
 * gone): their tagged OK then says [EXPUNGEISSUED] (view-sync.ts expungeIssued).
 */
function searching<C extends ImapCommand>(
  run: (ctx: CommandContext, cmd: C) => Promise<void>,
): (ctx: CommandContext, cmd: C) => Promise<Done | void> {
  return async (ctx, cmd) => {
    await run(ctx, cmd);
    if (expungeIssued(ctx.services.store.mail, sel.selectedView(ctx))) return EXPUNGE_ISSUED;
  };
}

export const HANDLERS: Record<
  ImapCommandName,
  (ctx: CommandContext, cmd: ImapCommand) => Promise<Done | void> | Done | void
> = {
  CAPABILITY: auth.capability,
  NOOP: auth.noop,
  LOGOUT: auth.logout,
  ID: auth.id,
  STARTTLS: auth.starttls,
  LOGIN: auth.login,
  AUTHENTICATE: auth.authenticate,
  ENABLE: auth.enable,
  NAMESPACE: auth.namespace,
  IDLE: auth.idle,
  COMPRESS: auth.compress,
  CHECK: auth.check,
  CREATE: mailboxes.create,
  DELETE: mailboxes.del,
  RENAME: mailboxes.rename,
  SUBSCRIBE: mailboxes.subscribe,
  UNSUBSCRIBE: mailboxes.subscribe,
  LIST: list,
  LSUB: list,
  STATUS: mailboxes.status,
  SELECT: sel.select,
  EXAMINE: sel.select,
  CLOSE: sel.close,
  UNSELECT: sel.unselect,
  EXPUNGE: sel.expunge,
  FETCH: fetch,
  SEARCH: searching(search),
  SORT: searching(sort),
  THREAD: searching(thread),
  CANCELUPDATE: cancelUpdate,
  STORE: messages.store,
  COPY: messages.copyMove,
  MOVE: messages.copyMove,
  APPEND: append,
  NOTIFY: notify,
  GENURLAUTH: urlauth.genUrlAuth,
  RESETKEY: urlauth.resetKey,
  URLFETCH: urlauth.urlFetch,
  GETQUOTA: quota.getQuota,
  GETQUOTAROOT: quota.getQuotaRoot,
  SETQUOTA: quota.setQuota,
} satisfies Record<ImapCommandName, Handler> as unknown as Record<
  ImapCommandName,
  (ctx: CommandContext, cmd: ImapCommand) => Promise<Done | void> | Done | void
>;
