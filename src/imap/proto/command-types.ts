// The typed IMAP command union (RFC 9051, RFC 3501 and the extensions of issue 4) that parseImapCommand produces.
import type { NotifyArgs } from './parse-notify.js';
import type { SortCriterion } from '../../mail/sort.js';
import type { SequenceSet } from './sequence-set.js';
import type { LiteralData } from './tokenizer.js';

/** A calendar date from SEARCH (RFC 9051 9 "date"): no time, no zone. month is 1-12. */
export interface SearchDate {
  year: number;
  month: number;
  day: number;
}

/**
 * One SEARCH key (RFC 9051 6.4.4, RFC 3501 6.4.4, RFC 7162 3.1.5 MODSEQ). FROM/TO/CC/BCC/SUBJECT
 * become `header` keys; flag keys (SEEN, UNSEEN, KEYWORD x, ...) become `flag` keys.
 */
export type SearchKey =
  | { op: 'all' }
  | { op: 'flag'; flag: string; set: boolean }
  | { op: 'new' }
  | { op: 'old' }
  | { op: 'recent' }
  | { op: 'header'; field: string; value: string }
  | { op: 'body'; value: string }
  | { op: 'text'; value: string }
  /** BEFORE/ON/SINCE, SENT*, and RFC 8514 4 SAVEDBEFORE/SAVEDON/SAVEDSINCE (field 'saved'). */
  | { op: 'date'; field: 'internal' | 'sent' | 'saved'; cmp: 'before' | 'on' | 'since'; date: SearchDate }
  | { op: 'size'; cmp: 'larger' | 'smaller'; size: number }
  /** RFC 5032 3: OLDER / YOUNGER n, the internal date compared with the time of the search. */
  | { op: 'within'; older: boolean; seconds: number }
  | { op: 'seq'; set: SequenceSet }
  | { op: 'uid'; set: SequenceSet }
  | { op: 'not'; key: SearchKey }
  | { op: 'or'; left: SearchKey; right: SearchKey }
  | { op: 'and'; keys: SearchKey[] }
  | { op: 'modseq'; modseq: number; entry: { name: string; type: 'priv' | 'shared' | 'all' } | null }
  /** RFC 8474 6: EMAILID / THREADID objectid. */
  | { op: 'objectid'; kind: 'email' | 'thread'; id: string };

/** ESEARCH RETURN options (RFC 4731 3.1, RFC 9051 6.4.4, RFC 5182 SAVE, RFC 5267 4.1 UPDATE). */
export type SearchReturnOption = 'MIN' | 'MAX' | 'ALL' | 'COUNT' | 'SAVE' | 'UPDATE';

/** THREAD algorithms (RFC 5256 3). */
export type ThreadAlgorithm = 'ORDEREDSUBJECT' | 'REFERENCES';

/** BODY[section] text part (RFC 9051 6.4.5). */
export type SectionText =
  | { kind: 'HEADER' }
  | { kind: 'TEXT' }
  | { kind: 'MIME' }
  | { kind: 'HEADER.FIELDS'; fields: string[]; not: boolean };

/** A section: part path (1-based, empty = whole message) plus an optional text specifier. */
export interface Section {
  part: number[];
  text: SectionText | null;
}

export interface Partial {
  offset: number;
  length: number | null;
}

/** One FETCH data item (RFC 9051 6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ), macros already expanded. */
export type SimpleFetchItemType =
  /** RFC 8474 5.1, 5.2. */
  | 'EMAILID'
  | 'THREADID'
  | 'FLAGS'
  | 'INTERNALDATE'
  /** RFC 8514 3: when the message was saved to this mailbox. */
  | 'SAVEDATE'
  | 'RFC822.SIZE'
  | 'ENVELOPE'
  | 'BODY'
  | 'BODYSTRUCTURE'
  | 'UID'
  | 'MODSEQ'
  | 'RFC822'
  | 'RFC822.HEADER'
  | 'RFC822.TEXT';

