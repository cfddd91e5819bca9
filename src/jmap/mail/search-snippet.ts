// SearchSnippet/get (RFC 8621 5.1): the subject and a preview of each Email with the search terms of a filter in <mark>, HTML-escaped.
import { JMAP_QUERY_LIMITS } from '../../config/limits.js';
import type { Store } from '../../store/store.js';
import type { MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { MAIL_CAPABILITY } from './capability.js';
import { loadContent } from './email-content.js';
import { parseEmailFilter, type EmailFilter } from './email-filter.js';
import { searchTerms } from './email-search.js';
import { escapeRegExp } from '../../mail/escape-regexp.js';

/** RFC 8621 5.1: "preview ... up to 255 characters" around the first match. */
const PREVIEW_CHARS = 255;
/** Characters of context shown before the first match in a preview. */
const PREVIEW_LEAD = 60;

/** The terms a filter searches for in the subject and in the body; NOT branches find nothing to mark. */
export function snippetTerms(filter: EmailFilter | null): { subject: string[]; body: string[] } {
  const subject: string[] = [];
  const body: string[] = [];
  const walk = (f: EmailFilter): void => {
    if (f.kind === 'operator') {
      if (f.operator !== 'NOT') f.conditions.forEach(walk);
      return;
    }
    const c = f.condition;
    if (c.text !== undefined) {
      subject.push(...searchTerms(c.text));
      body.push(...searchTerms(c.text));
    }
    if (c.subject !== undefined) subject.push(...searchTerms(c.subject));
    if (c.body !== undefined) body.push(...searchTerms(c.body));
  };
  if (filter) walk(filter);
  return { subject: [...new Set(subject)], body: [...new Set(body)] };
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/** The matches of `terms` in `text` (case-insensitive, Unicode), overlaps merged, or null when none. */
function matchRanges(text: string, terms: readonly string[]): Array<[number, number]> | null {
  const found: Array<[number, number]> = [];
  for (const term of terms) {
    if (term === '') continue;
    for (const m of text.matchAll(new RegExp(escapeRegExp(term), 'giu'))) {
      found.push([m.index, m.index + m[0].length]);
    }
  }
  found.sort((x, y) => x[0] - y[0]);
  const ranges: Array<[number, number]> = [];
  for (const [start, end] of found) {
    const last = ranges.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else ranges.push([start, end]);
  }
  return ranges.length > 0 ? ranges : null;
}

/** `text` HTML-escaped with each range in <mark></mark> (RFC 8621 5.1). Pure. */
export function highlight(text: string, ranges: ReadonlyArray<readonly [number, number]>): string {
  let out = '';
  let at = 0;
  for (const [s, e] of ranges) {
    out += escapeHtml(text.slice(at, s)) + '<mark>' + escapeHtml(text.slice(s, e)) + '</mark>';
    at = e;
  }
  return out + escapeHtml(text.slice(at));
}

/** The subject with its matches marked, or null when nothing in it matches. */
export function markSubject(subject: string | null, terms: readonly string[]): string | null {
  if (subject === null) return null;
  const ranges = matchRanges(subject, terms);
  return ranges ? highlight(subject, ranges) : null;
}

/** Up to PREVIEW_CHARS of the body around its first match, marked; null when the body does not match. */
export function markPreview(body: string, terms: readonly string[]): string | null {
  const text = body.replace(/\s+/g, ' ').trim();
  const first = matchRanges(text, terms)?.[0];
  if (!first) return null;
  let start = Math.max(0, first[0] - PREVIEW_LEAD);
  // Start at a word boundary rather than mid-word, when there is one close by.
  if (start > 0) {
    const space = text.indexOf(' ', start);
    if (space >= 0 && space < first[0]) start = space + 1;
  }
  // Never cut a surrogate pair in two.
  let end = Math.min(text.length, start + PREVIEW_CHARS);
  if (end < text.length && /[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end--;
  const window = text.slice(start, end);
  return highlight(window, matchRanges(window, terms) ?? []);
}

export function searchSnippetHandler(store: Store): MethodHandler {
  return {
    capability: MAIL_CAPABILITY,
    account: 'read',
    async handle(args, ctx) {
      const account = ctx.account!; // checked by the engine (account: 'read')
      const { emailIds } = args;
      if (!Array.isArray(emailIds) || !emailIds.every((e) => typeof e === 'string')) {
        throw new MethodError('invalidArguments', '"emailIds" must be an array of Email ids');
      }
      if (emailIds.length > JMAP_QUERY_LIMITS.maxSnippetEmails) {
        throw new MethodError('requestTooLarge', `at most ${JMAP_QUERY_LIMITS.maxSnippetEmails} emailIds`);
      }
      const terms = snippetTerms(parseEmailFilter(args.filter));
      const ids = [...new Set(emailIds as string[])];
      const records = store.jmap.getEmails(account.storeId, ids);
      const list: Array<Record<string, unknown>> = [];
      const notFound: string[] = [];
      for (const [i, id] of ids.entries()) {
        const rec = records[i];
        const content = rec ? await loadContent(store, rec.messageId) : null;
        if (!content) {
          notFound.push(id);
          continue;
        }
        list.push({
          emailId: id,
          subject: markSubject(content.subject, terms.subject),
          preview: markPreview(content.text, terms.body),
        });
      }
      return { accountId: account.id, list, notFound: notFound.length > 0 ? notFound : null };
    },
  };
}
