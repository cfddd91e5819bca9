// Per-account submission limits: messages and recipients per sliding hour, in memory, shared by SMTP and JMAP submission.

/*
 * Why: a stolen password is used to send spam as fast as the server takes it, which gets the server's IP
 * listed everywhere. Counting what each authenticated account sent in the last hour and refusing more
 * with a temporary error (451 4.7.1, RFC 3463: "delivery not authorized") bounds the damage while a
 * person who sends a lot only waits. Kept in memory (a restart forgets the counts): the window is an
 * hour, and a store write per message would cost more than the limit is worth.
 */

export interface SubmissionLimitSettings {
  /** 0: no limit. */
  messagesPerHour: number;
  recipientsPerHour: number;
}

const HOUR_MS = 60 * 60_000;

/** The sliding-hour counter itself (pure: the clock is a parameter). */
export class SubmissionCounter {
  /** Per account: what it sent, oldest first; never more entries than messagesPerHour (+1) when limited. */
  private readonly sent = new Map<string, { at: number; recipients: number }[]>();

  constructor(private readonly settings: SubmissionLimitSettings) {}

  /** May `account` start one more message now? */
  messageAllowed(account: string, now: number): boolean {
    const limit = this.settings.messagesPerHour;
    return limit === 0 || this.window(account, now).length < limit;
  }

  /** May a message of `account` have `recipients` recipients in all now? */
  recipientsAllowed(account: string, recipients: number, now: number): boolean {
    const limit = this.settings.recipientsPerHour;
    if (limit === 0) return true;
    const used = this.window(account, now).reduce((n, e) => n + e.recipients, 0);
    return used + recipients <= limit;
  }

  /** One message of `account` with `recipients` recipients was accepted at `now`. */
  record(account: string, recipients: number, now: number): void {
    const entries = this.window(account, now);
    entries.push({ at: now, recipients });
    this.sent.set(account, entries);
  }

  /** The account's entries of the last hour (older ones dropped; an account with none is forgotten). */
  private window(account: string, now: number): { at: number; recipients: number }[] {
    const entries = this.sent.get(account);
    if (!entries) return [];
    let drop = 0;
    while (drop < entries.length && now - entries[drop]!.at >= HOUR_MS) drop++;
    if (drop > 0) entries.splice(0, drop);
    if (entries.length === 0) this.sent.delete(account);
    return entries;
  }
}

/** What SMTP and JMAP submission call; refusals are logged here (event `submission-limit`). */
export interface SubmissionLimits {
  messageAllowed(account: string, protocol: 'smtp' | 'jmap'): boolean;
  recipientsAllowed(account: string, recipients: number, protocol: 'smtp' | 'jmap'): boolean;
  record(account: string, recipients: number): void;
}

export function createSubmissionLimits(
  settings: SubmissionLimitSettings,
  now: () => number,
  log: (fields: {
    protocol: string;
    account: string;
    limit: 'messages' | 'recipients';
    perHour: number;
  }) => void,
): SubmissionLimits {
  const counter = new SubmissionCounter(settings);
  return {
    messageAllowed(account, protocol) {
      if (counter.messageAllowed(account, now())) return true;
      log({ protocol, account, limit: 'messages', perHour: settings.messagesPerHour });
      return false;
    },
    recipientsAllowed(account, recipients, protocol) {
      if (counter.recipientsAllowed(account, recipients, now())) return true;
      log({ protocol, account, limit: 'recipients', perHour: settings.recipientsPerHour });
      return false;
    },
    record: (account, recipients) => counter.record(account, recipients, now()),
  };
}
