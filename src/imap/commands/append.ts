// IMAP APPEND (RFC 9051 6.3.12) with APPENDUID (RFC 4315), MULTIAPPEND (RFC 3502, all or none) and CATENATE (RFC 4469).
import { IMAP_APPEND_COMMAND, SPOOL_MEMORY_THRESHOLD } from '../../config/limits.js';
import { isNoSpaceError } from '../../store/free-space.js';
import { overQuotaRefusal } from './quota.js';
import { catenateBodies, discardPieces, rewriteBody, type CatenatePiece } from '../../store/spool-build.js';
import { convertBinaryParts } from '../../mail/binary-to-base64.js';
import type { SpooledBody } from '../../store/store.js';
import { applyPartial, sectionBytes } from '../message-sections.js';
import type { CatenatePart, ImapCommand } from '../proto/command-types.js';
import { parseImapUrl, type ImapUrl } from '../proto/imap-url.js';
import { decodeMailboxName } from '../proto/mailbox-name.js';
import { formatNumbers } from '../proto/sequence-set.js';
import { bad, no, type CommandContext } from './context.js';
import type { Done } from './index.js';
import { accountOf, existingRef } from './mailboxes.js';
import { normaliseFlags } from './messages.js';
import { readUnlessExpunged } from '../../store/read-unless-expunged.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

/** RFC 9051 7.1 / RFC 5530 3 OVERQUOTA: what Dovecot answers when the disk is full; the client may retry later. */
const insufficientStorage = () => no('Insufficient system storage', { name: 'OVERQUOTA' });

/** Bodies the connection spooled, in literal order: message literals and CATENATE TEXT parts. */
function literalsOf(cmd: Cmd<'APPEND'>): number {
  let n = 0;
  for (const m of cmd.messages)
    n += m.literal ? 1 : (m.catenate ?? []).filter((p) => p.kind === 'text').length;
  return n;
}

/**
 * APPEND of one or more messages (MULTIAPPEND, RFC 3502 6.3.11): every message is checked and built
 * first, then all are stored in one transaction, so a failure in any of them stores none; the tagged
 * OK carries APPENDUID with every UID (RFC 4315 3, RFC 3502 6.3.11).
 */
export async function append(ctx: CommandContext, cmd: Cmd<'APPEND'>): Promise<Done> {
  const bodies = ctx.bodies;
  /** Bodies the command still owns (not yet handed to the store or to a catenation). */
  let next = 0;
  const built: SpooledBody[] = [];
  const inputs: { body: SpooledBody; flags: string[]; internalDate: Date; internalDateOffset: number }[] = [];
  let dest;
  try {
    dest = existingRef(ctx, cmd.mailbox, true);
    if (bodies.length !== literalsOf(cmd)) throw bad('APPEND literal missing');
    // The receiver counts literals; URL parts cost a message read each, so they count too.
    const parts = cmd.messages.reduce((n, m) => n + (m.literal ? 1 : (m.catenate?.length ?? 0)), 0);
    if (parts > IMAP_APPEND_COMMAND.maxParts) throw no('Too many messages in one APPEND', { name: 'TOOBIG' });
    // The receiver refuses announced literals below the floor already; this catches a crossing while
    // the literal was being read, or a non-synchronising literal sent before the refusal took effect.
    if (await ctx.services.storage?.check()) throw insufficientStorage();
    for (const m of cmd.messages) {
      const flags = normaliseFlags(m.flags);
      let body: SpooledBody;
      if (m.literal) {
        body = bodies[next++] as SpooledBody;
      } else {
        const catParts = m.catenate ?? [];
        const textBodies = bodies.slice(next, next + catParts.filter((p) => p.kind === 'text').length);
        next += textBodies.length;
        body = await catenate(ctx, catParts, textBodies);
      }
      built.push(body);
      if (body.size === 0) throw no('Empty message');
      // RFC 4469 5 / RFC 7889: a catenated message is held to APPENDLIMIT like a literal one (the size
      // the client sent: the base64 below may grow it by a third).
      if (body.size > ctx.policy.maxAppendSize) throw no('Message too large', { name: 'TOOBIG' });
      // RFC 3516 4.4: binary content sent in a literal8 is stored base64-encoded (mail/binary-to-base64.ts).
      if (m.literal?.binary || m.catenate?.some((p) => p.kind === 'text' && p.literal.binary)) {
        const converted = await rewriteBody(
          body,
          binaryAsBase64,
          ctx.services.store.spoolDir,
          SPOOL_MEMORY_THRESHOLD,
        );
        built[built.length - 1] = body = converted;
      }
      // RFC 9051 6.3.12: without a date-time the internal date is now; it is then kept as +0000, like
      // an SMTP delivery's (sqlite/deliver.ts says why not this host's zone).
      inputs.push({
        body,
        flags,
        internalDate: m.internalDate !== null ? new Date(m.internalDate.ms) : ctx.services.now(),
        internalDateOffset: m.internalDate?.offsetMinutes ?? 0,
      });
    }
  } catch (err) {
    // Still ours: the bodies checked or built so far and the literals not reached (CATENATE removed its own).
    for (const b of [...built, ...bodies.slice(next)]) ctx.services.discardBody(b);
    throw err;
  }
  let r;
  try {
    // One transaction for all (the store owns every body from here on, and removes them on failure).
    r = await ctx.services.store.mail.appendAll(dest.id, inputs);
  } catch (err) {
    // A full disk is the client's to retry later (NO, not a BYE); anything else goes up as before.
    if (isNoSpaceError(err)) throw insufficientStorage();
    // RFC 9208 4.3: over the account's quota (checked in the commit, store/quota.ts): NO [OVERQUOTA],
    // and with MULTIAPPEND none of the messages is kept.
    throw overQuotaRefusal(ctx, err);
  }
  // RFC 4315 3: APPENDUID uidvalidity uid-set.
  return {
    code: { name: 'APPENDUID', args: `${r.uidValidity} ${formatNumbers(r.uids)}` },
    text: 'APPEND completed',
  };
}

