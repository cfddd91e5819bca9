// `mailroom alias add SOURCE TARGET[,TARGET...] [--replace] | remove SOURCE | list [--json]`: aliases and catch-alls (`@domain`).
import { noMoreArgs, requireArg, UsageError, withStore, type Command } from '../main.js';

const USAGE = 'mailroom alias add SOURCE TARGET[,TARGET...] [--replace] | remove SOURCE | list [--json]';

export const aliasCommand: Command = {
  name: 'alias',
  summary:
    'add SOURCE TARGET[,TARGET...] [--replace] | remove SOURCE | list [--json]: aliases, @domain = catch-all',
  options: { json: { type: 'boolean' }, replace: { type: 'boolean' } },
  optionHelp: {
    json: 'list: one JSON array of {source, targets}',
    replace: "add: the targets given replace the alias's targets (without it they are added)",
  },
  help: [
    'usage:',
    '  mailroom alias add SOURCE TARGET[,TARGET...] [--replace]',
    '      adds the targets to SOURCE (creating it); SOURCE @domain is the catch-all of the domain.',
    '      Refused: SOURCE is an account, or the change makes a loop (a -> b -> a, through catch-alls too).',
    '  mailroom alias remove SOURCE',
    '  mailroom alias list [--json]',
  ],
  async run(ctx) {
    const action = requireArg(ctx, 0, 'action', USAGE);
    switch (action) {
      case 'add': {
        const line = 'mailroom alias add SOURCE TARGET[,TARGET...] [--replace]';
        const source = requireArg(ctx, 1, 'source', line);
        requireArg(ctx, 2, 'target', line);
        // Targets may be given comma-separated, as several arguments, or both.
        const targets = ctx.positionals
          .slice(2)
          .flatMap((t) => t.split(','))
          .map((t) => t.trim());
        if (targets.some((t) => t === ''))
          throw new UsageError(`alias: empty target in "${ctx.positionals.slice(2).join(' ')}"`);
        const all = await withStore(ctx, (store) => {
          store.addAlias(source, targets, { replace: ctx.values.replace === true });
          return store.getAlias(source)?.targets ?? targets;
        });
        ctx.print(`alias ${source.toLowerCase()} -> ${all.join(', ')}`);
        return;
      }
      case 'remove': {
        const line = 'mailroom alias remove SOURCE';
        const source = requireArg(ctx, 1, 'source', line);
        noMoreArgs(ctx, 2, line);
        await withStore(ctx, (store) => store.removeAlias(source));
        ctx.print(`alias ${source.toLowerCase()} removed`);
        return;
      }
      case 'list': {
        noMoreArgs(ctx, 1, 'mailroom alias list [--json]');
        const aliases = await withStore(ctx, (store) => store.listAliases());
        if (ctx.values.json) ctx.printJson(aliases.map((a) => ({ source: a.source, targets: a.targets })));
        else for (const a of aliases) ctx.print(`${a.source} -> ${a.targets.join(', ')}`);
        return;
      }
      default:
        throw new UsageError(`alias: unknown action "${action}" (usage: ${USAGE})`);
    }
  },
};
