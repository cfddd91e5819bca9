// One thread engine: RFC 5256 3 THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (Zawinski's algorithm) for IMAP and JMAP. Pure.
import { asciiCasemapKey, extractBaseSubject } from './base-subject.js';
import { sentDate } from './sort.js';

/** What threading reads of one message (made by threadableMessage, or by JMAP from its own records). */
export interface ThreadableMessage {
  /** The message's place in its mailbox (IMAP sequence number): the tie-break of equal sent dates (RFC 5256 2.2). */
  order: number;
  /** The sent date of RFC 5256 2.2, epoch ms. */
  date: number;
  /** The base subject (RFC 5256 2.1) in collation form: "Subject comparisons are case-insensitive". */
  subject: string;
  /** RFC 5256 3 step 5: base subject extraction removed Re:/Fwd:, "(fwd)" or "[fwd: ...]". */
  isReplyOrForward: boolean;
  /** The first valid Message ID of the Message-ID field, or null. */
  messageId: string | null;
  /** References' Message IDs, or (without any) the first of In-Reply-To's (RFC 5256 3 step 1.A). */
  references: string[];
}

/** A node of a thread: a message, or a dummy (message null) standing for a parent not in the set. */
export interface ThreadNode<T extends ThreadableMessage = ThreadableMessage> {
  message: T | null;
  children: Array<ThreadNode<T>>;
}

/** Header values a threadable record is made from (decoded, as in sort.ts MessageFacts). */
export interface ThreadFacts {
  order: number;
  arrival: number;
  header(name: string): string | undefined;
}

/**
 * The valid Message IDs of a field, in order: "<" id-left "@" id-right ">" (RFC 5322 3.6.4), comments
 * removed first (an In-Reply-To often says "<id> (message from Ann <ann@x>)"). At most `max`.
 */
export function messageIds(value: string | undefined, max = 1000): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  const text = value.replace(/\([^()]*\)/g, ' ');
  for (const m of text.matchAll(/<([^<>\s]+@[^<>\s]+)>/g)) {
    out.push(m[1] as string);
    if (out.length >= max) break;
  }
  return out;
}

/** Builds the threadable record of one message (RFC 5256 2.1, 2.2 and 3 step 1.A). */
export function threadableMessage(f: ThreadFacts): ThreadableMessage {
  const base = extractBaseSubject(f.header('subject') ?? '');
  const refs = messageIds(f.header('references'));
  return {
    order: f.order,
    date: sentDate(f.header('date'), f.arrival),
    subject: asciiCasemapKey(base.subject),
    isReplyOrForward: base.isReplyOrForward,
    messageId: messageIds(f.header('message-id'), 1)[0] ?? null,
    references: refs.length > 0 ? refs : messageIds(f.header('in-reply-to'), 1),
  };
}

const byDate = (a: ThreadableMessage, b: ThreadableMessage): number => a.date - b.date || a.order - b.order;

/**
 * THREAD=ORDEREDSUBJECT (RFC 5256 3): messages sorted by base subject then sent date, split into one
 * thread per base subject, threads sorted by the sent date of their first message. The first message
 * is the root; every other message of the thread is its child (no grandchildren).
 */
export function threadOrderedSubject<T extends ThreadableMessage>(
  messages: readonly T[],
): Array<ThreadNode<T>> {
  const sorted = [...messages].sort(
    (a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0) || byDate(a, b),
  );
  const threads: Array<ThreadNode<T>> = [];
  let current: ThreadNode<T> | null = null;
  for (const m of sorted) {
    if (current !== null && (current.message as T).subject === m.subject) {
      current.children.push({ message: m, children: [] });
    } else {
      current = { message: m, children: [] };
      threads.push(current);
    }
  }
  return threads.sort((a, b) => byDate(a.message as T, b.message as T));
}

/** A container of the REFERENCES algorithm (Zawinski's): a message or a dummy, linked to parent and children. */
interface Container<T> {
  message: T | null;
  parent: Container<T> | null;
  children: Array<Container<T>>;
}

