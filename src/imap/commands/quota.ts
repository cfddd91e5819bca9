// IMAP QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT, SETQUOTA (refused: admins set quotas by CLI), OVERQUOTA refusals.
import { isOverQuota, quotaVerdict } from '../../store/quota.js';
import type { QuotaState } from '../../store/quota.js';
import type { Store } from '../../store/store.js';
import type { AppendRefusal } from '../proto/literal-receiver.js';
import type { ImapCommand } from '../proto/command-types.js';
import type { ImapValue } from '../proto/response-writer.js';
import { no, type CommandContext } from './context.js';
import type { Done } from './index.js';
import { accountOf, existingRef } from './mailboxes.js';
import { encodeMailboxName } from '../proto/mailbox-name.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

/**
 * The one quota root of an account: every mailbox of the user shares it (RFC 9208 3.2). Named "" as in the
 * RFC's own examples (section 4.1.2): a client shows the root's resources, never parses its name.
 */
export const QUOTA_ROOT = '';

/**
 * The resources of a QUOTA response (RFC 9208 5.1, 5.2): STORAGE in units of 1024 octets (usage rounded
 * up, so a nearly full account never shows room that is not there; the limit rounded down), MESSAGE in
 * messages. Only resources with a limit are listed; none at all means the account has no quota root.
 */
export function quotaResources(q: QuotaState): string[] {
  const out: string[] = [];
  if (q.limitBytes !== null)
    out.push(`STORAGE ${Math.ceil(q.bytes / 1024)} ${Math.floor(q.limitBytes / 1024)}`);
  if (q.limitMessages !== null) out.push(`MESSAGE ${q.messages} ${q.limitMessages}`);
  return out;
}

function accountQuota(ctx: CommandContext): QuotaState | null {
  return ctx.services.store.quotaOf(accountOf(ctx).id);
}

/** `* QUOTA "" (STORAGE u l MESSAGE u l)` (RFC 9208 5.1); false when the account has no limits. */
function writeQuota(ctx: CommandContext, q: QuotaState | null): boolean {
  const resources = q ? quotaResources(q) : [];
  if (resources.length === 0) return false;
  ctx.out.data([{ atom: 'QUOTA' }, QUOTA_ROOT, { raw: `(${resources.join(' ')})` }]);
  return true;
}

/** GETQUOTA root (RFC 9208 4.1.1): the account's root, or NO for any other name. */
export function getQuota(ctx: CommandContext, cmd: Cmd<'GETQUOTA'>): Done | void {
  if (cmd.root !== QUOTA_ROOT || !writeQuota(ctx, accountQuota(ctx))) {
    throw no('No such quota root', { name: 'NONEXISTENT' });
  }
}

/** GETQUOTAROOT mailbox (RFC 9208 4.1.2): `* QUOTAROOT mailbox ""` then its QUOTA, or no root at all. */
export function getQuotaRoot(ctx: CommandContext, cmd: Cmd<'GETQUOTAROOT'>): Done | void {
  const mb = existingRef(ctx, cmd.mailbox);
  const q = accountQuota(ctx);
  const hasRoot = q !== null && quotaResources(q).length > 0;
  const values: ImapValue[] = [{ atom: 'QUOTAROOT' }, encodeMailboxName(mb.name, ctx.utf8)];
  if (hasRoot) values.push(QUOTA_ROOT);
  ctx.out.data(values);
  if (hasRoot) writeQuota(ctx, q);
}

/**
 * SETQUOTA (RFC 9208 4.1.3) is for administrators; we do not announce QUOTASET, and quotas are set with
 * `mailroom user quota`, so a user's SETQUOTA is refused whatever it asks (RFC 9208 4.1.3: NO when the
 * user may not change the limits).
 */
export function setQuota(): Done {
  throw no('Quotas are set by the administrator', { name: 'NOPERM' });
}

/** The tagged NO's text: `permanent` when the addition alone exceeds a limit (deleting mail will not help). */
function overQuotaText(permanent: boolean): string {
  return permanent ? 'Message larger than the mailbox quota' : 'Mailbox quota exceeded';
}

/**
 * Whether APPEND literals adding up to `bytes` octets in `messages` messages can still fit the account
 * (asked before "+", literal-receiver.ts AppendQuotaCheck): RFC 9208 4.3 `NO [OVERQUOTA]` at once when
 * they cannot, so the client does not upload what would be refused. The commit checks again (store/quota.ts).
 */
export function appendQuotaRefusal(
  store: Pick<Store, 'quotaOf'>,
  accountId: number,
  bytes: number,
  messages: number,
): AppendRefusal | null {
  const q = store.quotaOf(accountId);
  const verdict = q ? quotaVerdict(q, bytes, messages) : 'ok';
  return verdict === 'ok' ? null : { code: 'OVERQUOTA', text: overQuotaText(verdict === 'too-big') };
}

/**
 * A store refusal for the account's quota as RFC 9208 4.3 / RFC 5530 3 say: `NO [OVERQUOTA]`, after an
 * untagged QUOTA so the client can show why. Anything else is returned unchanged for the caller to throw.
 */
export function overQuotaRefusal(ctx: CommandContext, error: unknown): unknown {
  if (!isOverQuota(error)) return error;
  writeQuota(ctx, accountQuota(ctx));
  return no(overQuotaText(error.permanent), { name: 'OVERQUOTA' });
}
