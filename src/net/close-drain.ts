// How a mail connection ends after its last reply: half-closed, input dropped, then destroyed (bounded in time and bytes);
// or, after the client's own QUIT, closed as soon as the reply is handed to the kernel.
import type { Duplex } from 'node:stream';
import { CLOSE_DRAIN } from '../config/limits.js';

/**
 * Ends `socket` after the last reply has been queued (end() sends it, then FIN). Input the client still
 * sends is read and dropped rather than held by a paused socket (issue 8: a paused socket keeps a read
 * buffer per connection), but only up to CLOSE_DRAIN.maxBytes: a client that keeps sending after our
 * goodbye (a literal flood cut with BYE streams a megabyte more) is destroyed at once, so the server does
 * not copy an attacker's stream off the wire for seconds. A peer that never reads our reply is destroyed
 * after CLOSE_DRAIN.graceMs. Callers remove their own 'data' listener first.
 */
export function drainThenDestroy(socket: Duplex, last?: string | Buffer | null): void {
  if (last && socket.writable) socket.end(last);
  else socket.end();
  let dropped = 0;
  socket.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > CLOSE_DRAIN.maxBytes) socket.destroy();
  });
  socket.resume();
  destroyAfterGrace(socket);
}

/**
 * Ends `socket` after the reply to the client's QUIT (RFC 5321 4.1.1.10: the receiver sends 221 "and then
 * close[s] the transmission channel"; Postfix's smtpd closes at once too): FIN once `last` is queued, and the
 * socket destroyed as soon as that write has reached the kernel, which still delivers it. Nothing is read
 * after QUIT, so a client that resets its end (smtp-source's SO_LINGER 0) costs no read error: Node builds one
 * with its stack trace for every ECONNRESET it reads (~30 us a connection). A client that sends after its own
 * QUIT gets a reset. A peer that never reads is destroyed after CLOSE_DRAIN.graceMs, as with drainThenDestroy.
 */
export function closeAfterQuit(socket: Duplex, last: string | Buffer): void {
  socket.once('finish', () => socket.destroy());
  if (socket.writable) socket.end(last);
  else socket.destroy();
  destroyAfterGrace(socket);
}

/**
 * A peer that never reads our goodbye is destroyed after CLOSE_DRAIN.graceMs. The timer is cleared at close: a
 * pending one keeps the socket, its streams and the session they reach alive for the whole grace period, and at a
 * few hundred connections a second those graphs filled the old generation (one mark-compact every ~100 ms under a
 * literal flood).
 */
function destroyAfterGrace(socket: Duplex): void {
  const timer = setTimeout(() => socket.destroy(), CLOSE_DRAIN.graceMs);
  timer.unref?.();
  socket.once('close', () => clearTimeout(timer));
}
