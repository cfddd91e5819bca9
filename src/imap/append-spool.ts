// The APPEND bodies of the IMAP command being read: its streamed literals spooled (memory, then a file), a failed write kept for the NO.
import { SPOOL_MEMORY_THRESHOLD } from '../config/limits.js';
import type { BodySpool } from '../smtp/server/services.js';
import { isNoSpaceError } from '../store/free-space.js';
import { createBodySpool } from '../store/spool.js';
import type { SpooledBody } from '../store/store.js';
import type { ResponseCode } from './proto/response-writer.js';

/** RFC 9051 7.1 OVERQUOTA (RFC 5530 3): Dovecot's answer to a full disk; the client may retry later. */
export const STORAGE_REFUSAL = { code: 'OVERQUOTA', text: 'Insufficient system storage' } as const;

/** A failed APPEND spool: a full disk is OVERQUOTA (retry later), anything else SERVERBUG (RFC 5530 3). */
export function appendStorageRefusal(err: unknown): [ResponseCode, string] {
  return isNoSpaceError(err)
    ? [{ name: STORAGE_REFUSAL.code }, STORAGE_REFUSAL.text]
    : [{ name: 'SERVERBUG' }, 'Temporary failure storing the message'];
}

/**
 * Follows the receiver's literal-start / literal-chunk / literal-end events of one command. A failed write
 * is not a BYE: the rest of the literal is still read (to stay in step) and the command answered NO.
 * The connection owns one; it only does I/O through the spool it creates.
 */
export class AppendSpooler {
  private spool: BodySpool | null = null;
  private bodies: SpooledBody[] = [];
  /** A spool write of this command's APPEND failed (a full disk, ...): the rest is read, then NO. */
  private failure: unknown = null;

  constructor(
    private readonly spoolDir: string,
    private readonly discard: (body: SpooledBody) => void,
  ) {}

  /** A streamed literal begins. */
  start(): void {
    this.spool = createBodySpool(this.spoolDir, SPOOL_MEMORY_THRESHOLD);
  }

  /** Part of it; resolves once the spool took it (backpressure). */
  async write(bytes: Buffer): Promise<void> {
    try {
      const w = this.spool?.write(bytes);
      if (w) await w;
    } catch (err) {
      this.failure = err;
      this.spool?.abort();
      this.spool = null;
    }
  }

  /** The literal is complete: its body joins the command's. */
  async end(): Promise<void> {
    try {
      if (this.spool) this.bodies.push(await this.spool.finish());
    } catch (err) {
      this.failure = err;
    }
    this.spool = null;
  }

  /** The command was refused before it was complete: what was spooled for it goes. */
  drop(): void {
    this.spool?.abort();
    this.spool = null;
    this.failure = null;
    for (const b of this.bodies) this.discard(b);
    this.bodies = [];
  }

  /** The command is complete: its bodies (now the caller's) and the write failure, if any. */
  take(): { bodies: SpooledBody[]; failure: unknown } {
    const out = { bodies: this.bodies, failure: this.failure };
    this.bodies = [];
    this.failure = null;
    return out;
  }

  /** The connection ends: nothing spooled outlives it. */
  close(): void {
    this.spool?.abort();
    this.spool = null;
    for (const b of this.bodies) this.discard(b);
    this.bodies = [];
  }
}
