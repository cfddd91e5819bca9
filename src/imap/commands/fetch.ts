// IMAP FETCH and UID FETCH (RFC 9051 6.4.5, RFC 3516 BINARY, RFC 7162 CHANGEDSINCE/VANISHED): one response per message.
import type { MessageMeta, MetaDetail } from '../../store/mail-store.js';
import type { FetchItem, ImapCommand } from '../proto/command-types.js';
import {
  fetchResponse,
  fetchResponseName,
  formatDateTime,
  type ImapValue,
} from '../proto/response-writer.js';
import { formatNumbers, resolveSequenceSet, inRanges } from '../proto/sequence-set.js';
import { bodyStructureValue, envelopeValue } from '../proto/structure-writer.js';
import type { Addressed } from '../selected-view.js';
import {
  applyPartial,
  binaryBytes,
  sectionBytes,
  sectionNeeds,
  topSectionBytes,
} from '../message-sections.js';
import { toBodyStructure, toEnvelope } from '../structure-convert.js';
import { bad, enableCondstore, no, type CommandContext } from './context.js';
import { selectedView } from './select.js';
import { addressed } from './messages.js';
import type { Done } from './index.js';
import { readUnlessExpunged } from '../../store/read-unless-expunged.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

const flagValue = (flags: readonly string[]): ImapValue => flags.map((f) => ({ atom: f }));

