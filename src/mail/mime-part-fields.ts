// One MIME part's record as the structure parser fills it: a new part, its defects, and its MIME fields from its header.
import type { HeaderMap } from './headers.js';
import { defaultContentType, parseContentType, parseDisposition } from './mime-params.js';
import type { MimePart } from './mime-structure.js';

/** A part starting at `headerStart` with RFC 2045's defaults (text/plain; charset=us-ascii, 7bit) until its header is read. */
export function newPart(headerStart: number): MimePart {
  return {
    headerStart,
    bodyStart: headerStart,
    bodyEnd: headerStart,
    size: 0,
    lines: 0,
    contentType: defaultContentType(),
    disposition: null,
    language: null,
    location: null,
    id: null,
    description: null,
    encoding: '7bit',
    md5: null,
  };
}

/** Notes what was wrong with the part (at most 8 kinds, each once), as MimePart.defects says. */
export function addDefect(part: MimePart, defect: string): void {
  if (!part.defects) part.defects = [];
  if (part.defects.length < 8 && !part.defects.includes(defect)) part.defects.push(defect);
}

/** Replaces a multipart that cannot be read as one with a text/plain leaf (how Dovecot shows it). */
export function toText(part: MimePart, defect: string): void {
  part.contentType = defaultContentType();
  addDefect(part, defect);
}

function firstValid<T>(values: string[], parse: (v: string) => T | null): T | null {
  for (const v of values) {
    const parsed = parse(v);
    if (parsed) return parsed;
  }
  return null;
}

/** Fills a part's MIME fields from its header (RFC 2045 5-9, RFC 2183, RFC 3282, RFC 2557, RFC 1864). */
export function applyMimeFields(part: MimePart, headers: HeaderMap, parentSubtype: string | null): void {
  const types = headers.getAll('content-type');
  // Duplicate Content-Type: the first one that parses wins (what most readers show).
  const ct = firstValid(types, parseContentType);
  if (ct) part.contentType = ct;
  else if (types.length > 0) addDefect(part, 'bad-content-type');
  // RFC 2046 5.1.5: in a multipart/digest the default is message/rfc822.
  else if (parentSubtype === 'digest') part.contentType = { type: 'message', subtype: 'rfc822', params: {} };
  if (types.length > 1) addDefect(part, 'duplicate-content-type');
  const cte = headers.get('content-transfer-encoding');
  if (cte !== undefined) {
    const token = cte
      .replace(/\([^()]*\)/g, '')
      .trim()
      .toLowerCase();
    if (token.length > 0) part.encoding = token;
  }
  part.disposition = firstValid(headers.getAll('content-disposition'), parseDisposition);
  const lang = headers.get('content-language');
  if (lang !== undefined) {
    const tags = lang
      .replace(/\([^()]*\)/g, '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t.length > 0);
    part.language = tags.length > 0 ? tags : null;
  }
  const location = headers.get('content-location');
  if (location !== undefined) part.location = location.replace(/\s+/g, ''); // RFC 2557 4.4: folding is not part of it
  part.id = headers.get('content-id') ?? null;
  part.description = headers.get('content-description') ?? null;
  part.md5 = headers.get('content-md5') ?? null;
}