/** True when `a` is `b` or one of `b`'s ancestors: linking b as a's parent would make a loop. */
function isAncestorOrSelf<T>(a: Container<T>, b: Container<T>): boolean {
  for (let c: Container<T> | null = b; c !== null; c = c.parent) if (c === a) return true;
  return false;
}

function link<T>(parent: Container<T>, child: Container<T>): void {
  child.parent = parent;
  parent.children.push(child);
}

function unlink<T>(child: Container<T>): void {
  const p = child.parent;
  if (p === null) return;
  const i = p.children.indexOf(child);
  if (i >= 0) p.children.splice(i, 1);
  child.parent = null;
}

/** The message a container sorts and is named by: its own, or (a dummy) its first child's (RFC 5256 3 steps 4-6). */
function representative<T>(c: Container<T>): T | null {
  let x: Container<T> | undefined = c;
  while (x !== undefined && x.message === null) x = x.children[0];
  return x?.message ?? null;
}

function sortSiblings<T extends ThreadableMessage>(list: Array<Container<T>>): void {
  list.sort((a, b) => {
    const x = representative(a);
    const y = representative(b);
    if (x === null || y === null) return (x === null ? 1 : 0) - (y === null ? 1 : 0);
    return byDate(x, y);
  });
}

/**
 * RFC 5256 3 step 3: dummies without children go; a dummy with children is replaced by them, except at
 * the root level, where only a dummy with a single child is. Iterative (a hostile References chain can
 * be thousands deep).
 */
function prune<T>(root: Container<T>): void {
  const stack: Array<Container<T>> = [root];
  while (stack.length > 0) {
    const parent = stack.pop() as Container<T>;
    const atRoot = parent === root;
    const kept: Array<Container<T>> = [];
    // A work stack (next child on top): promoted children are looked at in the dummy's place, in
    // order, and may be dummies themselves.
    const work = parent.children.slice().reverse();
    while (work.length > 0) {
      const c = work.pop() as Container<T>;
      if (c.message === null && (c.children.length === 0 || !atRoot || c.children.length === 1)) {
        for (let i = c.children.length - 1; i >= 0; i--) work.push(c.children[i] as Container<T>);
        continue;
      }
      kept.push(c);
    }
    parent.children = kept;
    for (const c of kept) {
      c.parent = parent;
      stack.push(c);
    }
  }
}

/**
 * THREAD=REFERENCES (RFC 5256 3), steps 1-6: parent/child links from References (or In-Reply-To),
 * dummies for missing parents, pruning, then threads with the same base subject merged, and every set
 * of siblings sorted by sent date. `messages` are in mailbox order (duplicate Message IDs: the first
 * keeps it). Returns the root's children.
 */
export function threadReferences<T extends ThreadableMessage>(messages: readonly T[]): Array<ThreadNode<T>> {
  const byId = new Map<string, Container<T>>();
  const all: Array<Container<T>> = [];
  const container = (id: string): Container<T> => {
    let c = byId.get(id);
    if (c === undefined) {
      c = { message: null, parent: null, children: [] };
      byId.set(id, c);
      all.push(c);
    }
    return c;
  };
  for (const m of messages) {
    // Step 1: a message without a (valid, unique) Message ID gets a unique one, i.e. a container of its own.
    let self: Container<T>;
    const known = m.messageId === null ? undefined : byId.get(m.messageId);
    if (m.messageId !== null && (known === undefined || known.message === null)) {
      self = container(m.messageId);
    } else {
      self = { message: null, parent: null, children: [] };
      all.push(self);
    }
    self.message = m;
    // 1.A: link the references in order, each the parent of the next; an existing parent is kept and
    // no link may make a loop.
    let prev: Container<T> | null = null;
    for (const ref of m.references) {
      const c = container(ref);
      if (prev !== null && c.parent === null && !isAncestorOrSelf(c, prev)) link(prev, c);
      prev = c;
    }
    // 1.B: the last reference is the message's parent, replacing a parent from a truncated References.
    unlink(self);
    if (prev !== null && !isAncestorOrSelf(self, prev)) link(prev, self);
  }
  // Step 2: the parentless containers are the children of a dummy root.
  const root: Container<T> = { message: null, parent: null, children: [] };
  for (const c of all) if (c.parent === null) link(root, c);
  // Step 3.
  prune(root);
  // Step 4: the root's children by sent date (a dummy by its first child, once its children are sorted).
  for (const c of root.children) if (c.message === null) sortSiblings(c.children);
  sortSiblings(root.children);
  // Step 5.
  mergeBySubject(root);
  // Step 6: every set of siblings by sent date, the deepest first, so a dummy's first child is settled.
  const order: Array<Container<T>> = [];
  const stack: Array<Container<T>> = [root];
  while (stack.length > 0) {
    const c = stack.pop() as Container<T>;
    order.push(c);
    for (const x of c.children) stack.push(x);
  }
  for (let i = order.length - 1; i >= 0; i--) sortSiblings((order[i] as Container<T>).children);
  return toNodes(root);
}

