// `mailroom trace ID [--json]`: one message's timeline from the store, by queue id or Message-ID, without reading logs.
import { MailroomError } from '../../errors.js';
import { noMoreArgs, requireArg, withStore, type Command } from '../main.js';
import { traceJson, traceText, type TraceNames } from './trace-format.js';

const USAGE = 'mailroom trace ID [--json]   (ID: a queue id or a Message-ID)';

export const traceCommand: Command = {
  name: 'trace',
  summary: 'ID [--json]: the timeline of one message (queue id or Message-ID)',
  options: { json: { type: 'boolean' } },
  optionHelp: { json: 'one JSON object: the steps and what is still queued' },
  help: [
    'Prints what happened to a message: received (from whom, TLS, the SPF/DKIM/DMARC verdicts), where',
    'each local copy was stored, every delivery attempt with the remote reply, DSNs and admin actions.',
    'Steps are kept for [retention] trace (default 30 days).',
  ],
  async run(ctx) {
    const id = requireArg(ctx, 0, 'queue id or Message-ID', USAGE);
    noMoreArgs(ctx, 1, USAGE);
    const retention = ctx.config().retention.trace;
    const out = await withStore(ctx, (store) => {
      const events = store.trace.events(id);
      const queueIds = [...new Set(events.map((e) => e.queueId))];
      const queued = queueIds.flatMap((q) => store.queue.get(q) ?? []);
      const names: TraceNames = {
        account: (accountId) => store.getAccountById(accountId)?.address ?? null,
        mailbox: (mailboxId) => store.mail.getMailboxById(mailboxId)?.name ?? null,
      };
      if (events.length === 0) return null;
      return ctx.values.json ? traceJson(events, queued, names) : traceText(events, queued, names);
    });
    if (out === null) {
      const kept =
        retention > 0
          ? `steps are kept for ${Math.round(retention / 86_400_000)} day(s)`
          : 'steps are kept forever';
      throw new MailroomError(
        'NOT_FOUND',
        `no message with queue id or Message-ID ${id} (${kept}: [retention] trace)`,
      );
    }
    if (typeof out === 'string') ctx.print(out);
    else ctx.printJson(out);
  },
};
