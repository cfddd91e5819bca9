// `mailroom user add|remove|list|passwd`: accounts (full address as user name, scrypt password hash).
import { hashPassword } from '../../auth/password-hash.js';
import { MailroomError } from '../../errors.js';
import { MAX_PASSWORD_BYTES } from '../../config/limits.js';
import { noMoreArgs, requireArg, UsageError, withStore, type Command, type CommandContext } from '../main.js';

const USAGE =
  'mailroom user add ADDRESS --password PW | remove ADDRESS | list [--json] | passwd ADDRESS --password PW';

/** The password from --password or --password-stdin (exactly one). */
async function readPassword(ctx: CommandContext, usageLine: string): Promise<string> {
  const given = ctx.values.password;
  const fromStdin = ctx.values['password-stdin'] === true;
  if (typeof given === 'string' && fromStdin)
    throw new UsageError('give --password or --password-stdin, not both');
  let password: string;
  if (typeof given === 'string') password = given;
  else if (fromStdin) {
    // One trailing newline is what `echo pw |` adds; it is not part of the password.
    password = (await ctx.io.readStdin()).replace(/\r?\n$/, '');
  } else throw new UsageError(`missing --password or --password-stdin (usage: ${usageLine})`);
  if (password.length === 0) throw new MailroomError('BAD_PASSWORD', 'the password is empty');
  if (/[\r\n\0]/.test(password)) {
    // SASL PLAIN separates fields with NUL, and line-based AUTH LOGIN could never send CR/LF (RFC 4616 2).
    throw new MailroomError('BAD_PASSWORD', 'the password contains a line break or NUL');
  }
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES)
    throw new MailroomError('BAD_PASSWORD', `the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  return password;
}

export const userCommand: Command = {
  name: 'user',
  summary: 'add ADDRESS --password PW | remove ADDRESS | list [--json] | passwd ADDRESS --password PW',
  options: {
    json: { type: 'boolean' },
    password: { type: 'string' },
    'password-stdin': { type: 'boolean' },
  },
  async run(ctx) {
    const action = requireArg(ctx, 0, 'action', USAGE);
    switch (action) {
      case 'add': {
        const line = 'mailroom user add ADDRESS --password PW | --password-stdin';
        const address = requireArg(ctx, 1, 'address', line);
        noMoreArgs(ctx, 2, line);
        const password = await readPassword(ctx, line);
        const account = await withStore(ctx, async (store) => {
          // Checked before the (deliberately slow) hash so a typo fails fast; addAccount checks again.
          const domain = address.slice(address.lastIndexOf('@') + 1);
          if (address.includes('@') && !store.isLocalDomain(domain)) {
            throw new MailroomError(
              'DOMAIN_NOT_LOCAL',
              `domain ${domain.toLowerCase()} is not a local domain (add it first)`,
            );
          }
          return store.addAccount(address, await hashPassword(password));
        });
        ctx.print(`user ${account.address} added`);
        return;
      }
      case 'remove': {
        const line = 'mailroom user remove ADDRESS';
        const address = requireArg(ctx, 1, 'address', line);
        noMoreArgs(ctx, 2, line);
        await withStore(ctx, (store) => store.removeAccount(address));
        ctx.print(`user ${address.toLowerCase()} removed`);
        return;
      }
      case 'passwd': {
        const line = 'mailroom user passwd ADDRESS --password PW | --password-stdin';
        const address = requireArg(ctx, 1, 'address', line);
        noMoreArgs(ctx, 2, line);
        const password = await readPassword(ctx, line);
        await withStore(ctx, async (store) => {
          if (!store.getAccount(address))
            throw new MailroomError('NO_SUCH_ACCOUNT', `no such account: ${address}`);
          store.setPasswordHash(address, await hashPassword(password));
        });
        ctx.print(`password of ${address.toLowerCase()} changed`);
        return;
      }
      case 'list': {
        noMoreArgs(ctx, 1, 'mailroom user list [--json]');
        const accounts = await withStore(ctx, (store) => store.listAccounts());
        if (ctx.values.json) {
          ctx.printJson(accounts.map((a) => ({ address: a.address, created_at: a.createdAt.toISOString() })));
        } else for (const a of accounts) ctx.print(a.address);
        return;
      }
      default:
        throw new UsageError(`user: unknown action "${action}" (usage: ${USAGE})`);
    }
  },
};
