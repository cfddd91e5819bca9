// Admin actions of the CLI recorded in the store (trace-store.ts), so the running server logs each as an `admin-action` line.
import { userInfo } from 'node:os';
import type { AdminAction } from '../store/trace-store.js';
import type { Command, CommandContext } from './main.js';

/** Commands whose every successful run is recorded; the value names the actions that only read. */
const AUDITED: Record<string, ReadonlySet<string> | 'whole'> = {
  domain: new Set(['list']),
  user: new Set(['list']),
  alias: new Set(['list']),
  token: new Set(['list']),
  queue: new Set(['list']),
  dkim: new Set(['list', 'show']),
  // A copy of every mailbox leaving the server, and a data directory replaced: both worth an audit line.
  backup: 'whole',
  restore: 'whole',
};

/** Options whose values never go into the record (the rest are names and switches). */
const SECRET_OPTIONS: ReadonlySet<string> = new Set(['password']);

/** What a successful run of `command` changed, or null when it only read (or is not an admin command). */
export function auditedAction(
  command: Pick<Command, 'name'>,
  ctx: Pick<CommandContext, 'positionals' | 'values' | 'io'>,
): { action: Omit<AdminAction, 'at'>; queueId?: string } | null {
  const rule = AUDITED[command.name];
  if (rule === undefined) return null;
  const [verb, target, ...rest] = ctx.positionals;
  if (rule !== 'whole' && (verb === undefined || rule.has(verb))) return null;
  const options: Record<string, string | boolean> = {};
  for (const [name, value] of Object.entries(ctx.values)) {
    if (value === undefined || value === false || name === 'help' || name === 'config') continue;
    options[name] = SECRET_OPTIONS.has(name) && typeof value === 'string' ? '(given)' : value;
  }
  const detail = {
    ...(rule !== 'whole' && rest.length > 0 ? { args: rest } : {}),
    ...(Object.keys(options).length > 0 ? { options } : {}),
  };
  const action: Omit<AdminAction, 'at'> = {
    actor: actorOf(ctx.io.env),
    action: rule === 'whole' ? command.name : `${command.name} ${verb}`,
    target: (rule === 'whole' ? verb : target) ?? null,
    ...(Object.keys(detail).length > 0 ? { detail } : {}),
  };
  // `queue remove ID`: the message's own timeline shows who removed it.
  return command.name === 'queue' && verb === 'remove' && target !== undefined
    ? { action, queueId: target }
    : { action };
}

/** The person behind the command: the sudo caller when run through sudo, else the Unix user. */
export function actorOf(env: Record<string, string | undefined>): string {
  if (env.SUDO_USER) return env.SUDO_USER;
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? 'unknown';
  }
}
