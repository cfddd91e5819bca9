// `mailroom user add|remove|list|passwd|disable|enable`: accounts (full address as user name, scrypt password hash).
import { hashPassword } from '../../auth/password-hash.js';
import { MailroomError } from '../../errors.js';
import { MAX_PASSWORD_BYTES } from '../../config/limits.js';
import type { Account, AccountState, Store } from '../../store/store.js';
import { noMoreArgs, requireArg, UsageError, withStore, type Command, type CommandContext } from '../main.js';
import { parseQuotaSize, type QuotaState } from '../../store/quota.js';

const USAGE =
  'mailroom user add ADDRESS --password PW | passwd ADDRESS --password PW | disable ADDRESS | enable ADDRESS | ' +
  'remove ADDRESS --force | --keep-mail | quota ADDRESS SIZE [--messages N] | list [--json]';

/** The password from --password or --password-stdin (exactly one), checked against [auth] min_password_length. */
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
  // Characters as a person counts them (code points), not UTF-16 units or bytes.
  const min = ctx.config().auth.minPasswordLength;
  const length = [...password].length;
  if (length < min) {
    throw new MailroomError(
      'BAD_PASSWORD',
      `the password is too short: ${length} character(s), at least ${min} needed ([auth] min_password_length)`,
    );
  }
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES)
    throw new MailroomError('BAD_PASSWORD', `the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  return password;
}

function requireAccount(store: Store, address: string): Account {
  const account = store.getAccount(address);
  if (!account) throw new MailroomError('NO_SUCH_ACCOUNT', `no such account: ${address.toLowerCase()}`);
  return account;
}

/** One account of `user list --json` (CONTRACT.md "Machine-readable output"). */
function listEntry(account: Account, usage: QuotaState | undefined) {
  const limits = { bytes: usage?.limitBytes ?? null, messages: usage?.limitMessages ?? null };
  return {
    address: account.address,
    created_at: account.createdAt.toISOString(),
    state: account.state,
    disabled: account.state !== 'active',
    last_login: account.lastLoginAt?.toISOString() ?? null,
    // `user quota`: octets and messages (RFC 9208 STORAGE, MESSAGE), each null when unlimited; null: none at all.
    quota: limits.bytes === null && limits.messages === null ? null : limits,
    usage: { bytes: usage?.bytes ?? 0, messages: usage?.messages ?? 0 },
  };
}

const STATE_NOTE: Record<AccountState, string> = {
  active: '',
  disabled: ' (disabled)',
  removed: ' (removed, mail kept)',
};

export const userCommand: Command = {
  name: 'user',
  summary: 'add | passwd | disable | enable | remove | quota | list: accounts',
  options: {
    json: { type: 'boolean' },
    password: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    force: { type: 'boolean' },
    'keep-mail': { type: 'boolean' },
    messages: { type: 'string' },
  },
  optionHelp: {
    json: 'list: one JSON array (address, state, disabled, last_login, quota, usage)',
    password: 'PW  add/passwd: the password (visible to other local users in ps; prefer --password-stdin)',
    'password-stdin': 'add/passwd: read the password from stdin (one trailing newline is dropped)',
    force: 'remove: delete the account and all its mail',
    'keep-mail': 'remove: the account can no longer sign in nor receive mail; its mailboxes stay',
    messages: 'N  quota: also limit the number of messages (0 = no limit; unchanged when not given)',
  },
  help: [
    'usage:',
    '  mailroom user add ADDRESS --password PW | --password-stdin   creates an account with its INBOX',
    '  mailroom user passwd ADDRESS --password PW | --password-stdin',
    '  mailroom user disable ADDRESS   no sign-in on any protocol, open sessions end; mail still accepted',
    '  mailroom user enable ADDRESS    undoes disable (and remove --keep-mail)',
    '  mailroom user remove ADDRESS --force | --keep-mail',
    '  mailroom user quota ADDRESS SIZE [--messages N]   storage quota: 2G, 500M, 10K, octets; 0 = none',
    '  mailroom user list [--json]',
    'Passwords need at least [auth] min_password_length characters (default 8).',
  ],
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
        const line = 'mailroom user remove ADDRESS --force | --keep-mail';
        const address = requireArg(ctx, 1, 'address', line);
        noMoreArgs(ctx, 2, line);
        const force = ctx.values.force === true;
        const keep = ctx.values['keep-mail'] === true;
        if (force && keep) throw new UsageError('give --force or --keep-mail, not both');
        if (!force && !keep) {
          throw new UsageError(
            `removing ${address.toLowerCase()} deletes all its mail: give --force to do so, or --keep-mail to ` +
              'stop its sign-in and mail and keep its mailboxes',
          );
        }
        // Open sessions of the account end within seconds either way (server/account-sessions.ts).
        await withStore(ctx, (store) => {
          if (force) return store.removeAccount(address);
          requireAccount(store, address);
          store.setAccountState(address, 'removed');
        });
        ctx.print(
          force
            ? `user ${address.toLowerCase()} removed`
            : `user ${address.toLowerCase()} removed; its mailboxes are kept (user enable restores it, user remove --force deletes them)`,
        );
        return;
      }
      case 'disable':
      case 'enable': {
        const line = `mailroom user ${action} ADDRESS`;
        const address = requireArg(ctx, 1, 'address', line);
        noMoreArgs(ctx, 2, line);
        await withStore(ctx, (store) => {
          requireAccount(store, address);
          store.setAccountState(address, action === 'disable' ? 'disabled' : 'active');
        });
        ctx.print(`user ${address.toLowerCase()} ${action}d`);
        return;
      }
      case 'passwd': {
        const line = 'mailroom user passwd ADDRESS --password PW | --password-stdin';
        const address = requireArg(ctx, 1, 'address', line);
        noMoreArgs(ctx, 2, line);
        const password = await readPassword(ctx, line);
        await withStore(ctx, async (store) => {
          requireAccount(store, address);
          store.setPasswordHash(address, await hashPassword(password));
        });
        ctx.print(`password of ${address.toLowerCase()} changed`);
        return;
      }
      case 'quota': {
        const line = 'mailroom user quota ADDRESS SIZE [--messages N]';
        const address = requireArg(ctx, 1, 'address', line);
        const sizeText = requireArg(ctx, 2, 'size', line);
        noMoreArgs(ctx, 3, line);
        let bytes: number | null;
        let messages: number | null | undefined;
        try {
          bytes = parseQuotaSize(sizeText);
          const m = ctx.values.messages;
          if (typeof m === 'string') {
            if (!/^\d{1,12}$/.test(m)) throw new UsageError(`--messages: not a count: "${m}"`);
            messages = Number(m) === 0 ? null : Number(m);
          }
        } catch (error) {
          if (error instanceof MailroomError && error.code === 'BAD_QUOTA')
            throw new UsageError(error.message);
          throw error;
        }
        await withStore(ctx, (store) =>
          store.setQuota(address, messages === undefined ? { bytes } : { bytes, messages }),
        );
        ctx.print(
          bytes === null
            ? `storage quota of ${address.toLowerCase()} removed`
            : `storage quota of ${address.toLowerCase()} set to ${bytes} octets`,
        );
        return;
      }
      case 'list': {
        noMoreArgs(ctx, 1, 'mailroom user list [--json]');
        if (ctx.values.json) {
          const entries = await withStore(ctx, (store) => {
            const usage = new Map(store.accountUsage().map((u) => [u.accountId, u]));
            return store.listAccounts().map((a) => listEntry(a, usage.get(a.id)));
          });
          ctx.printJson(entries);
        } else {
          const accounts = await withStore(ctx, (store) => store.listAccounts());
          for (const a of accounts) ctx.print(`${a.address}${STATE_NOTE[a.state]}`);
        }
        return;
      }
      default:
        throw new UsageError(`user: unknown action "${action}" (usage: ${USAGE})`);
    }
  },
};
