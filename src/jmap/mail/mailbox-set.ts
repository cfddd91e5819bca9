// Mailbox/set (RFC 8621 2.5): create = IMAP CREATE, name/parentId = RENAME, isSubscribed = SUBSCRIBE, destroy = DELETE.
import { JMAP_MAIL_LIMITS } from '../../config/limits.js';
import { MailroomError } from '../../errors.js';
import type { MethodContext, MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { isObject } from '../core/request.js';
import { MAIL_CAPABILITY } from './capability.js';
import type { MailMethodDeps } from './index.js';
import {
  COUNT_PROPERTIES,
  DELIMITER,
  listJmapMailboxes,
  SPECIAL_USE_OF_ROLE,
  sortOrderOf,
  type JmapMailbox,
} from './mailbox.js';
import { SetError, setResponse } from './set-errors.js';
import { checkIfInState } from './standard.js';

const invalid = (properties: string[], description: string) =>
  new SetError('invalidProperties', description, { properties });

const MUTABLE = new Set(['name', 'parentId', 'role', 'sortOrder', 'isSubscribed']);
const SERVER_SET = new Set(['id', 'myRights', ...COUNT_PROPERTIES]);

/**
 * A Mailbox name (RFC 8621 2: "MUST be a Net-Unicode string of at least 1 character"): no control
 * characters, not the IMAP hierarchy delimiter (the store keeps names as '/'-joined paths), at most
 * maxSizeMailboxName octets.
 */
function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0)
    throw invalid(['name'], 'name must be a non-empty string');
  if (Buffer.byteLength(name) > JMAP_MAIL_LIMITS.maxSizeMailboxName) {
    throw invalid(['name'], `name is longer than ${JMAP_MAIL_LIMITS.maxSizeMailboxName} octets`);
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name) || name.includes(DELIMITER)) {
    throw invalid(['name'], `name must not contain control characters or "${DELIMITER}"`);
  }
  if (name.trim() !== name) throw invalid(['name'], 'name must not start or end with white space');
  return name.normalize('NFC');
}

/** RFC 8621 2 sortOrder: an UnsignedInt (RFC 8620 1.3: 0 to 2^53-1; kept within SQLite's INTEGER). */
function checkSortOrder(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(['sortOrder'], 'sortOrder must be a non-negative integer');
  }
  return value;
}

/** Runs one store call, turning the store's refusals into SetErrors. */
function storeCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof MailroomError)) throw error;
    switch (error.code) {
      case 'MAILBOX_EXISTS':
        throw invalid(['name'], 'a sibling mailbox has this name');
      case 'MAILBOX_HAS_CHILDREN':
        throw new SetError('mailboxHasChild');
      case 'NO_SUCH_MAILBOX':
        throw new SetError('notFound');
      case 'CANNOT_DELETE_INBOX':
        throw new SetError('forbidden', 'INBOX cannot be destroyed');
      default:
        throw error;
    }
  }
}

