// IMAP command parser (RFC 9051 6, RFC 3501 6 and issue 4's extensions): a received command -> ImapCommand or a BAD.
import { ImapSyntaxError } from './types.js';
import { tokenize, DEFAULT_TOKENIZER_OPTIONS } from './tokenizer.js';
import type { ImapToken, LiteralData, RawCommand, TokenizerOptions } from './tokenizer.js';
import { Args, parseDateTime, tokenAstring, tokenFlagList } from './parse-args.js';
import {
  parseFetchItems,
  parseFetchModifiers,
  parseStoreAction,
  parseStoreModifiers,
} from './parse-fetch.js';
import { parseSearchArgs } from './parse-search.js';
import { parseNotifyArgs } from './parse-notify.js';
import { parseSortArgs, parseThreadArgs } from './parse-sort.js';
import { parseGenUrlAuth, parseResetKey, parseUrlFetch } from './parse-urlauth.js';
import { tagOf } from './literal-receiver.js';
import type {
  AppendMessage,
  CatenatePart,
  ImapCommand,
  ImapCommandBody,
  ImapDateTime,
  ImapParseError,
  ListReturnOptions,
  ListSelectOption,
  QresyncParams,
  StatusItem,
} from './command-types.js';

const STATUS_ITEMS = new Set<StatusItem>([
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'RECENT',
  'HIGHESTMODSEQ',
  'MAILBOXID',
  'DELETED-STORAGE',
]);

const SELECT_OPTIONS = new Set<ListSelectOption>(['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE']);

/** Parses one received command. Never throws: syntax problems come back as an ImapParseError (reply BAD). */
export function parseImapCommand(
  raw: RawCommand,
  options: TokenizerOptions = DEFAULT_TOKENIZER_OPTIONS,
): ImapCommand | ImapParseError {
  const tag = raw.segments[0] ? tagOf(raw.segments[0]) : null;
  try {
    const tokens = tokenize(raw, options);
    const first = tokens[0];
    if (
      !first ||
      tag === null ||
      first.type === 'quoted' ||
      first.type === 'literal' ||
      first.type === 'list'
    ) {
      throw new ImapSyntaxError(first ? 'Invalid tag' : 'Empty command');
    }
    const nameToken = tokens[1];
    if (!nameToken || nameToken.type !== 'atom') throw new ImapSyntaxError('Missing command name');
    const body = parseBody(nameToken.value.toUpperCase(), new Args(tokens.slice(2)), tokens.slice(2));
    return { ...body, tag } as ImapCommand;
  } catch (err) {
    if (err instanceof ImapSyntaxError) return { kind: 'parse-error', tag, text: err.message };
    throw err;
  }
}

/** True for a result of parseImapCommand that is a parse error. */
export function isParseError(r: ImapCommand | ImapParseError): r is ImapParseError {
  return 'kind' in r && r.kind === 'parse-error';
}

