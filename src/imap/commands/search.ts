// IMAP SEARCH and UID SEARCH (RFC 9051 6.4.4; ESEARCH RFC 4731; SEARCHRES RFC 5182; MODSEQ RFC 7162 3.1.5).
import { decodeEncodedWords } from '../../mail/encoded-words.js';
import { parseRfc5322Date } from '../../mail/headers.js';
import type { MessageMeta } from '../../store/mail-store.js';
import type { ImapCommand, SearchDate, SearchKey } from '../proto/command-types.js';
import { formatNumbers, inRanges, resolveSequenceSet } from '../proto/sequence-set.js';
import { headerFieldsOf, sectionBytes } from '../message-sections.js';
import type { SelectedView } from '../selected-view.js';
import { no, type CommandContext } from './context.js';
import { selectedView } from './select.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

interface Needs {
  meta: boolean;
  body: boolean;
  modseq: boolean;
}

function needs(k: SearchKey, n: Needs): void {
  switch (k.op) {
    case 'date':
      n.meta = true;
      if (k.field === 'sent') n.body = true;
      break;
    case 'size':
      n.meta = true;
      break;
    case 'header':
    case 'body':
    case 'text':
      n.meta = true;
      n.body = true;
      break;
    case 'modseq':
      n.modseq = true;
      break;
    case 'not':
      needs(k.key, n);
      break;
    case 'or':
      needs(k.left, n);
      needs(k.right, n);
      break;
    case 'and':
      for (const x of k.keys) needs(x, n);
      break;
    default:
  }
}

