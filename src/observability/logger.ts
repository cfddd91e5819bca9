// JSON logs, one object a line (pino), with child loggers carrying session and queue ids; or text lines for humans.
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { writeSync } from 'node:fs';
import { LOG_FLUSH_MS } from '../config/limits.js';
import { textDestination } from './text-format.js';

export type Logger = PinoLogger;

/** `json` (the default: one object a line, for machines and fail2ban) or `text` (one readable line each). */
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function createLogger(
  options: { level?: string; destination?: DestinationStream; format?: LogFormat } = {},
): Logger {
  const level = options.level ?? process.env.MAILROOM_LOG_LEVEL ?? 'info';
  const settings = {
    level,
    // `"time":"2026-12-05T16:34:03.123Z"` (UTC, ISO 8601) and `"level":"info"`: what an admin reads and
    // greps, and what fail2ban's datepattern parses, instead of epoch milliseconds and pino's numbers.
    timestamp: isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.format === 'text')
    return pino(settings, textDestination(options.destination ?? coalescingDestination(pino.destination(1))));
  return pino(settings, options.destination ?? coalescingDestination(pino.destination(1)));
}

let stampedMs = Number.NaN;
let stamp = '';
/**
 * pino's `stdTimeFunctions.isoTime`, byte for byte, with the string kept for the millisecond it names:
 * pino's makes a Date and an ISO string per line, and at load (a) every message has two lines, mostly
 * within the same millisecond as others. Reads Date.now() on every call, so a faked clock still shows.
 */
export function isoTime(): string {
  const ms = Date.now();
  if (ms !== stampedMs) {
    stampedMs = ms;
    stamp = `,"time":"${new Date(ms).toISOString()}"`;
  }
  return stamp;
}

/** Destinations with lines not yet written: written synchronously when the process exits (see below). */
const unflushed = new Set<() => void>();
// Installed when this module loads, so it runs before pino's own exit handler (registered when its first
// destination is made), whose flushSync our late lines must not follow.
process.on('exit', () => {
  for (const flush of [...unflushed]) flush();
});

/**
 * Stdout for the server's log: the lines of the next LOG_FLUSH_MS (10 ms) are handed to pino's destination
 * together, so they cost one fs.write, not one each. At load (a) every message has its `message-accepted`
 * and `delivered` line, and a write per line was ~5% of the SMTP main thread plus a thread-pool job each.
 * The timer is unref'd (it never keeps the process up); the lines still waiting when the process exits
 * (process.exit, a fatal error, the end of `serve`) are written synchronously by the 'exit' handler, after
 * what the destination holds. Only a SIGKILL can lose them: the last 10 ms of lines.
 */
export function coalescingDestination(
  dest: { write(text: string): unknown; flushSync?(): void; fd?: number },
  schedule: (run: () => void) => unknown = (run) => setTimeout(run, LOG_FLUSH_MS).unref(),
): DestinationStream & { flushSync(): void } {
  let pending: string[] = [];
  let scheduled = false;
  const take = (): string | null => {
    scheduled = false;
    unflushed.delete(atExit);
    if (pending.length === 0) return null;
    const text = pending.length === 1 ? (pending[0] as string) : pending.join('');
    pending = [];
    return text;
  };
  const flushSync = (): void => {
    const text = take();
    if (text !== null) dest.write(text);
  };
  // At exit there is no event loop left for an asynchronous write: what the destination holds goes first.
  function atExit(): void {
    const text = take();
    if (text === null) return;
    try {
      dest.flushSync?.();
    } catch {
      // Not open yet, or already closed: our lines still go out below.
    }
    if (typeof dest.fd === 'number' && dest.fd >= 0) writeSync(dest.fd, text);
    else dest.write(text);
  }
  return {
    write(line: string): void {
      pending.push(line);
      if (scheduled) return;
      scheduled = true;
      unflushed.add(atExit);
      schedule(flushSync);
    },
    flushSync,
  };
}

/** A logger that drops everything: for unit tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Sends Node's process warnings (deprecations, MaxListenersExceeded, the store's own warnings) to
 * `logger` as one JSON line each, instead of Node's default plain-text line on stderr, so a log
 * reader sees every line in one format. Returns a function that puts the default printer back.
 */
export function routeProcessWarnings(logger: Logger): () => void {
  const previous = process.listeners('warning');
  for (const listener of previous) process.off('warning', listener);
  const onWarning = (warning: Error & { code?: string }): void => {
    logger.warn(
      { warning: { name: warning.name, code: warning.code, message: warning.message } },
      'process warning',
    );
  };
  process.on('warning', onWarning);
  return () => {
    process.off('warning', onWarning);
    for (const listener of previous) process.on('warning', listener);
  };
}
