// The per-message header index for IMAP SEARCH header keys (RFC 9051 6.4.4): built at delivery, kept in message_headers.
import { isAscii } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeEncodedWords } from '../../mail/encoded-words.js';
import { forEachAsciiField, parseHeaderBlock, unfold, type HeaderField } from '../../mail/headers.js';
import { DEFAULT_MIME_LIMITS } from '../../mail/mime-structure.js';
import type { HeaderIndex } from '../mail-store.js';
import type { SqliteContext } from './context.js';
import type { HeaderIndexCache } from './header-index-cache.js';

/*
 * Why a stored index: SEARCH SUBJECT/FROM/HEADER on a 10,000-message mailbox used to read every
 * message, parse its stored structure JSON and its header block: ~350 ms of one event loop per
 * SEARCH. The index (format in mail-store.ts, HeaderIndex) is one short string per message, read
 * once, kept in memory (HeaderIndexCache) and scanned with indexOf.
 *
 * Computed at delivery and APPEND (deliver.ts prepareDelivery, off the write lock, from the bytes at
 * hand: only the header block is parsed, a few microseconds) and stored in the same transaction as the
 * message. Messages stored before that (or by an older version) get it lazily on their first SEARCH.
 */

/** Rows filled per transaction and per turn of the event loop: bounds each pause (tens of ms at most). */
const FILL_BATCH = 500;

/** Where the header of these bytes ends: after its blank line, or all of them when there is none. */
function headerEnd(bytes: Buffer): number {
  // RFC 5322 2.1: the header ends at the first empty line (CRLF, or a bare LF as real mail has).
  if (bytes[0] === 0x0a) return 0;
  if (bytes[0] === 0x0d && bytes[1] === 0x0a) return 0;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) {
    const next = bytes[i + 1];
    if (next === 0x0a) return i + 2;
    if (next === 0x0d && bytes[i + 2] === 0x0a) return i + 3;
  }
  return bytes.length;
}

/**
 * The header block of a message whose head (trace fields, each line ending in CRLF, no blank line) and
 * start of body are given. Only the header part of the body is copied: at delivery the body is up to
 * 64 KiB inline, and copying it whole for a 1 KiB header was most of this function's cost.
 */
export function headerBlock(head: Buffer, bodyStart: Buffer): Buffer {
  const block = bodyStart.subarray(0, headerEnd(bodyStart));
  if (head.length === 0) return block;
  return block.length === 0 ? head : Buffer.concat([head, block]);
}

/** Builds the index text of one header block (see HeaderIndex in mail-store.ts). Pure. */
export function buildHeaderIndex(block: Buffer): string {
  return isAscii(block) ? asciiHeaderIndex(block.toString('latin1')) : headerIndexOfFields(block);
}

/**
 * The reference: the index from mail/headers.ts's parser (any bytes; each field decoded as UTF-8 or
 * latin1). asciiHeaderIndex must give the same text for ASCII blocks (test/unit/imap/durable-writes.test.ts).
 */
export function headerIndexOfFields(block: Buffer): string {
  return headerIndexOfFieldList(parseHeaderBlock(block));
}

/** The index text of fields parsed already (deliver.ts: the MIME parser's top-level header). */
export function headerIndexOfFieldList(fields: readonly HeaderField[]): string {
  let out = '';
  for (const f of fields) {
    // Values are single-line after unfolding; a stray CR/LF would break the line format.
    out += `\n${f.key}:${decodeEncodedWords(f.value).replace(/[\r\n]/g, ' ')}`;
  }
  // Lower-cased once here, so SEARCH's case-insensitive match is a plain substring test, in SQL too.
  return out.toLowerCase();
}

/*
 * Why a second path: the index is now computed for every delivered message, on the SMTP path.
 * parseHeaderBlock builds an object, a Buffer view, a decoded string and two regex passes per field
 * (~11 us for a typical 12-field header), most of the index's cost. Almost all headers are ASCII
 * (RFC 5322; 8-bit only via RFC 6532), so they are read as one string and walked with indexOf; the
 * rules (field start, continuation, skipped lines) are forEachAsciiField's, as in parseHeaderBlock; a
 * test compares both on fixtures and random blocks.
 */

const LINE_BREAKS = /[\r\n]/;

function asciiHeaderIndex(text: string): string {
  let out = '';
  forEachAsciiField(text, (start, nameEnd, end) => {
    const raw = text.slice(text.indexOf(':', nameEnd) + 1, end);
    // unfold() (RFC 5322 2.2.3) only when there is something to unfold; trim() as parseHeaderBlock does.
    const value = (LINE_BREAKS.test(raw) ? unfold(raw) : raw).trim();
    const decoded = value.includes('=?') ? decodeEncodedWords(value).replace(/[\r\n]/g, ' ') : value;
    out += `\n${text.slice(start, nameEnd)}:${decoded}`;
  });
  return out.toLowerCase();
}