function parseBody(name: string, args: Args, rest: ImapToken[]): ImapCommandBody {
  switch (name) {
    case 'CAPABILITY':
    case 'NOOP':
    case 'LOGOUT':
    case 'STARTTLS':
    case 'NAMESPACE':
    case 'IDLE':
    case 'CHECK':
    case 'CLOSE':
    case 'UNSELECT':
      args.end();
      return { name };
    case 'EXPUNGE':
      args.end();
      return { name, uidSet: null };
    case 'COMPRESS': {
      // RFC 4978 5: compress = "COMPRESS" SP algorithm; the session judges which algorithms it has.
      const algorithm = args.keyword('compression algorithm');
      args.end();
      return { name, algorithm };
    }
    case 'AUTHENTICATE': {
      const mechanism = args.keyword('SASL mechanism');
      let initialResponse: string | null = null;
      if (args.more()) {
        // RFC 4959 / RFC 9051 6.2.2: initial response is base64, or "=" for an empty one.
        const ir = args.astring('initial response');
        if (ir !== '=' && !/^[A-Za-z0-9+/]*={0,2}$/.test(ir))
          throw new ImapSyntaxError('Invalid initial response');
        initialResponse = ir === '=' ? '' : ir;
      }
      args.end();
      return { name, mechanism, initialResponse };
    }
    case 'LOGIN': {
      const username = args.astring('user name');
      const password = args.astring('password');
      args.end();
      return { name, username, password };
    }
    case 'ENABLE': {
      const capabilities: string[] = [];
      while (args.more()) capabilities.push(args.keyword('capability'));
      if (capabilities.length === 0) throw new ImapSyntaxError('ENABLE needs at least one capability');
      return { name, capabilities };
    }
    case 'SELECT':
    case 'EXAMINE':
      return { name, ...parseSelect(args) };
    case 'CREATE': {
      const mailbox = args.astring('mailbox name');
      const specialUse: string[] = [];
      if (args.more()) {
        // RFC 6154 3: CREATE name (USE (\Sent ...)).
        const p = new Args(args.list('create parameters'));
        while (p.more()) {
          const key = p.keyword('create parameter');
          if (key !== 'USE') throw new ImapSyntaxError(`Unknown CREATE parameter ${key.slice(0, 40)}`);
          for (const u of p.list('USE attributes')) {
            if (u.type !== 'atom' || !/^\\[A-Za-z]+$/.test(u.value))
              throw new ImapSyntaxError('Invalid special-use');
            specialUse.push(u.value);
          }
        }
      }
      args.end();
      return { name, mailbox, specialUse };
    }
    case 'DELETE':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      const mailbox = args.astring('mailbox name');
      args.end();
      return { name, mailbox };
    }
    case 'RENAME': {
      const from = args.astring('existing mailbox name');
      const to = args.astring('new mailbox name');
      args.end();
      return { name, from, to };
    }
    case 'LIST':
      return parseList(args);
    case 'LSUB': {
      const reference = args.astring('reference');
      const pattern = args.listMailbox('mailbox pattern');
      args.end();
      return { name, reference, pattern };
    }
    case 'STATUS': {
      const mailbox = args.astring('mailbox name');
      const items = parseStatusItems(args.list('status items'));
      args.end();
      return { name, mailbox, items };
    }
    case 'GETQUOTA': {
      const root = args.astring('quota root');
      args.end();
      return { name, root };
    }
    case 'GETQUOTAROOT': {
      const mailbox = args.astring('mailbox name');
      args.end();
      return { name, mailbox };
    }
    case 'SETQUOTA': {
      // RFC 9208 4.1.3 / 7: setquota-list = "(" [resource-name SP number64 *(SP ...)] ")".
      const root = args.astring('quota root');
      const items = args.list('quota limits');
      args.end();
      const limits: { resource: string; limit: number }[] = [];
      for (let i = 0; i < items.length; i += 2) {
        const r = items[i];
        const n = items[i + 1];
        if (r?.type !== 'atom' || !/^[A-Za-z0-9-]{1,64}$/.test(r.value))
          throw new ImapSyntaxError('Invalid resource name');
        // number64 (RFC 9208 7); the tokenizer makes safe integers numbers, larger digit runs atoms.
        if (n?.type !== 'number') throw new ImapSyntaxError('Invalid resource limit');
        limits.push({ resource: r.value.toUpperCase(), limit: n.value });
      }
      return { name, root, limits };
    }
    case 'APPEND':
      return parseAppend(args);
    case 'SEARCH':
      return { name, uid: false, ...parseSearchArgs(rest) };
    case 'SORT':
      return { name, uid: false, ...parseSortArgs(rest) };
    case 'CANCELUPDATE': {
      // RFC 5267 4.2: "CANCELUPDATE" 1*(SP quoted): the tags of the contexts to end.
      const tags: string[] = [];
      while (args.more()) {
        const t = args.take('context tag');
        if (t.type !== 'quoted') throw new ImapSyntaxError('CANCELUPDATE takes quoted tags');
        tags.push(t.value);
      }
      if (tags.length === 0) throw new ImapSyntaxError('CANCELUPDATE needs a tag');
      return { name, tags };
    }
    case 'THREAD':
      return { name, uid: false, ...parseThreadArgs(rest) };
    case 'FETCH':
      return parseFetch(args, false);
    case 'STORE':
      return parseStore(args, false);
    case 'COPY':
    case 'MOVE': {
      const set = args.sequenceSet('sequence set');
      const mailbox = args.astring('mailbox name');
      args.end();
      return { name, uid: false, set, mailbox };
    }
    case 'UID':
      return parseUid(args, rest);
    case 'ID':
      return parseId(args);
    case 'NOTIFY':
      return { name, ...parseNotifyArgs(args) };
    case 'GENURLAUTH':
      return parseGenUrlAuth(args);
    case 'RESETKEY':
      return parseResetKey(args);
    case 'URLFETCH':
      return parseUrlFetch(args);
    default:
      throw new ImapSyntaxError(`Unknown command "${name.slice(0, 40)}"`);
  }
}

