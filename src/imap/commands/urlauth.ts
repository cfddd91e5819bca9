// IMAP URLAUTH commands (RFC 4467 6): GENURLAUTH, RESETKEY, URLFETCH, with URLFETCH's URLAUTH=BINARY parameters (RFC 5524 3).
import type { ImapCommand } from '../proto/command-types.js';
import { parseImapUrl, type ImapUrl } from '../proto/imap-url.js';
import type { ImapValue } from '../proto/response-writer.js';
import { bodyStructureValue } from '../proto/structure-writer.js';
import { ImapSyntaxError } from '../proto/types.js';
import { binaryStructure } from '../message-binary.js';
import { toBodyStructure } from '../structure-convert.js';
import {
  URLAUTH_MECHANISMS,
  internalToken,
  newAccessKey,
  qualifyUser,
  resolveUrlAuth,
  urlBinaryBytes,
  urlBytes,
  urlMailbox,
  urlPart,
} from '../urlauth.js';
import { no, type CommandContext } from './context.js';
import type { Done } from './index.js';
import { accountOf, existingRef } from './mailboxes.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

function checkMechanism(mechanism: string): void {
  // RFC 4467 6.1/6.2: an unsupported mechanism fails the command.
  if (!URLAUTH_MECHANISMS.includes(mechanism))
    throw no(`Unsupported URLAUTH mechanism ${mechanism.slice(0, 40)}`);
}

/**
 * GENURLAUTH (RFC 4467 6.1): for each URL rump of a message of the user's own mailbox, the full
 * URL with the INTERNAL token; the mailbox's access key is made on first use. Any bad rump fails
 * the whole command (no partial `* GENURLAUTH`).
 */
export function genUrlAuth(ctx: CommandContext, cmd: Cmd<'GENURLAUTH'>): void {
  const account = accountOf(ctx);
  const store = ctx.services.store;
  const urls: string[] = [];
  for (const { rump, mechanism } of cmd.pairs) {
    checkMechanism(mechanism);
    let url: ImapUrl;
    try {
      url = parseImapUrl(rump);
    } catch (err) {
      if (err instanceof ImapSyntaxError) throw no(`Invalid URL: ${err.message}`);
      throw err;
    }
    const ua = url.urlauth;
    // RFC 4467 6.1: the argument is a rump (URLAUTH with access, no mechanism/token) of a message.
    if (!ua || ua.mechanism !== null || url.uid === null) throw no('Not a URLAUTH URL rump of a message');
    // RFC 4467 6.1: only the mailbox owner (the URL's user) may authorize access to it.
    if (url.user === null || qualifyUser(url.user, url.host) !== account.address.toLowerCase()) {
      throw no('The URL names another user');
    }
    if (ua.expire !== null && ua.expire.getTime() <= ctx.services.now().getTime()) {
      throw no('The URL has already expired');
    }
    const mailbox = urlMailbox(store, account, url);
    if (!mailbox) throw no('No such mailbox', { name: 'NONEXISTENT' });
    const key = store.urlauth.mailboxKey(mailbox.id, newAccessKey);
    urls.push(`${rump}:INTERNAL:${internalToken(key, rump)}`);
  }
  ctx.out.data([{ atom: 'GENURLAUTH' }, ...urls]);
}

/**
 * RESETKEY (RFC 4467 6.2): new keys for one mailbox or all the user's; existing URLs stop working.
 * With a mailbox, the tagged OK names the mechanisms it now has keys for: [URLMECH INTERNAL].
 */
export function resetKey(ctx: CommandContext, cmd: Cmd<'RESETKEY'>): Done | void {
  const account = accountOf(ctx);
  for (const m of cmd.mechanisms) checkMechanism(m);
  const mailboxId = cmd.mailbox === null ? null : existingRef(ctx, cmd.mailbox).id;
  // Deleting is enough: the next GENURLAUTH makes a fresh random key.
  ctx.services.store.urlauth.resetKeys(account.id, mailboxId);
  if (mailboxId !== null) return { code: { name: 'URLMECH', args: URLAUTH_MECHANISMS.join(' ') } };
}

/**
 * URLFETCH (RFC 4467 6.3): one `* URLFETCH` with each URL and its data, NIL for any URL that is
 * not valid for this user (never the reason). RFC 5524 3: "(url params)" asks for BODY, BINARY
 * (content-transfer-encoding removed, NIL when it cannot be) and BODYPARTSTRUCTURE.
 */
export async function urlFetch(ctx: CommandContext, cmd: Cmd<'URLFETCH'>): Promise<void> {
  const account = accountOf(ctx);
  const store = ctx.services.store;
  const values: ImapValue[] = [{ atom: 'URLFETCH' }];
  for (const req of cmd.urls) {
    values.push(req.url);
    let url: ImapUrl;
    try {
      url = parseImapUrl(req.url);
    } catch (err) {
      if (!(err instanceof ImapSyntaxError)) throw err;
      values.push(null);
      continue;
    }
    const r = await resolveUrlAuth(
      store,
      url,
      { kind: 'imap', address: account.address },
      ctx.services.now(),
    );
    const bytes = r ? urlBytes(r, url) : null;
    if (!r || !bytes) {
      values.push(null);
      continue;
    }
    if (!req.extended) {
      values.push(bytes);
      continue;
    }
    const meta: ImapValue[] = [];
    if (req.bodyPartStructure) {
      const part = urlPart(r, url);
      // With BINARY, the structure describes the decoded octets the client gets (sizes, lines).
      const described = part && req.binary ? binaryStructure(r.message, part) : part;
      meta.push(
        { atom: 'BODYPARTSTRUCTURE' },
        described ? bodyStructureValue(toBodyStructure(described), true) : null,
      );
    }
    if (req.body) meta.push({ atom: 'BODY' }, bytes);
    if (req.binary) meta.push({ atom: 'BINARY' }, urlBinaryBytes(r, url));
    values.push(meta);
  }
  ctx.out.data(values);
}