/** The index of a message whose body is the file at `path` (only its first bytes are read); '' if gone. */
export async function headerIndexOfFile(head: Buffer, path: string): Promise<string> {
  // Only the first bytes of a large body: a header longer than the MIME parser keeps is cut there too.
  const want = DEFAULT_MIME_LIMITS.maxHeaderBytes;
  let fh: FileHandle | null = null;
  try {
    fh = await open(path, 'r');
    const buffer = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(buffer, 0, want, 0);
    return buildHeaderIndex(headerBlock(head, buffer.subarray(0, bytesRead)));
  } catch (error) {
    // Expunged and collected meanwhile: the row is gone too, and the caller skips it.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  } finally {
    await fh?.close();
  }
}

/** The index of one stored message, from its head and body (inline) or its blob file. */
export async function computeHeaderIndex(
  ctx: SqliteContext,
  head: Buffer,
  body: Buffer | null,
  file: string | null,
): Promise<string> {
  if (body !== null) return buildHeaderIndex(headerBlock(head, body));
  if (file === null) return buildHeaderIndex(headerBlock(head, Buffer.alloc(0)));
  return headerIndexOfFile(head, join(ctx.blobs.blobDir, file));
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Header indexes of these messages, in order (see MailStore.searchHeaders). From the memory cache, else
 * message_headers, else computed: in batches, between which other sessions get the event loop, and kept
 * with writeLazy (losing them to a power failure only means computing them again, so nobody waits for
 * that fsync).
 */
export async function searchHeaders(
  ctx: SqliteContext,
  cache: HeaderIndexCache,
  messageIds: readonly number[],
  containing: string | null,
): Promise<Array<HeaderIndex | null>> {
  const texts = new Array<HeaderIndex | null>(messageIds.length);
  const missing: number[] = [];
  cache.lookup(messageIds, containing, texts, missing);
  if (missing.length > 0) await loadMissing(ctx, cache, messageIds, texts, missing);
  if (containing !== null) {
    for (const i of missing) if (texts[i]?.includes(containing) === false) texts[i] = null;
  }
  return texts;
}

/** Fills texts[i] for the missing messages: stored indexes first (one query), then computed ones; null if gone. */
async function loadMissing(
  ctx: SqliteContext,
  cache: HeaderIndexCache,
  messageIds: readonly number[],
  texts: Array<HeaderIndex | null>,
  missing: readonly number[],
): Promise<void> {
  const stored = ctx
    .prepare<[string], unknown[]>(
      'SELECT message_id, fields FROM message_headers WHERE message_id IN (SELECT value FROM json_each(?))',
    )
    .raw(true)
    .all(JSON.stringify(missing.map((i) => messageIds[i]))) as Array<[number, string]>;
  const found = new Map<number, string>();
  for (const [id, fields] of stored) found.set(id, fields);
  cache.add(
    stored.map((r) => r[0]),
    stored.map((r) => r[1]),
  );
  const compute: number[] = [];
  for (const i of missing) {
    const text = found.get(messageIds[i] as number);
    texts[i] = text ?? null;
    if (text === undefined) compute.push(i);
  }
  const read = ctx.prepare<[number], { head: Buffer; body: Buffer | null; file: string | null }>(
    'SELECT b.head, b.body, b.file FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = ?',
  );
  for (let start = 0; start < compute.length; start += FILL_BATCH) {
    if (start > 0) await yieldToLoop();
    const filled: Array<[number, string]> = [];
    for (const i of compute.slice(start, start + FILL_BATCH)) {
      const messageId = messageIds[i] as number;
      const blob = read.get(messageId);
      if (!blob) continue; // expunged and collected meanwhile: nothing to match
      const index = await computeHeaderIndex(ctx, blob.head, blob.body, blob.file);
      texts[i] = index;
      filled.push([messageId, index]);
    }
    if (filled.length === 0) continue;
    cache.add(
      filled.map((f) => f[0]),
      filled.map((f) => f[1]),
    );
    // OR IGNORE: another session may have filled the same message meanwhile; a collected one is skipped.
    const insert = ctx.prepare(
      'INSERT OR IGNORE INTO message_headers (message_id, fields) SELECT id, ? FROM messages WHERE id = ?',
    );
    const { durable } = ctx.writeLazy(() => {
      for (const [id, index] of filled) insert.run(index, id);
    });
    // A cache: its fsync failing is not the searcher's failure (the index is recomputed if lost).
    void durable.catch(() => undefined);
  }
}