/** The thread subject of a root child: its base subject, or its first child's for a dummy (step 5.B.i). */
function threadSubject<T extends ThreadableMessage>(c: Container<T>): string {
  return representative(c)?.subject ?? '';
}

/** RFC 5256 3 step 5: threads under the root with the same (non-empty) base subject are gathered. */
function mergeBySubject<T extends ThreadableMessage>(root: Container<T>): void {
  // 5.B: one container per subject; a dummy is preferred, then a message that is not a reply/forward.
  const table = new Map<string, Container<T>>();
  for (const c of root.children) {
    const subject = threadSubject(c);
    if (subject === '') continue;
    const t = table.get(subject);
    if (t === undefined) table.set(subject, c);
    else if (
      t.message !== null &&
      (c.message === null || (t.message.isReplyOrForward && !c.message.isReplyOrForward))
    ) {
      table.set(subject, c);
    }
  }
  // 5.C: merge each other thread into the table's.
  const next: Array<Container<T>> = [];
  for (const c of root.children.slice()) {
    // A thread already merged into another (as the table's former entry) is no longer the root's.
    if (c.parent !== root) continue;
    const subject = threadSubject(c);
    const t = subject === '' ? undefined : table.get(subject);
    if (t === undefined || t === c) {
      next.push(c);
      continue;
    }
    if (t.message === null && c.message === null) {
      // Both dummies: the children of both become siblings under the table's.
      for (const x of c.children) link(t, x);
      c.children = [];
    } else if (
      t.message === null ||
      (c.message !== null && c.message.isReplyOrForward && !t.message.isReplyOrForward)
    ) {
      link(t, c);
    } else {
      // Otherwise a new dummy holds both, and takes the table's place (and its place under the root).
      const d: Container<T> = { message: null, parent: root, children: [] };
      const at = next.indexOf(t);
      if (at >= 0) next[at] = d;
      else next.push(d); // t comes later under the root: it is skipped there (its parent is now d)
      link(d, t);
      link(d, c);
      table.set(subject, d);
    }
  }
  root.children = next;
}

function toNodes<T extends ThreadableMessage>(root: Container<T>): Array<ThreadNode<T>> {
  const top: Array<ThreadNode<T>> = [];
  const stack: Array<[Container<T>, Array<ThreadNode<T>>]> = root.children.map((c) => [c, top]);
  // Depth-first with an explicit stack; children are pushed in reverse so they come out in order.
  stack.reverse();
  while (stack.length > 0) {
    const [c, into] = stack.pop() as [Container<T>, Array<ThreadNode<T>>];
    const node: ThreadNode<T> = { message: c.message, children: [] };
    into.push(node);
    for (let i = c.children.length - 1; i >= 0; i--)
      stack.push([c.children[i] as Container<T>, node.children]);
  }
  return top;
}