export type FetchItem =
  | { type: SimpleFetchItemType }
  | { type: 'BODY[]'; peek: boolean; section: Section; partial: Partial | null }
  | { type: 'BINARY'; peek: boolean; part: number[]; partial: Partial | null }
  | { type: 'BINARY.SIZE'; part: number[] };

/** FETCH modifiers (RFC 7162 3.1.4 CHANGEDSINCE, 3.2.6 VANISHED). */
export interface FetchModifiers {
  changedSince: number | null;
  vanished: boolean;
}

/** STATUS items (RFC 9051 6.3.11 incl. SIZE and DELETED, RFC 3501 RECENT, RFC 7162 3.1.9 HIGHESTMODSEQ). */
export type StatusItem =
  | 'MESSAGES'
  | 'UIDNEXT'
  | 'UIDVALIDITY'
  | 'UNSEEN'
  | 'DELETED'
  | 'SIZE'
  | 'RECENT'
  | 'HIGHESTMODSEQ'
  /** RFC 8474 4: the mailbox's object id. */
  | 'MAILBOXID'
  /** RFC 9208 4.3: octets an EXPUNGE would reclaim (the \\Deleted messages' sizes). */
  | 'DELETED-STORAGE';

/** LIST selection options (RFC 5258 3.1, RFC 6154 SPECIAL-USE). */
export type ListSelectOption = 'SUBSCRIBED' | 'REMOTE' | 'RECURSIVEMATCH' | 'SPECIAL-USE';

/** LIST return options (RFC 5258 3.2, RFC 5819 STATUS, RFC 6154). */
export interface ListReturnOptions {
  subscribed: boolean;
  children: boolean;
  specialUse: boolean;
  /** STATUS items to return for each listed mailbox (RFC 5819), null when not asked. */
  status: StatusItem[] | null;
}

/** QRESYNC parameters of SELECT/EXAMINE (RFC 7162 3.2.5). */
export interface QresyncParams {
  uidValidity: number;
  modseq: number;
  knownUids: SequenceSet | null;
  /** seq-match-data: known sequence numbers and the UIDs they correspond to. */
  seqMatch: { seqs: SequenceSet; uids: SequenceSet } | null;
}

/** A date-time (RFC 9051 9) as given: the instant, and the zone it was written in. */
export interface ImapDateTime {
  /** Epoch milliseconds (the zone applied). */
  ms: number;
  /** The zone, minutes east of UTC ("-0500" is -300), within +-(23*60+59). */
  offsetMinutes: number;
}

/** One part of CATENATE (RFC 4469 5): TEXT literal bytes, or an IMAP URL (RFC 5092) to a message of this server. */
export type CatenatePart = { kind: 'text'; literal: LiteralData } | { kind: 'url'; url: string };

/** One message of APPEND (RFC 9051 6.3.12); several only with MULTIAPPEND (RFC 3502). */
export interface AppendMessage {
  flags: string[];
  /** The date-time argument, null when not given. */
  internalDate: ImapDateTime | null;
  /**
   * The message: buffered bytes or the placeholder of a literal the connection streamed to a spool;
   * null when the message is built from CATENATE parts instead.
   */
  literal: LiteralData | null;
  /** CATENATE (RFC 4469 5) parts, in order; null for a plain literal. Exactly one of the two is set. */
  catenate: CatenatePart[] | null;
}

/** STORE action (RFC 9051 6.4.6). */
export interface StoreAction {
  op: 'set' | 'add' | 'remove';
  silent: boolean;
  flags: string[];
}

/** One URL of URLFETCH: plain (RFC 4467 6.3) or with RFC 5524 3 parameters (`extended`). */
export interface UrlFetchRequest {
  url: string;
  extended: boolean;
  body: boolean;
  binary: boolean;
  bodyPartStructure: boolean;
}

