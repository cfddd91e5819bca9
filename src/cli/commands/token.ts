// `mailroom token create ADDRESS [--name N] | list [--json] | revoke ID`: API tokens for JMAP clients (HTTP Bearer).
import { newApiToken } from '../../auth/api-token.js';
import { MailroomError } from '../../errors.js';
import { noMoreArgs, requireArg, UsageError, withStore, type Command } from '../main.js';

const USAGE = 'mailroom token create ADDRESS [--name NAME] | list [--json] | revoke ID';

/** A name is for the admin's list: one printable line, bounded. */
const MAX_NAME = 200;

export const tokenCommand: Command = {
  name: 'token',
  summary: 'create ADDRESS [--name N] | list [--json] | revoke ID: API tokens (JMAP Bearer)',
  options: { json: { type: 'boolean' }, name: { type: 'string' } },
  async run(ctx) {
    const action = requireArg(ctx, 0, 'action', USAGE);
    switch (action) {
      case 'create': {
        const line = 'mailroom token create ADDRESS [--name NAME]';
        const address = requireArg(ctx, 1, 'address', line);
        noMoreArgs(ctx, 2, line);
        const name = typeof ctx.values.name === 'string' ? ctx.values.name : '';
        if (name.length > MAX_NAME || /[\x00-\x1f\x7f]/.test(name))
          throw new UsageError(`token: --name must be one line of at most ${MAX_NAME} characters`);
        // The token is printed once, here; the store keeps only its hash.
        const { token, hash } = newApiToken();
        const made = await withStore(ctx, (store) => store.tokens.create(address, name, hash));
        if (ctx.values.json) {
          ctx.printJson({ id: made.id, address: made.address, name: made.name, token });
        } else {
          ctx.print(`token ${made.id} for ${made.address} (shown once; keep it secret):`);
          ctx.print(token);
        }
        return;
      }
      case 'list': {
        noMoreArgs(ctx, 1, 'mailroom token list [--json]');
        const tokens = await withStore(ctx, (store) => store.tokens.list());
        if (ctx.values.json) {
          ctx.printJson(
            tokens.map((t) => ({
              id: t.id,
              address: t.address,
              name: t.name,
              created_at: t.createdAt.toISOString(),
            })),
          );
        } else {
          for (const t of tokens) {
            ctx.print(`${t.id}\t${t.address}\t${t.createdAt.toISOString()}\t${t.name}`);
          }
        }
        return;
      }
      case 'revoke': {
        const line = 'mailroom token revoke ID';
        const text = requireArg(ctx, 1, 'id', line);
        noMoreArgs(ctx, 2, line);
        if (!/^[1-9][0-9]{0,14}$/.test(text))
          throw new MailroomError('NO_SUCH_TOKEN', `no such token: ${text}`);
        await withStore(ctx, (store) => store.tokens.revoke(Number(text)));
        ctx.print(`token ${text} revoked`);
        return;
      }
      default:
        throw new UsageError(`token: unknown action "${action}" (usage: ${USAGE})`);
    }
  },
};