/** A date as the day it starts, UTC (RFC 9051 6.4.4: dates disregard time and zone). */
function dayOf(d: SearchDate): number {
  return Date.UTC(d.year, d.month - 1, d.day);
}
function dayOfMs(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

interface Candidate {
  seq: number;
  uid: number;
  meta: MessageMeta | null;
  body: Buffer | null;
}

/** Case-insensitive substring match on Unicode text (RFC 9051 6.4.4). */
function contains(haystack: string, needle: string): boolean {
  return haystack.toLowerCase().includes(needle.toLowerCase());
}

function matches(k: SearchKey, c: Candidate, view: SelectedView): boolean {
  const flags = view.flags[c.seq - 1] as string[];
  const hasFlag = (f: string): boolean => flags.some((x) => x.toLowerCase() === f.toLowerCase());
  switch (k.op) {
    case 'all':
      return true;
    case 'flag':
      return hasFlag(k.flag) === k.set;
    case 'new':
    case 'recent':
      return false; // no \Recent (RFC 9051 removed it)
    case 'old':
      return true;
    case 'seq':
      return k.set.kind === 'saved'
        ? view.saved.includes(c.uid)
        : inRanges(c.seq, resolveSequenceSet(k.set.ranges, view.exists));
    case 'uid':
      return k.set.kind === 'saved'
        ? view.saved.includes(c.uid)
        : inRanges(c.uid, resolveSequenceSet(k.set.ranges, Math.max(view.maxUid, 1)));
    case 'size':
      return k.cmp === 'larger' ? c.meta!.size > k.size : c.meta!.size < k.size;
    case 'modseq':
      return (view.modseqs[c.seq - 1] as number) >= k.modseq;
    case 'date': {
      let ms: number | null;
      if (k.field === 'internal') ms = c.meta!.internalDate.getTime();
      else {
        const date = headerFieldsOf(c.body!, c.meta!.structure!).find((f) => f.key === 'date');
        ms = date ? (parseRfc5322Date(date.value)?.getTime() ?? null) : null;
        if (ms === null) return false;
      }
      const day = dayOfMs(ms);
      const want = dayOf(k.date);
      return k.cmp === 'before' ? day < want : k.cmp === 'on' ? day === want : day >= want;
    }
    case 'header': {
      const field = k.field.toLowerCase();
      const found = headerFieldsOf(c.body!, c.meta!.structure!).filter((f) => f.key === field);
      // RFC 9051 6.4.4: HEADER field "" matches every message that has the field.
      return found.some((f) => k.value === '' || contains(decodeEncodedWords(f.value), k.value));
    }
    case 'body':
    case 'text': {
      const s = c.meta!.structure!;
      const part = k.op === 'body' ? sectionBytes(c.body!, s, { part: [], text: { kind: 'TEXT' } }) : c.body!;
      // Raw bytes as UTF-8/latin1 text: transfer encodings are not decoded (a known limit, see report).
      return part !== null && contains(part.toString('utf8'), k.value);
    }
    case 'not':
      return !matches(k.key, c, view);
    case 'or':
      return matches(k.left, c, view) || matches(k.right, c, view);
    case 'and':
      return k.keys.every((x) => matches(x, c, view));
  }
}

export async function search(ctx: CommandContext, cmd: Cmd<'SEARCH'>): Promise<void> {
  const view = selectedView(ctx);
  const cs = cmd.charset?.toUpperCase() ?? null;
  if (cs !== null && cs !== 'UTF-8' && cs !== 'US-ASCII') {
    throw no('Unsupported charset', { name: 'BADCHARSET', args: '(UTF-8 US-ASCII)' });
  }
  const n: Needs = { meta: false, body: false, modseq: false };
  needs(cmd.key, n);
  if (n.modseq) ctx.session.condstoreOn = true;
  const store = ctx.services.store;
  const hits: Candidate[] = [];
  const metas = new Map<number, MessageMeta>();
  if (n.meta && view.exists > 0) {
    for (const m of await store.mail.messageMeta(
      view.mailboxId,
      view.uids[0] as number,
      view.maxUid,
      n.body,
    )) {
      metas.set(m.uid, m);
    }
  }
  for (let i = 0; i < view.exists; i++) {
    const uid = view.uids[i] as number;
    const meta = metas.get(uid) ?? null;
    if (n.meta && !meta) continue;
    const body = n.body && meta ? await store.readMessage(meta.messageId) : null;
    const c: Candidate = { seq: i + 1, uid, meta, body };
    if (matches(cmd.key, c, view)) hits.push({ ...c, meta: null, body: null });
  }
  const ids = hits.map((h) => (cmd.uid ? h.uid : h.seq));
  // Loops, not Math.max(...spread): a spread of 100k+ hits overflows the call stack (RangeError).
  let maxModseq = 0;
  if (n.modseq) for (const h of hits) maxModseq = Math.max(maxModseq, view.modseqs[h.seq - 1] as number);
  const opts = cmd.returnOptions;
  if (opts?.includes('SAVE')) view.saved = hits.map((h) => h.uid);
  const esearch = opts !== null || ctx.session.enabled.has('IMAP4REV2');
  if (!esearch) {
    const mod = n.modseq && ids.length > 0 ? ` (MODSEQ ${maxModseq})` : '';
    ctx.out.raw(`* SEARCH${ids.map((x) => ' ' + x).join('')}${mod}\r\n`);
    return;
  }
  // RFC 4731 3.1: RETURN () means ALL; SAVE alone returns nothing else.
  const want = opts === null || opts.length === 0 ? ['ALL'] : opts.filter((o) => o !== 'SAVE');
  if (opts !== null && opts.length === 1 && opts[0] === 'SAVE') return;
  let line = `* ESEARCH (TAG "${ctx.tag.replace(/["\\]/g, '')}")${cmd.uid ? ' UID' : ''}`;
  if (ids.length > 0) {
    if (want.includes('MIN')) line += ` MIN ${ids.reduce((x, y) => Math.min(x, y))}`;
    if (want.includes('MAX')) line += ` MAX ${ids.reduce((x, y) => Math.max(x, y))}`;
    if (want.includes('ALL')) line += ` ALL ${formatNumbers(ids)}`;
  }
  if (want.includes('COUNT')) line += ` COUNT ${ids.length}`;
  if (n.modseq && ids.length > 0) line += ` MODSEQ ${maxModseq}`;
  ctx.out.raw(line + '\r\n');
}
