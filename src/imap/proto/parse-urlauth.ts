// Arguments of GENURLAUTH, RESETKEY, URLFETCH (RFC 4467 6) and URLFETCH's RFC 5524 fetch parameters.
import { Args } from './parse-args.js';
import { ImapSyntaxError } from './types.js';
import { IMAP_URLS_PER_COMMAND } from '../../config/limits.js';
import type { ImapCommandBody, UrlFetchRequest } from './command-types.js';

/** URLs per command (config/limits.ts says why). */
const MAX_URLS = IMAP_URLS_PER_COMMAND;

/** RFC 4467 6.1: GENURLAUTH 1*(SP url-rump SP mechanism). */
export function parseGenUrlAuth(args: Args): ImapCommandBody {
  const pairs: Array<{ rump: string; mechanism: string }> = [];
  do {
    const rump = args.astring('URL rump');
    const mechanism = args.keyword('URLAUTH mechanism').toUpperCase();
    pairs.push({ rump, mechanism });
    if (pairs.length > MAX_URLS) throw new ImapSyntaxError('Too many URLs');
  } while (args.more());
  return { name: 'GENURLAUTH', pairs };
}

/** RFC 4467 6.2: RESETKEY [SP mailbox *(SP mechanism)]. */
export function parseResetKey(args: Args): ImapCommandBody {
  if (!args.more()) return { name: 'RESETKEY', mailbox: null, mechanisms: [] };
  const mailbox = args.astring('mailbox name');
  const mechanisms: string[] = [];
  while (args.more()) mechanisms.push(args.keyword('URLAUTH mechanism').toUpperCase());
  return { name: 'RESETKEY', mailbox, mechanisms };
}

/** RFC 4467 6.3: URLFETCH 1*(SP url); RFC 5524 3: or "(" url *(SP BODY / BINARY / BODYPARTSTRUCTURE) ")". */
export function parseUrlFetch(args: Args): ImapCommandBody {
  const urls: UrlFetchRequest[] = [];
  do {
    const t = args.peek();
    if (t?.type === 'list') {
      const inner = new Args(args.list('URLFETCH parameters'));
      const url = inner.astring('URL');
      const req: UrlFetchRequest = {
        url,
        extended: true,
        body: false,
        binary: false,
        bodyPartStructure: false,
      };
      while (inner.more()) {
        const p = inner.keyword('URLFETCH parameter').toUpperCase();
        if (p === 'BODY') req.body = true;
        else if (p === 'BINARY') req.binary = true;
        else if (p === 'BODYPARTSTRUCTURE') req.bodyPartStructure = true;
        else throw new ImapSyntaxError(`Unknown URLFETCH parameter "${p.slice(0, 40)}"`);
      }
      // RFC 5524 3: BODY and BINARY together make no sense.
      if (req.body && req.binary) throw new ImapSyntaxError('URLFETCH BODY and BINARY are exclusive');
      urls.push(req);
    } else {
      const url = args.astring('URL');
      urls.push({ url, extended: false, body: true, binary: false, bodyPartStructure: false });
    }
    if (urls.length > MAX_URLS) throw new ImapSyntaxError('Too many URLs');
  } while (args.more());
  return { name: 'URLFETCH', urls };
}