/**
 * Builds one CATENATE message (RFC 4469 5) from its parts: TEXT bodies as spooled, URL parts read
 * from this user's stored messages. A URL that does not resolve fails the whole APPEND with
 * NO [BADURL url]. The TEXT bodies are consumed (removed) whatever the outcome.
 */
async function catenate(
  ctx: CommandContext,
  parts: readonly CatenatePart[],
  textBodies: readonly SpooledBody[],
): Promise<SpooledBody> {
  const pieces: CatenatePiece[] = [];
  let t = 0;
  let size = 0;
  try {
    for (const p of parts) {
      const piece: CatenatePiece =
        p.kind === 'text'
          ? { kind: 'body', body: textBodies[t++] as SpooledBody }
          : { kind: 'bytes', bytes: await urlBytes(ctx, p.url) };
      pieces.push(piece);
      size += piece.kind === 'bytes' ? piece.bytes.length : piece.body.size;
      // Checked while resolving, before anything large is copied (RFC 4469 5 TOOBIG).
      if (size > ctx.policy.maxAppendSize) throw no('Message too large', { name: 'TOOBIG' });
    }
  } catch (err) {
    await discardPieces([
      ...pieces,
      ...textBodies.slice(t).map((body): CatenatePiece => ({ kind: 'body', body })),
    ]);
    throw err;
  }
  return catenateBodies(pieces, ctx.services.store.spoolDir, SPOOL_MEMORY_THRESHOLD);
}

/** convertBinaryParts, keeping a message whose MIME structure cannot be parsed (past its limits) as sent. */
function binaryAsBase64(msg: Buffer): Buffer | null {
  try {
    return convertBinaryParts(msg);
  } catch {
    return null;
  }
}

/** RFC 4469 5: resp-text-code "BADURL" SP url-resp-text (no "]", no CR/LF in it). */
function badUrl(url: string, why: string) {
  const shown = url.replace(
    /[\]\r\n]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
  return no(why, { name: 'BADURL', args: shown.length > 0 ? shown : '""' });
}

/**
 * The bytes a CATENATE URL names (RFC 4469 5, RFC 5092): a message (or section, with ;PARTIAL) of
 * the logged-in user on this server. Relative URLs are resolved against the session's user, this
 * host and the selected mailbox. Anything else - another user or host, a message list, an unknown
 * mailbox, a UIDVALIDITY or UID that does not match, a section the message does not have - is BADURL.
 */
async function urlBytes(ctx: CommandContext, text: string): Promise<Buffer> {
  const account = accountOf(ctx);
  const st = ctx.session.state;
  const base: ImapUrl = {
    user: account.address,
    auth: null,
    host: ctx.policy.hostname.toLowerCase(),
    port: null,
    mailbox: st.kind === 'selected' ? st.view.name : null,
    uidvalidity: null,
    search: null,
    uid: null,
    section: null,
    sectionSpec: null,
    partial: null,
    urlauth: null,
  };
  let url: ImapUrl;
  try {
    url = parseImapUrl(text, { base });
  } catch {
    throw badUrl(text, 'Invalid IMAP URL');
  }
  // URLAUTH-authorised URLs (RFC 4467) are the URLFETCH/BURL side's; a CATENATE reads as its own user.
  if (url.urlauth !== null) throw badUrl(text, 'URLAUTH URLs are not accepted here');
  const host = url.host?.toLowerCase() ?? null;
  if (host !== null && host !== base.host && host !== 'localhost')
    throw badUrl(text, 'URL names another server');
  if (url.user !== null && url.user.toLowerCase() !== account.address.toLowerCase())
    throw badUrl(text, 'URL names another user');
  if (url.mailbox === null || url.uid === null || url.search !== null)
    throw badUrl(text, 'URL does not name a message');
  const mb = ctx.services.store.mail.findMailbox(account.id, decodeMailboxName(url.mailbox, true));
  if (!mb) throw badUrl(text, 'No such mailbox');
  if (url.uidvalidity !== null && url.uidvalidity !== mb.uidValidity)
    throw badUrl(text, 'UIDVALIDITY mismatch');
  const [meta] = await ctx.services.store.mail.messageMeta(mb.id, url.uid, url.uid, true);
  if (!meta || meta.uid !== url.uid || !meta.structure) throw badUrl(text, 'No such message');
  const msg = await readUnlessExpunged(ctx.services.store, meta.messageId);
  if (!msg) throw badUrl(text, 'No such message');
  const bytes = url.sectionSpec === null ? msg : sectionBytes(msg, meta.structure, url.sectionSpec);
  if (bytes === null) throw badUrl(text, 'No such section');
  return applyPartial(bytes, url.partial);
}
