// Local delivery with its log line: which account and mailbox each copy of an accepted message went to.
import type { Logger } from '../observability/logger.js';
import type { DeliveryRequest, Store } from '../store/store.js';

/** Where the copies went, when the backend tells (SQLite's deliverWithResult); otherwise only the request is known. */
interface WithResult {
  deliverWithResult?(request: DeliveryRequest): Promise<{
    copies: { accountId: number; mailboxId: number; uid: number; mailbox: string; account: string }[];
    vacationAccounts?: number[];
  }>;
}

/** What a delivery's commit told beyond success: the accounts to answer with a vacation reply, when known. */
export interface DeliveryOutcome {
  /** Local recipients' accounts with an enabled VacationResponse as of the commit; undefined: not known. */
  vacationAccounts?: number[];
}

/**
 * store.deliver plus one `delivered` line per local copy (issue 11: "which mailbox a local delivery
 * went to"): the queue id that is in the Received header, the account, the mailbox as it is named
 * at the commit (a DMARC quarantine lands in Junk, a missing folder in INBOX) and the UID. Logged after
 * the commit, so a line means the copy is on disk.
 */
export function deliverAndLog(
  store: Store,
  logger: Logger,
): (request: DeliveryRequest) => Promise<DeliveryOutcome> {
  const withResult = (store as WithResult).deliverWithResult?.bind(store);
  if (!withResult) {
    return async (request) => {
      await store.deliver(request);
      for (const target of request.local) {
        logger.info(
          {
            event: 'delivered',
            queueId: request.queueId,
            account: store.getAccountById(target.accountId)?.address,
            mailbox: target.mailbox ?? target.specialUse ?? 'INBOX',
          },
          'delivered',
        );
      }
      return {};
    };
  }
  return async (request) => {
    const { copies, vacationAccounts } = await withResult(request);
    for (const copy of copies) {
      logger.info(
        {
          event: 'delivered',
          queueId: request.queueId,
          // Named by the commit itself: a look-up here cost a query per copy (getMailboxById even counted
          // the mailbox's messages, a scan that grew with the mailbox), after every delivery.
          account: copy.account,
          mailbox: copy.mailbox,
          uid: copy.uid,
        },
        'delivered',
      );
    }
    return vacationAccounts ? { vacationAccounts } : {};
  };
}
