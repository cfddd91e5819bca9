// The MIME structure + ENVELOPE of a stored message, computed once (at delivery/APPEND) and kept as JSON.
import { createReadStream } from 'node:fs';
import type { HeaderField } from '../../mail/headers.js';
import { MimeStructureParser, type MessageStructure } from '../../mail/mime-structure.js';

/*
 * Stored in messages.bodystructure_json as the whole MessageStructure of mail/mime-structure.ts: the
 * ENVELOPE plus every part's byte ranges in the stored blob (head included), so FETCH BODY[1.2]
 * reads exactly that range and never parses again. messages.envelope_json stays unused: the
 * envelope is inside the structure, and one column means one JSON.parse per FETCH.
 */

/** Parses head + body (a buffer, or a file read as a stream) and returns the structure as JSON. */
export async function computeStructureJson(head: Buffer, body: Buffer | string): Promise<string> {
  return (await computeStructure(head, body)).json;
}

/** The structure as JSON, and the top-level header's fields when clean (MimeStructureParser.headerFields). */
export async function computeStructure(
  head: Buffer,
  body: Buffer | string,
): Promise<{ json: string; headerFields: readonly HeaderField[] | null }> {
  const parser = new MimeStructureParser();
  parser.write(head);
  if (Buffer.isBuffer(body)) {
    parser.write(body);
  } else {
    for await (const chunk of createReadStream(body, { highWaterMark: 256 * 1024 })) {
      parser.write(chunk as Buffer);
    }
  }
  const json = JSON.stringify(parser.end());
  return { json, headerFields: parser.headerFields };
}

/** Parses a stored structure; null when missing or unreadable (the caller recomputes it). */
export function parseStructureJson(json: string | null): MessageStructure | null {
  if (json === null) return null;
  try {
    const v = JSON.parse(json) as MessageStructure;
    return typeof v === 'object' && v !== null && 'root' in v ? v : null;
  } catch {
    return null;
  }
}
