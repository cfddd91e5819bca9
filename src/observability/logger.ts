// JSON logs, one object a line (pino), with child loggers carrying session and queue ids.
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const level = options.level ?? process.env.MAILROOM_LOG_LEVEL ?? 'info';
  return options.destination ? pino({ level }, options.destination) : pino({ level });
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