/** UID FETCH/SEARCH/STORE/COPY/MOVE/EXPUNGE/SORT/THREAD (RFC 9051 6.4.9, RFC 4315, RFC 6851, RFC 5256). */
function parseUid(args: Args, rest: ImapToken[]): ImapCommandBody {
  const sub = args.keyword('UID command');
  switch (sub) {
    case 'FETCH':
      return parseFetch(args, true);
    case 'STORE':
      return parseStore(args, true);
    case 'SEARCH':
      return { name: 'SEARCH', uid: true, ...parseSearchArgs(rest.slice(1)) };
    case 'SORT':
      return { name: 'SORT', uid: true, ...parseSortArgs(rest.slice(1)) };
    case 'THREAD':
      return { name: 'THREAD', uid: true, ...parseThreadArgs(rest.slice(1)) };
    case 'COPY':
    case 'MOVE': {
      const set = args.sequenceSet('UID set');
      const mailbox = args.astring('mailbox name');
      args.end();
      return { name: sub, uid: true, set, mailbox };
    }
    case 'EXPUNGE': {
      const uidSet = args.sequenceSet('UID set');
      args.end();
      return { name: 'EXPUNGE', uidSet };
    }
    default:
      throw new ImapSyntaxError(`Unknown UID command "${sub.slice(0, 40)}"`);
  }
}

function parseFetch(args: Args, uid: boolean): ImapCommandBody {
  const set = args.sequenceSet('sequence set');
  const items = parseFetchItems(args.take('fetch items'));
  const modifiers = args.more()
    ? parseFetchModifiers(args.list('fetch modifiers'), uid)
    : parseFetchModifiers([], uid);
  args.end();
  return { name: 'FETCH', uid, set, items, modifiers };
}

function parseStore(args: Args, uid: boolean): ImapCommandBody {
  const set = args.sequenceSet('sequence set');
  let unchangedSince: number | null = null;
  if (args.peek()?.type === 'list') unchangedSince = parseStoreModifiers(args.list('store modifiers'));
  const action = parseStoreAction(args);
  args.end();
  return { name: 'STORE', uid, set, unchangedSince, action };
}

/**
 * SELECT/EXAMINE [(CONDSTORE)] or [(QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]))]
 * (RFC 7162 3.1.8 and 3.2.5).
 */
