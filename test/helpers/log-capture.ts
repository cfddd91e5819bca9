// Test helper: a real logger (observability/logger.ts) whose JSON lines are kept, parsed, for assertions.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger.js';

/** A logger at `level` writing into `lines` (each JSON line parsed, in order). */
export function captureLogs(level: 'debug' | 'info' = 'info'): {
  logger: Logger;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n'))
          if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    }),
  });
  return { logger, lines };
}