/** Contiguous UID runs of the addressed messages: one metadata query per run, not per message. */
function runs(list: readonly Addressed[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let prevSeq = -1;
  for (const a of list) {
    const last = out[out.length - 1];
    if (last && a.seq === prevSeq + 1) last[1] = a.uid;
    else out.push([a.uid, a.uid]);
    prevSeq = a.seq;
  }
  return out;
}

export async function fetch(ctx: CommandContext, cmd: Cmd<'FETCH'>): Promise<Done | void> {
  const view = selectedView(ctx);
  let list = addressed(ctx, cmd.set, cmd.uid);
  const items: FetchItem[] = [...cmd.items];
  const has = (t: string): boolean => items.some((i) => i.type === t);
  if (cmd.uid && !has('UID')) items.unshift({ type: 'UID' });
  const changedSince = cmd.modifiers.changedSince;
  if (changedSince !== null || has('MODSEQ')) enableCondstore(ctx);
  if (changedSince !== null) {
    if (!has('MODSEQ')) items.push({ type: 'MODSEQ' });
    list = list.filter((a) => (view.modseqs[a.seq - 1] as number) > changedSince);
    if (cmd.modifiers.vanished) {
      if (!ctx.session.enabled.has('QRESYNC')) throw bad('VANISHED needs QRESYNC enabled');
      // RFC 7162 3.2.6: UIDs in the set expunged since CHANGEDSINCE.
      const ranges =
        cmd.set.kind === 'set' ? resolveSequenceSet(cmd.set.ranges, Math.max(view.maxUid, 1)) : [];
      const gone = ctx.services.store.mail
        .vanishedSince(view.mailboxId, changedSince)
        .filter((u) => inRanges(u, ranges));
      if (gone.length > 0) ctx.out.raw(`* VANISHED (EARLIER) ${formatNumbers(gone)}\r\n`);
    }
  }
  const detail = metaDetail(items);
  const needMeta = items.some((i) =>
    [
      'ENVELOPE',
      'BODY',
      'BODYSTRUCTURE',
      'BODY[]',
      'BINARY',
      'BINARY.SIZE',
      'RFC822.HEADER',
      'RFC822.TEXT',
      'INTERNALDATE',
      'SAVEDATE',
      'RFC822.SIZE',
      'RFC822',
    ].includes(i.type),
  );
  const needBody = items.some((i) =>
    ['BODY[]', 'BINARY', 'BINARY.SIZE', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT'].includes(i.type),
  );
  // RFC 9051 6.4.5: BODY[...] (not .PEEK), RFC822, RFC822.TEXT set \Seen.
  const setsSeen =
    !view.readOnly &&
    items.some(
      (i) =>
        ((i.type === 'BODY[]' || i.type === 'BINARY') && !i.peek) ||
        i.type === 'RFC822' ||
        i.type === 'RFC822.TEXT',
    );
  if (setsSeen && list.length > 0) {
    const unseen = list.filter((a) => !view.flagsAt(a.seq).some((f) => f.toLowerCase() === '\\seen'));
    if (unseen.length > 0) {
      const r = await ctx.services.store.mail.storeFlags(
        view.mailboxId,
        unseen.map((a) => a.uid),
        'add',
        ['\\Seen'],
        null,
      );
      for (const row of r.rows) {
        const seq = view.seqOf(row.uid);
        if (seq > 0) {
          view.setRow(seq, row.flags, row.modseq);
          // The row may carry a keyword another session set meanwhile: FLAGS first (RFC 9051 7.3.5).
          if (view.learnKeywords(row.flags)) ctx.out.raw(view.flagsResponses());
        }
      }
      if (!has('FLAGS')) items.push({ type: 'FLAGS' });
    }
  }
  if (!needMeta && items.every((i) => i.type === 'UID' || i.type === 'FLAGS' || i.type === 'MODSEQ')) {
    flagsOnly(ctx, list, items);
    return;
  }
  const store = ctx.services.store;
  let pos = 0;
  let skipped = false;
  for (const [lo, hi] of needMeta ? runs(list) : []) {
    const metas = await store.mail.messageMeta(view.mailboxId, lo, hi, detail);
    const byUid = new Map(metas.map((m) => [m.uid, m]));
    for (; pos < list.length && (list[pos] as Addressed).uid <= hi; pos++) {
      const a = list[pos] as Addressed;
      if (a.uid < lo) continue;
      const meta = byUid.get(a.uid);
      if (!meta) {
        // Expunged by someone else meanwhile: nothing to say about it but [EXPUNGEISSUED] (RFC 5530 3).
        skipped = true;
        continue;
      }
      const body = needBody ? await readUnlessExpunged(store, meta.messageId) : null;
      if (needBody && body === null) {
        skipped = true; // expunged between its metadata and its body
        continue;
      }
      ctx.out.push(fetchResponse(a.seq, itemValues(ctx, a, items, meta, body), ctx.out.opts));
    }
  }
  if (!needMeta) {
    for (const a of list)
      ctx.out.push(fetchResponse(a.seq, itemValues(ctx, a, items, null, null), ctx.out.opts));
  }
  if (skipped) return { code: { name: 'EXPUNGEISSUED' } };
}

/**
 * How much of each message's structure the items need (MailStore.messageMeta): the parsed structure
 * for ENVELOPE, BODYSTRUCTURE and parts; only where the body starts for HEADER, TEXT and
 * HEADER.FIELDS of the message itself (the mix's FETCH of header fields parsed a structure per message
 * for that one number); nothing for BODY[] and BINARY[] of the whole message.
 */
function metaDetail(items: readonly FetchItem[]): MetaDetail {
  let detail: MetaDetail = false;
  for (const i of items) {
    if (i.type === 'ENVELOPE' || i.type === 'BODY' || i.type === 'BODYSTRUCTURE') return true;
    if ((i.type === 'BINARY' || i.type === 'BINARY.SIZE') && i.part.length > 0) return true;
    if (i.type === 'BODY[]') {
      const needs = sectionNeeds(i.section);
      if (needs === 'structure') return true;
      if (needs === 'bodyStart') detail = 'bodyStart';
    }
    if (i.type === 'RFC822.HEADER' || i.type === 'RFC822.TEXT') detail = 'bodyStart';
  }
  return detail;
}

/** Where the message's body starts; a message whose structure could not be had fails, as for ENVELOPE. */
function bodyStartOf(meta: MessageMeta): number {
  if (meta.bodyStart === null) throw no('Message structure unavailable', { name: 'SERVERBUG' });
  return meta.bodyStart;
}

/** Response text gathered per output part: large enough for few writes, small enough to stream. */
const TEXT_CHUNK = 64 * 1024;

/**
 * FETCH of UID/FLAGS/MODSEQ only (what clients send to resync, often 1:*), formatted straight into text:
 * through fetchResponse it cost ~2 us and several objects per message (0.2 s on 100,000 messages).
 * Same bytes: flags are atoms (validated by the parser when stored), MODSEQ a list (RFC 7162 3.1.4.1).
 */
function flagsOnly(ctx: CommandContext, list: readonly Addressed[], items: readonly FetchItem[]): void {
  const view = selectedView(ctx);
  let text = '';
  for (const a of list) {
    let line = `* ${a.seq} FETCH (`;
    for (let k = 0; k < items.length; k++) {
      if (k > 0) line += ' ';
      const t = (items[k] as FetchItem).type;
      if (t === 'UID') line += `UID ${a.uid}`;
      else if (t === 'FLAGS') line += `FLAGS (${view.shownFlags(a.seq).join(' ')})`;
      else line += `MODSEQ (${view.modseqs[a.seq - 1] as number})`;
    }
    text += line + ')\r\n';
    if (text.length >= TEXT_CHUNK) {
      ctx.out.raw(text);
      text = '';
    }
  }
  if (text !== '') ctx.out.raw(text);
}

/** EMAILID/THREADID of a stored message in the session's account (store.jmap.objectIds). */
function objectIdsOf(ctx: CommandContext, messageId: number): { emailId: string; threadId: string } | null {
  const st = ctx.session.state;
  if (st.kind !== 'selected') return null;
  return ctx.services.store.jmap.objectIds(st.account.id, [messageId])[0] ?? null;
}

function itemValues(
  ctx: CommandContext,
  a: Addressed,
  items: readonly FetchItem[],
  meta: MessageMeta | null,
  body: Buffer | null,
): Array<[string, ImapValue]> {
  const view = selectedView(ctx);
  const out: Array<[string, ImapValue]> = [];
  const s = meta?.structure ?? null;
  for (const item of items) {
    const name = fetchResponseName(item);
    switch (item.type) {
      case 'UID':
        out.push([name, a.uid]);
        break;
      case 'FLAGS':
        out.push([name, flagValue(view.shownFlags(a.seq))]);
        break;
      case 'MODSEQ':
        out.push([name, [view.modseqs[a.seq - 1] as number]]);
        break;
      case 'EMAILID':
      case 'THREADID': {
        // RFC 8474 5.1/5.2: "EMAILID (id)", "THREADID (id)"; NIL only for a message with no thread
        // (here: one expunged by another session meanwhile, whose Email is gone).
        const ids = objectIdsOf(ctx, view.messageIds[a.seq - 1] as number);
        const id = ids === null ? null : item.type === 'EMAILID' ? ids.emailId : ids.threadId;
        out.push([name, id === null ? null : [{ atom: id }]]);
        break;
      }
      case 'INTERNALDATE': {
        // RFC 9051 2.3.3: the date-time in the zone it was given in (APPEND), not converted to UTC.
        const m = meta as MessageMeta;
        out.push([name, formatDateTime(m.internalDate.getTime(), m.internalDateOffset)]);
        break;
      }
      case 'SAVEDATE': {
        // RFC 8514 3: when it was saved to this mailbox, in UTC; NIL when unknown.
        const saved = (meta as MessageMeta).saveDate;
        out.push([name, saved === null ? null : formatDateTime(saved.getTime(), 0)]);
        break;
      }
      case 'RFC822.SIZE':
        out.push([name, (meta as MessageMeta).size]);
        break;
      case 'ENVELOPE':
        if (!s) throw no('Message structure unavailable', { name: 'SERVERBUG' });
        out.push([name, envelopeValue(toEnvelope(s.envelope))]);
        break;
      case 'BODY':
      case 'BODYSTRUCTURE':
        if (!s) throw no('Message structure unavailable', { name: 'SERVERBUG' });
        out.push([name, bodyStructureValue(toBodyStructure(s.root), item.type === 'BODYSTRUCTURE')]);
        break;
      case 'RFC822':
        out.push([name, body as Buffer]);
        break;
      case 'RFC822.HEADER':
        out.push([name, (body as Buffer).subarray(0, bodyStartOf(meta as MessageMeta))]);
        break;
      case 'RFC822.TEXT':
        out.push([name, (body as Buffer).subarray(bodyStartOf(meta as MessageMeta))]);
        break;
      case 'BODY[]': {
        const sec = item.section;
        const needs = sectionNeeds(sec);
        const bytes =
          needs === 'structure'
            ? sectionBytes(body as Buffer, s!, sec)
            : topSectionBytes(
                body as Buffer,
                needs === 'bodyStart' ? bodyStartOf(meta as MessageMeta) : 0,
                sec.text,
              );
        out.push([name, applyPartial(bytes ?? Buffer.alloc(0), item.partial)]);
        break;
      }
      case 'BINARY': {
        const bytes = binaryBytes(body as Buffer, s!, item.part);
        if (!bytes) throw no('No such part', { name: 'UNKNOWN-CTE' });
        out.push([name, applyPartial(bytes, item.partial)]);
        break;
      }
      case 'BINARY.SIZE': {
        const bytes = binaryBytes(body as Buffer, s!, item.part);
        if (!bytes) throw no('No such part', { name: 'UNKNOWN-CTE' });
        out.push([name, bytes.length]);
        break;
      }
    }
  }
  return out;
}
