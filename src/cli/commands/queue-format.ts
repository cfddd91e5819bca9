// How `mailroom queue list` prints the queue: CONTRACT.md JSON, and a readable text form.
import type { QueueEntry } from '../../store/store.js';

/** CONTRACT.md "Machine-readable output": one object per queued message. */
export function queueJson(entries: readonly QueueEntry[]): unknown[] {
  return entries.map((e) => ({
    id: e.id,
    sender: e.sender,
    created_at: iso(e.createdAt),
    size: e.size,
    recipients: e.recipients.map((r) => ({
      address: r.address,
      state: r.state,
      attempts: r.attempts,
      next_attempt_at: r.nextAttemptAt ? iso(r.nextAttemptAt) : null,
      last_error: r.lastError,
    })),
  }));
}

/** RFC 3339 in UTC without milliseconds, as CONTRACT.md shows. */
function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function queueText(entries: readonly QueueEntry[]): string {
  if (entries.length === 0) return 'queue is empty';
  const lines: string[] = [];
  for (const e of entries) {
    lines.push(`${e.id}  ${iso(e.createdAt)}  ${e.size} bytes  from <${e.sender}>`);
    for (const r of e.recipients) {
      const next =
        r.nextAttemptAt && (r.state === 'pending' || r.state === 'deferred')
          ? `  next ${iso(r.nextAttemptAt)}`
          : '';
      const err = r.lastError ? `  ${r.lastError}` : '';
      lines.push(`    ${r.address}  ${r.state}  attempts ${r.attempts}${next}${err}`);
    }
  }
  return lines.join('\n');
}
