// JSON logs, one object a line (pino), with child loggers carrying session and queue ids; or text lines for humans.
import { pino, stdTimeFunctions, type Logger as PinoLogger, type DestinationStream } from 'pino';
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
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.format === 'text')
    return pino(settings, textDestination(options.destination ?? pino.destination(1)));
  return options.destination ? pino(settings, options.destination) : pino(settings);
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
