// `mailroom queue list [--json] | flush | remove ID`: the outgoing queue, safe while the server runs.
import { MailroomError } from '../../errors.js';
import { queueJson, queueText } from './queue-format.js';
import { noMoreArgs, requireArg, UsageError, withStore, type Command } from '../main.js';

const USAGE = 'mailroom queue list [--json] | flush | remove ID';

export const queueCommand: Command = {
  name: 'queue',
  summary: 'list [--json] | flush | remove ID: the outgoing queue',
  options: { json: { type: 'boolean' } },
  async run(ctx) {
    const action = requireArg(ctx, 0, 'action', USAGE);
    switch (action) {
      case 'list': {
        noMoreArgs(ctx, 1, 'mailroom queue list [--json]');
        const entries = await withStore(ctx, (store) => store.queue.list());
        if (ctx.values.json) ctx.printJson(queueJson(entries));
        else ctx.print(queueText(entries));
        return;
      }
      case 'flush': {
        noMoreArgs(ctx, 1, 'mailroom queue flush');
        // The running server polls the store's change counter every second and sees this at once.
        const n = await withStore(ctx, (store) => store.queue.flush(new Date()));
        ctx.print(`${n} recipient(s) due now`);
        return;
      }
      case 'remove': {
        const line = 'mailroom queue remove ID';
        const id = requireArg(ctx, 1, 'queue id', line);
        noMoreArgs(ctx, 2, line);
        const removed = await withStore(ctx, (store) => store.queue.remove(id));
        if (!removed) throw new MailroomError('NO_SUCH_QUEUE_ENTRY', `no such queue entry: ${id}`);
        ctx.print(`queue entry ${id} removed`);
        return;
      }
      default:
        throw new UsageError(`queue: unknown action "${action}" (usage: ${USAGE})`);
    }
  },
};
