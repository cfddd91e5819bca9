// `mailroom domain add NAME | remove NAME | list [--json]`: the domains whose mail is delivered locally.
import { noMoreArgs, requireArg, UsageError, withStore, type Command } from '../main.js';

const USAGE = 'mailroom domain add NAME | remove NAME | list [--json]';

export const domainCommand: Command = {
  name: 'domain',
  summary: 'add NAME | remove NAME | list [--json]: local domains',
  options: { json: { type: 'boolean' } },
  async run(ctx) {
    const action = requireArg(ctx, 0, 'action', USAGE);
    switch (action) {
      case 'add': {
        const name = requireArg(ctx, 1, 'domain name', 'mailroom domain add NAME');
        noMoreArgs(ctx, 2, 'mailroom domain add NAME');
        await withStore(ctx, (store) => store.addDomain(name));
        ctx.print(`domain ${name.toLowerCase()} added`);
        return;
      }
      case 'remove': {
        const name = requireArg(ctx, 1, 'domain name', 'mailroom domain remove NAME');
        noMoreArgs(ctx, 2, 'mailroom domain remove NAME');
        await withStore(ctx, (store) => store.removeDomain(name));
        ctx.print(`domain ${name.toLowerCase()} removed`);
        return;
      }
      case 'list': {
        noMoreArgs(ctx, 1, 'mailroom domain list [--json]');
        const domains = await withStore(ctx, (store) => store.listDomains());
        if (ctx.values.json) ctx.printJson(domains.map((name) => ({ name })));
        else for (const name of domains) ctx.print(name);
        return;
      }
      default:
        throw new UsageError(`domain: unknown action "${action}" (usage: ${USAGE})`);
    }
  },
};
