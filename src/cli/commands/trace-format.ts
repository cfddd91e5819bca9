// How `mailroom trace` prints a message's timeline: readable lines, and the JSON form (pure; names resolved by the caller).
import type { QueueEntry } from '../../store/store.js';
import type { TraceEvent } from '../../store/trace-store.js';

/** Names for the ids a `received` step stores (the account and mailbox may have been renamed or removed since). */
export interface TraceNames {
  account(id: number): string | null;
  mailbox(id: number): string | null;
}

interface StoredCopy {
  accountId: number;
  mailboxId: number;
  uid: number;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function storedCopies(detail: Record<string, unknown>): StoredCopy[] {
  return list(detail.stored).filter(
    (c): c is StoredCopy =>
      typeof c === 'object' &&
      c !== null &&
      typeof (c as StoredCopy).accountId === 'number' &&
      typeof (c as StoredCopy).mailboxId === 'number',
  );
}

/** The JSON form: each step with its detail, stored copies named. */
export function traceJson(
  events: readonly TraceEvent[],
  queued: readonly QueueEntry[],
  names: TraceNames,
): unknown {
  return {
    events: events.map((e) => ({
      at: e.at.toISOString(),
      queue_id: e.queueId,
      kind: e.kind,
      ...(e.messageId !== null ? { message_id: e.messageId } : {}),
      ...e.detail,
      ...(e.kind === 'received'
        ? {
            stored: storedCopies(e.detail).map((c) => ({
              account: names.account(c.accountId),
              mailbox: names.mailbox(c.mailboxId),
              uid: c.uid,
            })),
          }
        : {}),
    })),
    queued: queued.map((q) => ({
      queue_id: q.id,
      recipients: q.recipients.map((r) => ({
        address: r.address,
        state: r.state,
        attempts: r.attempts,
        next_attempt_at: r.nextAttemptAt?.toISOString() ?? null,
        last_error: r.lastError,
      })),
    })),
  };
}

/** One line per step (continuation lines indented), then what is still waiting in the queue. */
export function traceText(
  events: readonly TraceEvent[],
  queued: readonly QueueEntry[],
  names: TraceNames,
): string {
  const lines: string[] = [];
  const pad = ' '.repeat(26);
  let lastQueueId: string | null = null;
  for (const e of events) {
    if (e.queueId !== lastQueueId) {
      if (lastQueueId !== null) lines.push('');
      lines.push(`queue id ${e.queueId}${e.messageId ? `  Message-ID ${e.messageId}` : ''}`);
      lastQueueId = e.queueId;
    }
    const at = e.at.toISOString();
    const d = e.detail;
    switch (e.kind) {
      case 'received': {
        const client = d.client as { ip?: string; helo?: string | null; tls?: string | null } | undefined;
        const from = client?.ip
          ? ` from ${client.ip}${client.helo ? ` (${client.helo})` : ''}${client.tls ? ` over ${client.tls}` : ' without TLS'}`
          : '';
        const account = str(d.account) ? ` as ${str(d.account)}` : '';
        lines.push(
          `${at}  received  via ${str(d.via) ?? '?'}${from}${account}, ${Number(d.size) || 0} bytes`,
        );
        lines.push(
          `${pad}from <${str(d.from) ?? ''}> to ${list(d.recipients)
            .map((r) => `<${String(r)}>`)
            .join(', ')}`,
        );
        if (str(d.auth)) lines.push(`${pad}checks: ${str(d.auth)}`);
        for (const c of storedCopies(d)) {
          const account = names.account(c.accountId) ?? `account #${c.accountId} (removed)`;
          const mailbox = names.mailbox(c.mailboxId) ?? `mailbox #${c.mailboxId} (deleted)`;
          lines.push(`${pad}stored for ${account} in ${mailbox}, UID ${c.uid}`);
        }
        const queuedTo = list(d.queued).map(String);
        if (queuedTo.length > 0) lines.push(`${pad}queued for ${queuedTo.map((a) => `<${a}>`).join(', ')}`);
        const about = d.about as { queueId?: string } | undefined;
        if (about?.queueId) lines.push(`${pad}a DSN about ${about.queueId}`);
        break;
      }
      case 'attempt': {
        lines.push(`${at}  attempt   ${str(d.remote) ? `to ${str(d.remote)}` : 'no server reached'}`);
        for (const r of list(d.results) as Record<string, unknown>[]) {
          const what = str(r.reply) ?? str(r.error) ?? '';
          const tls = r.tls === true ? ', TLS' : r.tls === false ? ', no TLS' : '';
          lines.push(
            `${pad}<${str(r.to) ?? ''}> ${str(r.state) ?? '?'} (attempt ${Number(r.attempts) || 0}${tls})${what ? `: ${what}` : ''}`,
          );
        }
        break;
      }
      case 'dsn':
        lines.push(
          `${at}  dsn       ${list(d.actions).map(String).join(', ')} sent to <${str(d.to) ?? ''}> as ${str(d.dsnQueueId) ?? '?'}`,
        );
        break;
      case 'admin':
        lines.push(`${at}  admin     ${str(d.action) ?? '?'} by ${str(d.actor) ?? '?'}`);
        break;
    }
  }
  for (const q of queued) {
    lines.push('', `still queued: ${q.id}`);
    for (const r of q.recipients) {
      const next = r.nextAttemptAt ? `, next attempt ${r.nextAttemptAt.toISOString()}` : '';
      lines.push(
        `    <${r.address}> ${r.state}, ${r.attempts} attempt(s)${next}${r.lastError ? `: ${r.lastError}` : ''}`,
      );
    }
  }
  return lines.join('\n');
}
