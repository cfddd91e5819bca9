// `mailroom domain add NAME | remove NAME | list [--json]`: the domains whose mail is delivered locally.
import { normalizeDomain } from '../../store/sqlite/names.js';
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
        // Says what was stored: `foo.test.` is foo.test, `xn--bcher-kva.test` is bücher.test (names.ts).
        const stored = normalizeDomain(name);
        await withStore(ctx, (store) => store.addDomain(stored));
        ctx.print(`domain ${stored} added`);
        return;
      }
      case 'remove': {
        const name = requireArg(ctx, 1, 'domain name', 'mailroom domain remove NAME');
        noMoreArgs(ctx, 2, 'mailroom domain remove NAME');
        const stored = normalizeDomain(name);
        await withStore(ctx, (store) => store.removeDomain(stored));
        ctx.print(`domain ${stored} removed`);
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
