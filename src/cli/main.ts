// The `mailroom` command line: picks the command, parses its options (node:util parseArgs), runs it, maps errors to exit codes.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { MailroomError } from '../errors.js';
import type { Store } from '../store/store.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { aliasCommand } from './commands/alias.js';
import { domainCommand } from './commands/domain.js';
import { sendCommand } from './commands/send.js';
import { serveCommand } from './commands/serve.js';
import { userCommand } from './commands/user.js';
import { queueCommand } from './commands/queue.js';
import { doctorCommand } from './commands/doctor.js';
import { backupCommand, restoreCommand } from './commands/backup.js';
import { dkimCommand } from './commands/dkim.js';
import { tokenCommand } from './commands/token.js';

/** What a command may touch of the outside world; main() gets the real one, tests may pass their own. */
export interface CliIo {
  argv: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** All of stdin (for --password-stdin). */
  readStdin: () => Promise<string>;
}

/** What every command gets: parsed options, the config (loaded on first use) and the store. */
export interface CommandContext {
  io: CliIo;
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
  config(): Config;
  /** Opens the same store the server uses (SQLite WAL: safe while it runs); the caller closes it. */
  openStore(): Store;
  print(text: string): void;
  printJson(value: unknown): void;
}

export interface Command {
  name: string;
  summary: string;
  /** Options beyond --config/--help. */
  options: NonNullable<ParseArgsConfig['options']>;
  run(ctx: CommandContext): Promise<void>;
}

/** A usage mistake: exit status 2 (as getopt-style tools do), the message on one line. */
export class UsageError extends MailroomError {
  constructor(message: string) {
    super('USAGE', message);
    this.name = 'UsageError';
  }
}

const COMMANDS: readonly Command[] = [
  serveCommand,
  domainCommand,
  userCommand,
  aliasCommand,
  tokenCommand,
  queueCommand,
  sendCommand,
  doctorCommand,
  backupCommand,
  restoreCommand,
  dkimCommand,
];
/** Named in CONTRACT.md; they arrive with the outgoing queue (a later issue). */
const LATER: string[] = [];

function usage(): string {
  const lines = COMMANDS.map((c) => `  mailroom ${c.name.padEnd(8)} ${c.summary}`);
  return ['usage: mailroom <command> [arguments] [--config PATH]', '', 'commands:', ...lines, ''].join('\n');
}

/** Runs one invocation; returns the exit status. Never throws. */
export async function main(io: CliIo): Promise<number> {
  const [name, ...rest] = io.argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      io.stdout(usage());
      return name === undefined ? 2 : 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) {
      if (LATER.includes(name)) throw new MailroomError('NOT_IMPLEMENTED', `${name}: not implemented yet`);
      throw new UsageError(`unknown command "${name}" (try: mailroom --help)`);
    }
    let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
    try {
      parsed = parseArgs({
        args: rest,
        allowPositionals: true,
        strict: true,
        options: {
          config: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
          ...command.options,
        },
      }) as typeof parsed;
    } catch (error) {
      // parseArgs appends a long hint after the first sentence; the first sentence is the error.
      const reason = firstLine((error as Error).message).replace(/\. .*$/, '.');
      throw new UsageError(`${name}: ${reason}`);
    }
    if (parsed.values.help) {
      io.stdout(`mailroom ${command.name}: ${command.summary}\n`);
      return 0;
    }
    let config: Config | undefined;
    const ctx: CommandContext = {
      io,
      positionals: parsed.positionals,
      values: parsed.values,
      config: () =>
        (config ??= loadConfig({
          configPath: typeof parsed.values.config === 'string' ? parsed.values.config : undefined,
          cwd: io.cwd,
          env: io.env,
        })),
      openStore: () => openSqliteStore({ dataDir: ctx.config().dataDir }),
      print: (text) => io.stdout(text.endsWith('\n') ? text : `${text}\n`),
      printJson: (value) => io.stdout(`${JSON.stringify(value, null, 2)}\n`),
    };
    await command.run(ctx);
    return 0;
  } catch (error) {
    if (error instanceof MailroomError) {
      io.stderr(`mailroom: ${firstLine(error.message)}\n`);
      return error instanceof UsageError ? 2 : 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`mailroom: internal error: ${firstLine(message)}\n`);
    if (io.env.MAILROOM_DEBUG && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return 1;
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** Positional argument `index`, or a usage error naming what is missing. */
export function requireArg(ctx: CommandContext, index: number, what: string, usageLine: string): string {
  const value = ctx.positionals[index];
  if (value === undefined || value === '') throw new UsageError(`missing ${what} (usage: ${usageLine})`);
  return value;
}

/** Refuses extra positionals so a typo is not silently ignored. */
export function noMoreArgs(ctx: CommandContext, count: number, usageLine: string): void {
  if (ctx.positionals.length > count) {
    throw new UsageError(`unexpected argument "${ctx.positionals[count]}" (usage: ${usageLine})`);
  }
}

/** Runs `fn` with an open store and always closes it. */
export async function withStore<T>(ctx: CommandContext, fn: (store: Store) => T | Promise<T>): Promise<T> {
  const store = ctx.openStore();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
