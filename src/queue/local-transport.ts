// The queue's local delivery path (issue 12): queued mail for a local mailbox that was full is retried into it.
import type { Store } from '../store/store.js';
import { isOverQuota } from '../store/quota.js';
import type { RecipientResult } from '../smtp/client/client-types.js';
import type { Transport } from './scheduler.js';

/*
 * How local recipients reach the queue: a message for several recipients was stored for the others while
 * one account was over its quota (sqlite/deliver.ts), or a DSN found its local sender's mailbox full. The
 * SMTP client must never carry them (the MX of a local domain is this server: a loop), so the transport of
 * a local domain stores the queued copy into the account's mailbox instead (where the delivery routed it:
 * Junk, a named mailbox, else INBOX), with the replies an LMTP server would give: a full mailbox is a deferral (452 4.2.2, retried by the queue's schedule, bounced at max_age
 * like any deferral), a message larger than the whole quota a failure (552 5.2.2, a DSN at once).
 */

interface LocalDeps {
  store: Store;
  now: () => Date;
}

function result(address: string, code: number, enhanced: string, text: string): RecipientResult {
  return {
    address,
    outcome: code < 300 ? 'delivered' : code < 500 ? 'deferred' : 'failed',
    stage: 'local',
    reply: { code, enhanced, text },
    diagnostic: `${code} ${enhanced} ${text}`,
    fromPeer: false,
    tls: false,
  };
}

/**
 * Stores one queued message into each recipient's mailbox: the one its copy was routed to when it was
 * queued (Junk by the inbound checks, a named mailbox; QueueRecipient.localMailbox), else INBOX, with the
 * delivery's own fallback to INBOX when that mailbox is gone. One result per recipient.
 */
async function deliverJob(
  deps: LocalDeps,
  queueId: string,
  addresses: readonly string[],
): Promise<RecipientResult[]> {
  const entry = deps.store.queue.get(queueId);
  if (!entry) return addresses.map((a) => result(a, 451, '4.3.0', 'queued message vanished'));
  const message = await deps.store.queue.readMessage(queueId);
  const out: RecipientResult[] = [];
  for (const address of addresses) {
    const account = deps.store.getAccount(address);
    if (!account || account.state === 'removed') {
      out.push(result(address, 550, '5.1.1', 'no such mailbox here'));
      continue;
    }
    const queued = entry.recipients.find((r) => r.address === address);
    const target = {
      accountId: account.id,
      ...(queued?.localMailbox !== undefined && { mailbox: queued.localMailbox }),
      ...(queued?.localSpecialUse !== undefined && { specialUse: queued.localSpecialUse }),
    };
    try {
      await deps.store.deliver({
        queueId,
        envelope: { sender: entry.sender },
        traceHeaders: '', // the queued copy starts with its Received header already
        body: { kind: 'memory', chunks: [message], size: message.length },
        receivedAt: deps.now(),
        local: [target],
        remote: [],
      });
      out.push(result(address, 250, '2.0.0', 'delivered to the local mailbox'));
    } catch (error) {
      if (isOverQuota(error)) {
        out.push(
          error.permanent
            ? result(address, 552, '5.2.2', 'message exceeds the mailbox quota')
            : result(address, 452, '4.2.2', 'mailbox full'),
        );
      } else {
        out.push(result(address, 451, '4.3.0', 'local delivery failed, will retry'));
      }
    }
  }
  return out;
}

/** `remote` for other domains; local domains' queued recipients are delivered into their mailboxes. */
export function withLocalDelivery(remote: Transport, deps: LocalDeps): Transport {
  return async (domain, jobs, done) => {
    if (!deps.store.isLocalDomain(domain)) return remote(domain, jobs, done);
    for (const job of jobs) {
      let results: RecipientResult[];
      try {
        results = await deliverJob(
          deps,
          job.queueId,
          job.recipients.map((r) => r.address),
        );
      } catch {
        // Reading the queued copy failed: every recipient waits for the next attempt.
        results = job.recipients.map((r) =>
          result(r.address, 451, '4.3.0', 'local delivery failed, will retry'),
        );
      }
      done(job.queueId, results, { host: 'localhost', dsn: true });
    }
  };
}