function parseSelect(args: Args): { mailbox: string; condstore: boolean; qresync: QresyncParams | null } {
  const mailbox = args.astring('mailbox name');
  let condstore = false;
  let qresync: QresyncParams | null = null;
  if (args.more()) {
    const p = new Args(args.list('select parameters'));
    while (p.more()) {
      const key = p.keyword('select parameter');
      if (key === 'CONDSTORE' && !condstore) {
        condstore = true;
      } else if (key === 'QRESYNC' && !qresync) {
        const q = new Args(p.list('QRESYNC parameters'));
        const uidValidity = q.number('UIDVALIDITY');
        if (uidValidity === 0) throw new ImapSyntaxError('UIDVALIDITY must be non-zero');
        const modseq = q.modseq('mod-sequence');
        let knownUids = null;
        let seqMatch = null;
        if (q.more() && q.peek()?.type !== 'list') knownUids = q.sequenceSet('known UIDs');
        if (q.more()) {
          const m = new Args(q.list('sequence match data'));
          seqMatch = { seqs: m.sequenceSet('known sequence set'), uids: m.sequenceSet('known UID set') };
          m.end();
        }
        q.end();
        qresync = { uidValidity, modseq, knownUids, seqMatch };
      } else {
        throw new ImapSyntaxError(`Unknown or repeated select parameter ${key.slice(0, 40)}`);
      }
    }
  }
  args.end();
  return { mailbox, condstore, qresync };
}

function parseStatusItems(items: ImapToken[]): StatusItem[] {
  if (items.length === 0) throw new ImapSyntaxError('Empty status item list');
  const out: StatusItem[] = [];
  for (const t of items) {
    const name = t.type === 'atom' ? t.value.toUpperCase() : '';
    if (!STATUS_ITEMS.has(name as StatusItem)) throw new ImapSyntaxError('Unknown status item');
    if (!out.includes(name as StatusItem)) out.push(name as StatusItem);
  }
  return out;
}

/**
 * LIST (RFC 9051 6.3.9 / RFC 5258 3): [ "(" selection options ")" ] reference
 * (pattern / "(" patterns ")") [ RETURN "(" return options ")" ].
 */
function parseList(args: Args): ImapCommandBody {
  let extended = false;
  const selectOptions: ListSelectOption[] = [];
  if (args.peek()?.type === 'list') {
    extended = true;
    for (const t of args.list('selection options')) {
      const o = t.type === 'atom' ? t.value.toUpperCase() : '';
      if (!SELECT_OPTIONS.has(o as ListSelectOption))
        throw new ImapSyntaxError('Unknown LIST selection option');
      if (!selectOptions.includes(o as ListSelectOption)) selectOptions.push(o as ListSelectOption);
    }
    // RFC 5258 3: RECURSIVEMATCH alone (or with only REMOTE) is a BAD; it modifies another option.
    if (
      selectOptions.includes('RECURSIVEMATCH') &&
      selectOptions.every((o) => o === 'RECURSIVEMATCH' || o === 'REMOTE')
    ) {
      throw new ImapSyntaxError('RECURSIVEMATCH needs another selection option');
    }
  }
  const reference = args.astring('reference');
  const patterns: string[] = [];
  if (args.peek()?.type === 'list') {
    extended = true;
    const p = new Args(args.list('mailbox patterns'));
    while (p.more()) patterns.push(p.listMailbox('mailbox pattern'));
    if (patterns.length === 0) throw new ImapSyntaxError('Empty pattern list');
  } else {
    patterns.push(args.listMailbox('mailbox pattern'));
  }
  const returnOptions: ListReturnOptions = {
    subscribed: false,
    children: false,
    specialUse: false,
    status: null,
  };
  if (args.more()) {
    if (args.keyword('RETURN') !== 'RETURN') throw new ImapSyntaxError('Expected RETURN');
    extended = true;
    const r = new Args(args.list('return options'));
    while (r.more()) {
      const o = r.keyword('return option');
      if (o === 'SUBSCRIBED') returnOptions.subscribed = true;
      else if (o === 'CHILDREN') returnOptions.children = true;
      else if (o === 'SPECIAL-USE') returnOptions.specialUse = true;
      else if (o === 'STATUS' && returnOptions.status === null) {
        returnOptions.status = parseStatusItems(r.list('STATUS items'));
      } else throw new ImapSyntaxError(`Unknown LIST return option ${o.slice(0, 40)}`);
    }
  }
  args.end();
  return { name: 'LIST', reference, patterns, selectOptions, returnOptions, extended };
}

