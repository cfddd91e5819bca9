// Waiting for a writable stream to take more data without waiting for ever on one whose reader is gone.
import type { EventEmitter } from 'node:events';

/** A socket or an HTTP response: 'drain' when it can take more, 'close' when it never will. */
type WritableEnd = EventEmitter & { readonly destroyed: boolean };

/**
 * Resolves at 'drain' or at 'close' (the peer hung up), whichever comes first. Waiting for 'drain'
 * alone hangs once the peer is gone, holding whatever the writer holds: an open message or blob file.
 */
export function drainedOrClosed(stream: WritableEnd): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((done) => {
    const settle = () => {
      stream.off('drain', settle);
      stream.off('close', settle);
      done();
    };
    stream.on('drain', settle);
    stream.on('close', settle);
  });
}