export function mailboxSet(deps: MailMethodDeps): MethodHandler {
  return {
    capability: MAIL_CAPABILITY,
    account: 'write',
    handle(args, ctx) {
      const account = ctx.account!;
      const store = deps.store;
      const storeId = account.storeId;
      const oldState = store.jmap.states(storeId).Mailbox;
      checkIfInState(args, oldState);
      const { create, update, destroy, onDestroyRemoveEmails } = args;
      if (create !== undefined && create !== null && !isObject(create))
        throw new MethodError('invalidArguments', '"create" must be an object');
      if (update !== undefined && update !== null && !isObject(update))
        throw new MethodError('invalidArguments', '"update" must be an object');
      if (
        destroy !== undefined &&
        destroy !== null &&
        !(Array.isArray(destroy) && destroy.every((d) => typeof d === 'string'))
      )
        throw new MethodError('invalidArguments', '"destroy" must be an array of ids');
      if (onDestroyRemoveEmails !== undefined && typeof onDestroyRemoveEmails !== 'boolean')
        throw new MethodError('invalidArguments', '"onDestroyRemoveEmails" must be a boolean');

      const boxes = () => listJmapMailboxes(deps, storeId);
      const find = (id: string) => boxes().find((b) => b.id === id) ?? null;
      const parentOf = (value: unknown, ctxIn: MethodContext): JmapMailbox | null => {
        if (value === null || value === undefined) return null;
        if (typeof value !== 'string') throw invalid(['parentId'], 'parentId must be an id or null');
        const id = ctxIn.resolveId(value);
        const parent = id === null ? null : find(id);
        if (!parent) throw invalid(['parentId'], 'no such parent mailbox');
        return parent;
      };
      const depthOk = (parent: JmapMailbox | null) =>
        parent === null || parent.fullName.split(DELIMITER).length < JMAP_MAIL_LIMITS.maxMailboxDepth;
      const checkRole = (role: unknown, self: JmapMailbox | null): string | null => {
        if (role === null || role === undefined) return null;
        if (typeof role !== 'string' || SPECIAL_USE_OF_ROLE[role] === undefined) {
          throw invalid(['role'], 'role must be one of the IANA mailbox roles (inbox is INBOX only)');
        }
        if (boxes().some((b) => b.role === role && b.id !== self?.id)) {
          throw invalid(['role'], `another mailbox has the role "${role}"`);
        }
        return role;
      };

      const created: Record<string, unknown> = {};
      const notCreated: Record<string, unknown> = {};
      for (const [cid, raw] of Object.entries(create ?? {})) {
        try {
          if (!isObject(raw)) throw invalid([], 'a Mailbox must be an object');
          const bad = Object.keys(raw).filter((k) => !MUTABLE.has(k));
          if (bad.length > 0) throw invalid(bad, 'these properties cannot be set');
          const name = checkName(raw.name);
          const parent = parentOf(raw.parentId, ctx);
          if (!depthOk(parent)) throw invalid(['parentId'], 'too deep (maxMailboxDepth)');
          const role = checkRole(raw.role, null);
          const sortOrder = raw.sortOrder === undefined ? null : checkSortOrder(raw.sortOrder);
          if (raw.isSubscribed !== undefined && typeof raw.isSubscribed !== 'boolean') {
            throw invalid(['isSubscribed'], 'isSubscribed must be a boolean');
          }
          const fullName = parent ? parent.fullName + DELIMITER + name : name;
          if (fullName.toUpperCase() === 'INBOX') throw invalid(['name'], 'INBOX exists already');
          const box = storeCall(() =>
            store.mail.createMailbox(storeId, fullName, role === null ? null : SPECIAL_USE_OF_ROLE[role]),
          );
          if (sortOrder !== null) store.mail.setMailboxAttributes(storeId, fullName, { sortOrder });
          if (raw.isSubscribed === true) store.mail.setSubscribed(storeId, fullName, true);
          const id = store.jmap.mailboxObjectId(box.id);
          ctx.addCreatedId(cid, id);
          created[cid] = {
            id,
            role,
            sortOrder: sortOrder ?? sortOrderOf(role),
            isSubscribed: raw.isSubscribed === true,
            totalEmails: 0,
            unreadEmails: 0,
            totalThreads: 0,
            unreadThreads: 0,
            myRights: {
              mayReadItems: true,
              mayAddItems: true,
              mayRemoveItems: true,
              maySetSeen: true,
              maySetKeywords: true,
              mayCreateChild: true,
              mayRename: true,
              mayDelete: true,
              maySubmit: true,
            },
          };
        } catch (error) {
          if (!(error instanceof SetError)) throw error;
          notCreated[cid] = error.toJSON();
        }
      }

      const updated: Record<string, unknown> = {};
      const notUpdated: Record<string, unknown> = {};
      for (const [rawId, patch] of Object.entries(update ?? {})) {
        const id = ctx.resolveId(rawId) ?? rawId;
        try {
          const box = find(id);
          if (!box) throw new SetError('notFound');
          if (!isObject(patch)) throw invalid([], 'a patch must be an object');
          const keys = Object.keys(patch);
          const bad = keys.filter((k) => !MUTABLE.has(k) && !(SERVER_SET.has(k) && patch[k] === box[k]));
          if (bad.length > 0) throw invalid(bad, 'these properties cannot be changed');
          const attributes: { specialUse?: string | null; sortOrder?: number } = {};
          if ('role' in patch && patch.role !== box.role) {
            if (box.fullName === 'INBOX') {
              throw new SetError('forbidden', 'INBOX keeps the role inbox');
            }
            const role = checkRole(patch.role, box);
            attributes.specialUse = role === null ? null : SPECIAL_USE_OF_ROLE[role]!;
          }
          if ('sortOrder' in patch && patch.sortOrder !== box.sortOrder) {
            attributes.sortOrder = checkSortOrder(patch.sortOrder);
          }
          if ('isSubscribed' in patch && typeof patch.isSubscribed !== 'boolean') {
            throw invalid(['isSubscribed'], 'isSubscribed must be a boolean');
          }
          const name = 'name' in patch ? checkName(patch.name) : box.name;
          const parent =
            'parentId' in patch
              ? parentOf(patch.parentId, ctx)
              : box.parentId === null
                ? null
                : find(box.parentId);
          if (parent && (parent.id === box.id || parent.fullName.startsWith(box.fullName + DELIMITER))) {
            throw invalid(['parentId'], 'a mailbox cannot be moved below itself');
          }
          if (!depthOk(parent)) throw invalid(['parentId'], 'too deep (maxMailboxDepth)');
          const fullName = parent ? parent.fullName + DELIMITER + name : name;
          if (fullName !== box.fullName) {
            if (box.fullName === 'INBOX') throw new SetError('forbidden', 'INBOX cannot be renamed');
            storeCall(() => store.mail.renameMailbox(storeId, box.fullName, fullName));
          }
          if (Object.keys(attributes).length > 0)
            store.mail.setMailboxAttributes(storeId, fullName, attributes);
          if ('isSubscribed' in patch && patch.isSubscribed !== box.isSubscribed) {
            // The subscription follows the mailbox's current name (after a rename in this patch).
            try {
              store.mail.setSubscribed(storeId, fullName, patch.isSubscribed as boolean);
            } catch (error) {
              if (!(error instanceof MailroomError && error.code === 'NOT_SUBSCRIBED')) throw error;
            }
          }
          updated[id] = null;
        } catch (error) {
          if (!(error instanceof SetError)) throw error;
          notUpdated[id] = error.toJSON();
        }
      }

      const destroyed: string[] = [];
      const notDestroyed: Record<string, unknown> = {};
      for (const rawId of (destroy ?? []) as string[]) {
        const id = ctx.resolveId(rawId) ?? rawId;
        try {
          const box = find(id);
          if (!box) throw new SetError('notFound');
          if (box.fullName === 'INBOX') throw new SetError('forbidden', 'INBOX cannot be destroyed');
          if (boxes().some((b) => b.parentId === box.id)) throw new SetError('mailboxHasChild');
          // RFC 8621 2.5: without onDestroyRemoveEmails a mailbox with Emails is not destroyed.
          const nonEmpty = store.jmap.queryMailbox(storeId, box.id, 0, 1, false)?.ids.length ?? 0;
          if (nonEmpty > 0 && onDestroyRemoveEmails !== true) throw new SetError('mailboxHasEmail');
          // Emails only here are destroyed; those also in other mailboxes just leave this one (the store).
          storeCall(() => store.mail.deleteMailbox(storeId, box.fullName));
          destroyed.push(id);
        } catch (error) {
          if (!(error instanceof SetError)) throw error;
          notDestroyed[id] = error.toJSON();
        }
      }

      return setResponse(account.id, oldState, store.jmap.states(storeId).Mailbox, {
        created,
        updated,
        destroyed,
        notCreated,
        notUpdated,
        notDestroyed,
      });
    },
  };
}
