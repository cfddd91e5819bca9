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
import { traceCommand } from './commands/trace.js';
import { auditedAction } from './audit.js';

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
  /** What `--help` says about each option (name -> "ARG  what it does"); options without one are listed bare. */
  optionHelp?: Record<string, string>;
  /** Lines `--help` prints after the usage line: the actions and what they do. */
  help?: readonly string[];
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
  traceCommand,
];
/** Named in CONTRACT.md; they arrive with the outgoing queue (a later issue). */
const LATER: string[] = [];

function usage(): string {
  const lines = COMMANDS.map((c) => `  mailroom ${c.name.padEnd(8)} ${c.summary}`);
  return [
    'usage: mailroom [--config PATH] <command> [arguments] [--config PATH]',
    '',
    'commands:',
    ...lines,
    '',
    'mailroom <command> --help shows its options.',
    '',
  ].join('\n');
}

/** The options every command takes (see main below). */
const COMMON_OPTION_HELP: Record<string, string> = {
  config: 'PATH  the config file (default: $MAILROOM_CONFIG, else ./mailroom.toml if present)',
  help: 'this text',
};

/** `mailroom <command> --help`: the summary, the command's own lines, then every option it accepts. */
export function commandHelp(command: Command): string {
  const options = {
    ...command.options,
    config: { type: 'string' as const },
    help: { type: 'boolean' as const, short: 'h' },
  };
  const rows = Object.entries(options).map(([name, spec]) => {
    const text = command.optionHelp?.[name] ?? COMMON_OPTION_HELP[name] ?? '';
    // "ARG  what it does": the argument's name goes beside the option (`--password PW`).
    const arg = /^([A-Z][A-Z_]*) {2}(.*)$/.exec(text);
    const short = 'short' in spec && spec.short ? `-${spec.short}, ` : '';
    const value = spec.type === 'string' ? ` ${arg?.[1] ?? 'VALUE'}` : '';
    return { label: `${short}--${name}${value}`, text: arg?.[2] ?? text };
  });
  const width = Math.max(...rows.map((r) => r.label.length)) + 2;
  return [
    `mailroom ${command.name}: ${command.summary}`,
    ...(command.help ? ['', ...command.help] : []),
    '',
    'options:',
    ...rows.map((r) => `  ${r.label.padEnd(width)}${r.text}`.trimEnd()),
    '',
  ].join('\n');
}

/**
 * `--config PATH` (or `--config=PATH`) before the command name, as in `mailroom --config x user list`:
 * taken off the front of argv. Returns the path (or undefined) and the rest.
 */
function leadingConfig(argv: string[]): { config: string | undefined; rest: string[] } {
  let config: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('-'))
        throw new UsageError("option '--config <value>' argument missing");
      config = value;
      i++;
    } else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else break;
  }
  return { config, rest: argv.slice(i) };
}

/** Runs one invocation; returns the exit status. Never throws. */
export async function main(io: CliIo): Promise<number> {
  try {
    const leading = leadingConfig(io.argv);
    const [name, ...rest] = leading.rest;
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
      io.stdout(commandHelp(command));
      return 0;
    }
    if (leading.config !== undefined) {
      if (typeof parsed.values.config === 'string' && parsed.values.config !== leading.config)
        throw new UsageError('--config given twice, with different paths');
      parsed.values.config = leading.config;
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
    await recordAudit(command, ctx);
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

/**
 * Records what an admin command changed (audit.ts), after it succeeded: the running server logs it as an
 * `admin-action` line. The change itself is done, so a failure here is a warning, not a failed command.
 */
async function recordAudit(command: Command, ctx: CommandContext): Promise<void> {
  const audited = auditedAction(command, ctx);
  if (!audited) return;
  try {
    await withStore(ctx, (store) =>
      store.trace.recordAdmin({ at: new Date(), ...audited.action }, audited.queueId),
    );
  } catch (error) {
    ctx.io.stderr(
      `mailroom: warning: the action was done but not recorded for the log: ${firstLine(String(error))}\n`,
    );
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
