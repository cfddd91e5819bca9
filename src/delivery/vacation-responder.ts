// Local delivery with the vacation auto-reply (RFC 3834, RFC 8621 8): wraps store.deliver for SMTP and JMAP submission.
import { open } from 'node:fs/promises';
import { VACATION } from '../config/limits.js';
import { HeaderMap } from '../mail/headers.js';
import type { Logger } from '../observability/logger.js';
import type { DeliveryRequest, SpooledBody, Store } from '../store/store.js';
import type { DeliveryOutcome } from './delivery-log.js';
import { ownAddresses } from './own-addresses.js';
import { createRouter } from './router.js';
import { buildVacationReply, decideVacation } from './vacation.js';

export type Deliver = (request: DeliveryRequest) => Promise<void>;
/** A delivery that may tell what its commit found (delivery-log.ts deliverAndLog); void: nothing. */
export type DeliverWithOutcome = (request: DeliveryRequest) => Promise<DeliveryOutcome | void>;

/** The first `max` bytes of a body (the header block is at its start), without consuming it. */
async function headOf(body: SpooledBody, max: number): Promise<Buffer> {
  if (body.kind === 'memory') {
    const out: Buffer[] = [];
    let size = 0;
    for (const c of body.chunks) {
      if (size >= max) break;
      out.push(c);
      size += c.length;
    }
    return Buffer.concat(out).subarray(0, max);
  }
  const file = await open(body.path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(max, body.size));
    const { bytesRead } = await file.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/**
 * The accounts a delivery may answer for, each once, in order: its local copies not filed as junk. One copy
 * (the usual delivery) takes no Set and no intermediate arrays.
 */
function candidatesOf(local: DeliveryRequest['local']): number[] {
  if (local.length === 1) {
    const only = local[0]!;
    return only.specialUse === '\\Junk' ? [] : [only.accountId];
  }
  return [...new Set(local.filter((l) => l.specialUse !== '\\Junk').map((l) => l.accountId))];
}

/**
 * `deliver` with the auto-reply, for the local recipients whose VacationResponse is enabled. Which those are
 * comes from the delivery's own commit when `deliver` tells (deliverAndLog: read inside the transaction), so
 * the common case - nobody away - costs no look-up of its own; else each is looked up (one cached read per
 * local recipient). A body in memory is still readable after the store took it; a spooled file may be moved,
 * so its header is read before, and only when a recipient is away. After the message is stored, each such
 * recipient's reply is decided (vacation.ts), claimed once per sender per period in the store, and
 * delivered through the same `deliver` from the null sender (RFC 3834 3.3), so it is queued, retried and
 * bounced like any mail. A failing reply is logged; it never fails the delivery it answers.
 */
export function withVacationResponder(
  deliver: DeliverWithOutcome,
  deps: { store: Store; hostname: string; now: () => Date; newQueueId: () => string; logger: Logger },
): Deliver {
  const { store } = deps;
  const route = createRouter(store, { hostname: deps.hostname });
  const lookUp = (accountIds: number[]): number[] =>
    accountIds.filter((id) => store.sending.vacation(id).isEnabled);
  return async (request) => {
    // RFC 3834 2: no automatic answer to mail judged junk (quarantined by DMARC), nor to the null sender.
    const candidates = request.envelope.sender === '' ? [] : candidatesOf(request.local);
    if (candidates.length === 0) {
      await deliver(request);
      return;
    }
    let away: number[] | null = null;
    let head: Buffer | null = null;
    if (request.body.kind === 'file') {
      away = lookUp(candidates);
      if (away.length > 0) head = await headOf(request.body, VACATION.maxHeaderBytes);
    }
    const outcome = await deliver(request);
    if (away === null) {
      const known = outcome ? outcome.vacationAccounts : undefined;
      away = known ? candidates.filter((id) => known.includes(id)) : lookUp(candidates);
      if (away.length > 0) head = await headOf(request.body, VACATION.maxHeaderBytes);
    }
    if (!head) return;
    const headers = HeaderMap.parse(head);
    for (const accountId of away) {
      try {
        await reply(accountId, headers, request.envelope.sender);
      } catch (err) {
        deps.logger.warn({ err, accountId, queueId: request.queueId }, 'vacation reply failed');
      }
    }
  };

  async function reply(accountId: number, headers: HeaderMap, sender: string): Promise<void> {
    const account = store.getAccountById(accountId);
    if (!account) return;
    const now = deps.now();
    const vacation = store.sending.vacation(accountId);
    const decision = decideVacation({
      sender,
      headers,
      ownAddresses: ownAddresses(store, account.address),
      vacation,
      now,
    });
    if (!decision.reply) {
      deps.logger.debug({ accountId, reason: decision.reason }, 'no vacation reply');
      return;
    }
    const to = decision.to;
    const routed = route(to, account.address);
    if (routed.kind !== 'accept') return;
    if (
      !store.sending.claimVacationReply(
        accountId,
        to.toLowerCase(),
        now,
        new Date(now.getTime() - VACATION.periodMs),
      )
    ) {
      return;
    }
    const queueId = deps.newQueueId();
    const text = buildVacationReply({
      from: account.address,
      to,
      original: headers,
      vacation,
      messageId: `${queueId}@${deps.hostname}`,
      date: now,
    });
    const bytes = Buffer.from(text, 'utf8');
    await deliver({
      queueId,
      envelope: { sender: '' },
      traceHeaders: '',
      body: { kind: 'memory', chunks: [bytes], size: bytes.length },
      receivedAt: now,
      local: routed.local,
      remote: routed.remote.map((address) => ({ address })),
      trace: {
        messageId: `<${queueId}@${deps.hostname}>`,
        via: 'vacation',
        account: account.address,
        recipients: [to],
      },
    });
    deps.logger.info({ accountId, queueId, to }, 'vacation reply sent');
  }
}
