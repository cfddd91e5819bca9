// Fills one account's INBOX through the Store API in waves of concurrent deliveries (group commit), for the JMAP benches.
import type { Store } from '../../src/store/store.js';

/** Concurrent deliveries per wave: enough for group commit to batch, few enough to keep memory flat. */
export const FILL_WAVE = 500;

/**
 * Delivers `total` messages to `accountId`, message i received one second after message i-1 (from
 * 2026-01-01), its text made by `text(i)`. Every fourth message starts a thread; the others reply to the
 * one before (threads of 1-4 messages), as `threadHeaders(i)` writes them.
 */
export async function fillInbox(
  store: Store,
  accountId: number,
  total: number,
  text: (i: number) => string,
): Promise<void> {
  const base = Date.parse('2026-01-01T00:00:00Z');
  for (let first = 0; first < total; first += FILL_WAVE) {
    const wave: Promise<void>[] = [];
    for (let i = first; i < Math.min(total, first + FILL_WAVE); i++) {
      const b = Buffer.from(text(i));
      wave.push(
        store.deliver({
          queueId: `Q${i}`,
          envelope: { sender: 'load@remote.example' },
          traceHeaders: `Received: by bench id Q${i}\r\n`,
          body: { kind: 'memory', chunks: [b], size: b.length },
          receivedAt: new Date(base + i * 1000),
          local: [{ accountId }],
          remote: [],
        }),
      );
    }
    await Promise.all(wave);
  }
}

/** Message-ID, and In-Reply-To + "Re:" Subject for three of every four messages (threads of 1-4). */
export function threadHeaders(i: number): string {
  const reply =
    i % 4 !== 0
      ? `In-Reply-To: <m${i - 1}@bench.example>\r\nSubject: Re: topic ${i - (i % 4)}\r\n`
      : `Subject: topic ${i}\r\n`;
  return `Message-ID: <m${i}@bench.example>\r\n${reply}`;
}
