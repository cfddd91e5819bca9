// IMAP commands of any state and of login: CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN, AUTHENTICATE, ENABLE, NAMESPACE, IDLE.
import { decodeSaslPlain } from '../../auth/sasl/plain.js';
import { decodeSaslLoginField, LOGIN_PASSWORD_PROMPT, LOGIN_USERNAME_PROMPT } from '../../auth/sasl/login.js';
import type { ImapCommand } from '../proto/command-types.js';
import { bad, no, type CommandContext, type ImapPolicy, type SessionData } from './context.js';
import type { Done } from './index.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

/** May credentials be sent on this connection? (RFC 9051 6.2.3: LOGINDISABLED without TLS.) */
function plaintextOk(policy: ImapPolicy, s: SessionData): boolean {
  return s.peer.secure || (policy.allowLoopbackPlaintext && s.peer.loopback);
}

/** The capability list for the current state (RFC 9051 6.1.1, 7.2.2). */
export function capabilities(policy: ImapPolicy, s: SessionData): string[] {
  const caps = ['IMAP4rev1', 'IMAP4rev2', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE'];
  if (s.state.kind === 'not-authenticated') {
    if (policy.tlsAvailable && !s.peer.secure) caps.push('STARTTLS');
    if (plaintextOk(policy, s)) caps.push('AUTH=PLAIN', 'AUTH=LOGIN');
    else caps.push('LOGINDISABLED');
    return caps;
  }
  caps.push(
    'NAMESPACE',
    'UNSELECT',
    'UIDPLUS',
    'MOVE',
    'CHILDREN',
    'SPECIAL-USE',
    'CREATE-SPECIAL-USE',
    'LIST-EXTENDED',
    'LIST-STATUS',
    'ESEARCH',
    'SEARCHRES',
    // RFC 5032: SEARCH OLDER/YOUNGER (commands/search.ts).
    'WITHIN',
    // RFC 5465: NOTIFY (commands/notify.ts, notify.ts).
    'NOTIFY',
    // RFC 5256 (commands/sort.ts), RFC 5957 DISPLAYFROM/DISPLAYTO, RFC 5267 3 ESORT; RFC 5267 4
    // CONTEXT=SEARCH/SORT: RETURN (UPDATE), ADDTO/REMOVEFROM, CANCELUPDATE, PARTIAL (commands/contexts.ts).
    'SORT',
    'SORT=DISPLAY',
    'THREAD=ORDEREDSUBJECT',
    'THREAD=REFERENCES',
    'ESORT',
    'CONTEXT=SEARCH',
    'CONTEXT=SORT',
    'CONDSTORE',
    'QRESYNC',
    // RFC 8474: MAILBOXID, EMAILID, THREADID; the same ids as JMAP's (store/jmap-store.ts).
    'OBJECTID',
    'UTF8=ACCEPT',
    'STATUS=SIZE',
    // RFC 8514: FETCH SAVEDATE, SEARCH SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED.
    'SAVEDATE',
    'BINARY',
    // RFC 3502 (all or none) and RFC 4469 (TEXT and URL parts): commands/append.ts.
    'MULTIAPPEND',
    'CATENATE',
    // RFC 4978: the connection deflates both ways after COMPRESS DEFLATE (net/deflate-connection.ts).
    'COMPRESS=DEFLATE',
    // RFC 4467 GENURLAUTH/RESETKEY/URLFETCH and RFC 5524 URLFETCH parameters (commands/urlauth.ts).
    'URLAUTH',
    'URLAUTH=BINARY',
    `APPENDLIMIT=${policy.maxAppendSize}`,
    // RFC 9208 (commands/quota.ts): one root per account with STORAGE and MESSAGE; no QUOTASET (the CLI sets them).
    'QUOTA',
    'QUOTA=RES-STORAGE',
    'QUOTA=RES-MESSAGE',
  );
  return caps;
}

export function capability(ctx: CommandContext): void {
  ctx.out.raw(`* CAPABILITY ${capabilities(ctx.policy, ctx.session).join(' ')}\r\n`);
}

export function noop(): void {
  // The sync after every command reports pending changes (RFC 9051 6.1.2).
}

export function logout(ctx: CommandContext): Done {
  ctx.out.untagged('BYE', null, 'Logging out');
  ctx.out.tagged(ctx.tag, 'OK', null, 'LOGOUT completed');
  ctx.session.state = { kind: 'logout' };
  return { taggedWritten: true, skipSync: true, action: { kind: 'logout' } };
}

export function id(ctx: CommandContext): void {
  // RFC 2971 3.3: the server's own identification; nothing that helps an attacker (no version).
  ctx.out.data([{ atom: 'ID' }, ['name', 'Mailroom']]);
}

export function starttls(ctx: CommandContext): Done {
  if (ctx.session.peer.secure) throw bad('TLS is already active');
  if (!ctx.policy.tlsAvailable) throw no('TLS is not available');
  return { text: 'Begin TLS negotiation now', action: { kind: 'starttls' }, skipSync: true };
}

async function loginAs(ctx: CommandContext, username: string, password: string): Promise<Done> {
  const result = await ctx.services.authenticate(username, password, ctx.session.peer.remoteAddress, 'imap');
  if (result.kind === 'throttled') {
    throw no('Too many failed logins, try later', { name: 'UNAVAILABLE' });
  }
  if (result.kind !== 'ok') throw no('Invalid credentials', { name: 'AUTHENTICATIONFAILED' });
  const account = ctx.services.store.getAccount(result.account);
  if (!account) throw no('Invalid credentials', { name: 'AUTHENTICATIONFAILED' });
  ctx.session.state = { kind: 'authenticated', account };
  // RFC 9051 6.2.3: the OK may carry the new capabilities (they change after login).
  return {
    code: { name: 'CAPABILITY', args: capabilities(ctx.policy, ctx.session).join(' ') },
    text: 'Logged in',
  };
}

export async function login(ctx: CommandContext, cmd: Cmd<'LOGIN'>): Promise<Done> {
  if (!plaintextOk(ctx.policy, ctx.session)) {
    throw no('Use STARTTLS first', { name: 'PRIVACYREQUIRED' });
  }
  return loginAs(ctx, cmd.username, cmd.password);
}

/** SASL cancellation (RFC 9051 6.2.2): the client sends "*". */
const CANCEL = '*';

export function authenticate(ctx: CommandContext, cmd: Cmd<'AUTHENTICATE'>): Promise<Done> | Done {
  if (!plaintextOk(ctx.policy, ctx.session)) {
    throw no('Use STARTTLS first', { name: 'PRIVACYREQUIRED' });
  }
  const mech = cmd.mechanism.toUpperCase();
  if (mech === 'PLAIN') {
    const plain = async (c: CommandContext, response: string): Promise<Done> => {
      if (response === CANCEL) throw bad('Authentication cancelled');
      const d = decodeSaslPlain(response === '' ? '=' : response);
      if (!d.ok) throw bad('Malformed SASL PLAIN response');
      if (d.authzid !== '' && d.authzid.toLowerCase() !== d.authcid.toLowerCase()) {
        throw no('Cannot authorize as another user', { name: 'AUTHORIZATIONFAILED' });
      }
      return loginAs(c, d.authcid, d.password);
    };
    // RFC 4959: SASL-IR; "=" (already turned into '') is an empty initial response.
    if (cmd.initialResponse !== null && cmd.initialResponse !== '') return plain(ctx, cmd.initialResponse);
    ctx.out.raw('+ \r\n'); // RFC 9051 6.2.2: an empty challenge
    return { continueWith: { purpose: 'sasl', handler: plain } };
  }
  if (mech === 'LOGIN') {
    const askPassword =
      (user: string) =>
      async (c: CommandContext, response: string): Promise<Done> => {
        if (response === CANCEL) throw bad('Authentication cancelled');
        const pw = decodeSaslLoginField(response);
        if (!pw.ok) throw bad('Malformed SASL LOGIN response');
        return loginAs(c, user, pw.value);
      };
    const gotUser = (c: CommandContext, response: string): Done => {
      if (response === CANCEL) throw bad('Authentication cancelled');
      const u = decodeSaslLoginField(response);
      if (!u.ok) throw bad('Malformed SASL LOGIN response');
      c.out.raw(`+ ${LOGIN_PASSWORD_PROMPT}\r\n`);
      return { continueWith: { purpose: 'sasl', handler: askPassword(u.value) } };
    };
    if (cmd.initialResponse !== null && cmd.initialResponse !== '') return gotUser(ctx, cmd.initialResponse);
    ctx.out.raw(`+ ${LOGIN_USERNAME_PROMPT}\r\n`);
    return { continueWith: { purpose: 'sasl', handler: gotUser } };
  }
  throw no(`Unsupported mechanism ${mech.slice(0, 40)}`, { name: 'CANNOT' });
}

/** Extensions ENABLE turns on (RFC 5161, RFC 9051 6.3.1, RFC 7162 3.2.3, RFC 6855 3). */
const ENABLEABLE = new Set(['IMAP4REV2', 'CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT']);

export function enable(ctx: CommandContext, cmd: Cmd<'ENABLE'>): void {
  const now: string[] = [];
  for (const raw of cmd.capabilities) {
    const c = raw.toUpperCase();
    if (!ENABLEABLE.has(c) || ctx.session.enabled.has(c)) continue;
    ctx.session.enabled.add(c);
    now.push(c === 'IMAP4REV2' ? 'IMAP4rev2' : c);
    // RFC 7162 3.2.3: enabling QRESYNC implies CONDSTORE.
    if (c === 'QRESYNC' || c === 'CONDSTORE') ctx.session.condstoreOn = true;
  }
  ctx.out.raw(`* ENABLED${now.map((c) => ' ' + c).join('')}\r\n`);
}

export function namespace(ctx: CommandContext): void {
  // RFC 2342 / RFC 9051 6.3.10: one personal namespace, no prefix, "/" delimiter.
  ctx.out.raw('* NAMESPACE (("" "/")) NIL NIL\r\n');
}

export function idle(ctx: CommandContext): Done {
  // RFC 2177 3: changes so far, then "+ idling"; the connection reports later changes until DONE.
  ctx.sync(ctx.session.state.kind === 'selected');
  ctx.out.raw('+ idling\r\n');
  const done = (_c: CommandContext, line: string): Done => {
    if (line.toUpperCase() !== 'DONE') throw bad('Expected DONE');
    return { text: 'IDLE terminated' };
  };
  return { continueWith: { purpose: 'idle', handler: done } };
}

/**
 * RFC 4978 3: COMPRESS DEFLATE. The OK is the last uncompressed response; the connection then deflates
 * what it sends and inflates what it reads. A second COMPRESS is refused with COMPRESSIONACTIVE
 * (RFC 4978 3, RFC 5530 3); another algorithm is an invalid argument (BAD).
 */
export function compress(ctx: CommandContext, cmd: Cmd<'COMPRESS'>): Done {
  if (cmd.algorithm.toUpperCase() !== 'DEFLATE') {
    throw bad(`Unknown compression algorithm ${cmd.algorithm.slice(0, 40)}`);
  }
  if (ctx.session.compressed) throw no('DEFLATE is active already', { name: 'COMPRESSIONACTIVE' });
  ctx.session.compressed = true;
  // No untagged updates here: whatever sync would report goes out compressed after the next command.
  return { text: 'DEFLATE active', action: { kind: 'compress' }, skipSync: true };
}

export function check(): void {
  // RFC 9051 removed CHECK; RFC 3501 6.4.1: every change is already on disk, so nothing to do.
}