/** Every command, without its tag. */
export type ImapCommandBody =
  | {
      name:
        'CAPABILITY' | 'NOOP' | 'LOGOUT' | 'STARTTLS' | 'NAMESPACE' | 'IDLE' | 'CHECK' | 'CLOSE' | 'UNSELECT';
    }
  | { name: 'AUTHENTICATE'; mechanism: string; initialResponse: string | null }
  | { name: 'LOGIN'; username: string; password: string }
  | { name: 'ENABLE'; capabilities: string[] }
  | { name: 'COMPRESS'; algorithm: string }
  | { name: 'SELECT' | 'EXAMINE'; mailbox: string; condstore: boolean; qresync: QresyncParams | null }
  | { name: 'CREATE'; mailbox: string; specialUse: string[] }
  | { name: 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE'; mailbox: string }
  | { name: 'RENAME'; from: string; to: string }
  | {
      name: 'LIST';
      reference: string;
      patterns: string[];
      selectOptions: ListSelectOption[];
      returnOptions: ListReturnOptions;
      /** True when any RFC 5258 extended syntax was used (decides the response form). */
      extended: boolean;
    }
  | { name: 'LSUB'; reference: string; pattern: string }
  | { name: 'STATUS'; mailbox: string; items: StatusItem[] }
  /** RFC 9208 4.1: GETQUOTA root, GETQUOTAROOT mailbox, SETQUOTA root (resource limit ...). */
  | { name: 'GETQUOTA'; root: string }
  | { name: 'GETQUOTAROOT'; mailbox: string }
  | { name: 'SETQUOTA'; root: string; limits: { resource: string; limit: number }[] }
  | { name: 'APPEND'; mailbox: string; messages: AppendMessage[] }
  | { name: 'EXPUNGE'; uidSet: SequenceSet | null }
  | {
      name: 'SEARCH';
      uid: boolean;
      charset: string | null;
      /** null: no RETURN (classic SEARCH reply); [] is RETURN () which means ALL (RFC 4731 3.1). */
      returnOptions: SearchReturnOption[] | null;
      /** RFC 5267 4.4 PARTIAL: 1-based positions in the result (mailbox order). */
      partial: { first: number; last: number } | null;
      key: SearchKey;
    }
  | {
      name: 'SORT';
      uid: boolean;
      criteria: SortCriterion[];
      /** null: no RETURN (`* SORT` reply); otherwise ESORT (RFC 5267 3), [] meaning ALL. */
      returnOptions: SearchReturnOption[] | null;
      /** RFC 5267 4.4 PARTIAL: 1-based positions in the sorted result. */
      partial: { first: number; last: number } | null;
      charset: string;
      key: SearchKey;
    }
  /** RFC 5267 4.2: ends the CONTEXT=SEARCH/SORT contexts of these tags. */
  | { name: 'CANCELUPDATE'; tags: string[] }
  | { name: 'THREAD'; uid: boolean; algorithm: ThreadAlgorithm; charset: string; key: SearchKey }
  | { name: 'FETCH'; uid: boolean; set: SequenceSet; items: FetchItem[]; modifiers: FetchModifiers }
  | { name: 'STORE'; uid: boolean; set: SequenceSet; unchangedSince: number | null; action: StoreAction }
  | { name: 'COPY' | 'MOVE'; uid: boolean; set: SequenceSet; mailbox: string }
  | { name: 'ID'; params: Array<[string, string | null]> | null }
  /** RFC 5465 3.1: NOTIFY NONE (set null) or NOTIFY SET. */
  | ({ name: 'NOTIFY' } & NotifyArgs)
  /** RFC 4467 6: URLAUTH. */
  | { name: 'GENURLAUTH'; pairs: Array<{ rump: string; mechanism: string }> }
  | { name: 'RESETKEY'; mailbox: string | null; mechanisms: string[] }
  | { name: 'URLFETCH'; urls: UrlFetchRequest[] };

export type ImapCommand = ImapCommandBody & { tag: string };

export type ImapCommandName = ImapCommandBody['name'];

/** A command that could not be parsed: the reply is `tag BAD text` (or `* BAD text` when tag is null). */
export interface ImapParseError {
  kind: 'parse-error';
  tag: string | null;
  text: string;
}