/** APPEND mailbox [flag-list] [date-time] literal, repeated with MULTIAPPEND (RFC 9051 6.3.12, RFC 3502). */
function parseAppend(args: Args): ImapCommandBody {
  const mailbox = args.astring('mailbox name');
  const messages: AppendMessage[] = [];
  do {
    let flags: string[] = [];
    let internalDate: ImapDateTime | null = null;
    let t = args.take('message literal');
    if (t.type === 'list') {
      flags = tokenFlagList(t);
      t = args.take('message literal');
    }
    if (t.type === 'quoted') {
      internalDate = parseDateTime(t.value);
      t = args.take('message literal');
    }
    if (t.type === 'atom' && t.value.toUpperCase() === 'CATENATE') {
      messages.push({
        flags,
        internalDate,
        literal: null,
        catenate: parseCatenate(args.list('CATENATE parts')),
      });
      continue;
    }
    if (t.type !== 'literal') throw new ImapSyntaxError('APPEND needs the message as a literal');
    messages.push({ flags, internalDate, literal: literalData(t), catenate: null });
  } while (args.more());
  return { name: 'APPEND', mailbox, messages };
}

function literalData(t: ImapToken & { type: 'literal' }): LiteralData {
  return t.bytes
    ? { streamed: false, bytes: t.bytes, binary: t.binary }
    : { streamed: true, size: t.size, binary: t.binary };
}

/**
 * RFC 4469 5: "CATENATE" SP "(" cat-part *(SP cat-part) ")", cat-part = "TEXT" SP literal /
 * "URL" SP astring; with BINARY, TEXT may carry a literal8 (RFC 4469 5, RFC 3516 4.4).
 */
function parseCatenate(items: ImapToken[]): CatenatePart[] {
  const p = new Args(items);
  const parts: CatenatePart[] = [];
  while (p.more()) {
    const kind = p.keyword('CATENATE part');
    if (kind === 'TEXT') {
      const t = p.take('TEXT literal');
      if (t.type !== 'literal') throw new ImapSyntaxError('CATENATE TEXT needs a literal');
      parts.push({ kind: 'text', literal: literalData(t) });
    } else if (kind === 'URL') {
      parts.push({ kind: 'url', url: p.astring('URL') });
    } else {
      throw new ImapSyntaxError(`Unknown CATENATE part ${kind.slice(0, 40)}`);
    }
  }
  if (parts.length === 0) throw new ImapSyntaxError('CATENATE needs at least one part');
  return parts;
}

/** ID (RFC 2971 3.1): NIL or a list of field/value pairs; at most 30 pairs, names up to 30 octets. */
function parseId(args: Args): ImapCommandBody {
  const t = args.take('ID parameters');
  args.end();
  if (t.type === 'nil') return { name: 'ID', params: null };
  if (t.type !== 'list') throw new ImapSyntaxError('ID takes NIL or a list');
  if (t.items.length % 2 !== 0 || t.items.length > 60) throw new ImapSyntaxError('Invalid ID parameter list');
  const params: Array<[string, string | null]> = [];
  for (let i = 0; i < t.items.length; i += 2) {
    const key = t.items[i] as ImapToken;
    const value = t.items[i + 1] as ImapToken;
    if (key.type !== 'quoted' && key.type !== 'literal')
      throw new ImapSyntaxError('ID field names are strings');
    params.push([
      tokenAstring(key, 'ID field'),
      value.type === 'nil' ? null : tokenAstring(value, 'ID value'),
    ]);
  }
  return { name: 'ID', params };
}
