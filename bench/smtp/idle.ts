// Idle-connection load: opens N SMTP connections, says EHLO on each, and holds them open.
import { BenchConnection } from './connection.js';

export interface IdleOptions {
  host: string;
  port: number;
  count: number;
  /** Connections being opened at once; keeps the server's listen backlog from overflowing. */
  concurrency: number;
  deadlineMs: number;
  replyTimeoutMs?: number;
  now?: () => number;
}

export interface IdleHold {
  held: number; // connections that got 220 and a 250 to EHLO and are still open
  failed: number;
  firstErrors: string[];
  elapsedMs: number;
  stillOpen(): number; // how many of the held connections the server has not closed since
  close(): void;
}

export async function holdIdle(o: IdleOptions): Promise<IdleHold> {
  const now = o.now ?? (() => Date.now());
  const started = now();
  const open: BenchConnection[] = [];
  let closedLater = 0;
  let failed = 0;
  const firstErrors: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.count && now() - started < o.deadlineMs) {
      next++;
      let c: BenchConnection | undefined;
      try {
        c = await BenchConnection.open(o.host, o.port, o.replyTimeoutMs ?? 30_000);
        await c.expect(220, 'greeting');
        await c.write('EHLO bench-idle.test\r\n');
        await c.expect(250, 'EHLO');
        c.socket.once('close', () => closedLater++);
        open.push(c);
      } catch (err) {
        failed++;
        if (firstErrors.length < 5) firstErrors.push(err instanceof Error ? err.message : String(err));
        c?.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, () => worker()));
  return {
    held: open.length,
    failed,
    firstErrors,
    elapsedMs: now() - started,
    stillOpen: () => open.length - closedLater,
    close: () => {
      for (const c of open) c.close();
    },
  };
}
