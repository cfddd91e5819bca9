// The message list: windowed (only the visible rows exist), filled page by page with Email/query position+limit and Email/get.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { JmapClient } from './jmap.js';
import { type EmailSummary, loadPage } from './mail.js';

const ROW_HEIGHT = 64;
const PAGE = 50;
const OVERSCAN = 10;

export interface ListControl {
  move(delta: number): void;
  current(): EmailSummary | null;
}

interface Props {
  client: JmapClient;
  mailboxId: string;
  search: string;
  /** Bumped on a push (StateChange) or after a change this client made: reload what is shown. */
  version: number;
  selectedId: string | null;
  onOpen: (e: EmailSummary) => void;
  control: { current: ListControl | null };
  onError: (e: unknown) => void;
}

function sender(e: EmailSummary): string {
  const a = e.from?.[0];
  return a ? (a.name ?? a.email) : '(no sender)';
}

function when(iso: string): string {
  const d = new Date(iso);
  const today = new Date();
  return d.toDateString() === today.toDateString()
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString();
}

export function MessageList({
  client,
  mailboxId,
  search,
  version,
  selectedId,
  onOpen,
  control,
  onError,
}: Props) {
  const [total, setTotal] = useState(0);
  const [rows, setRows] = useState<Map<number, EmailSummary>>(new Map());
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const [cursor, setCursor] = useState(0);
  const pages = useRef(new Set<number>());
  const box = useRef<HTMLDivElement>(null);
  const generation = useRef(0);
  const [reload, setReload] = useState(0);

  /** The generation whose first page has not arrived yet: that page replaces every row shown. */
  const stale = useRef(-1);
  // A new mailbox or search starts empty. A push or a change made here (version) reloads the pages in
  // view but keeps showing the old rows until the new ones arrive: clearing them would blank the list
  // for a round trip after every change, and a shortcut (o, #) typed meanwhile would find no message.
  useEffect(() => {
    generation.current++;
    pages.current = new Set();
    setRows(new Map());
  }, [mailboxId, search]);
  useEffect(() => {
    if (version === 0) return;
    generation.current++;
    pages.current = new Set();
    stale.current = generation.current;
    setReload((n) => n + 1);
  }, [version]);
  useEffect(() => {
    setCursor(0);
    box.current?.scrollTo({ top: 0 });
  }, [mailboxId, search]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(Math.max(total, 1), Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);

  useEffect(() => {
    const gen = generation.current;
    for (let page = Math.floor(first / PAGE); page * PAGE < Math.max(last, 1); page++) {
      if (pages.current.has(page)) continue;
      pages.current.add(page);
      loadPage(client, mailboxId, page * PAGE, PAGE, search).then(
        (p) => {
          if (gen !== generation.current) return;
          setTotal(p.total);
          const byId = new Map(p.emails.map((e) => [e.id, e]));
          const replace = stale.current === gen;
          stale.current = -1;
          setRows((old) => {
            const next = replace ? new Map<number, EmailSummary>() : new Map(old);
            p.ids.forEach((id, i) => {
              const e = byId.get(id);
              if (e) next.set(p.position + i, e);
            });
            return next;
          });
        },
        (err: unknown) => {
          pages.current.delete(page);
          onError(err);
        },
      );
    }
  }, [first, last, rows.size === 0, client, mailboxId, search, reload]);

  // The cursor as last set, not as last rendered: j then o typed before a render must open the row moved to.
  const cursorNow = useRef(cursor);
  cursorNow.current = cursor;
  control.current = {
    move(delta) {
      const next = Math.min(Math.max(0, cursorNow.current + delta), Math.max(0, total - 1));
      cursorNow.current = next;
      setCursor(next);
      const el = box.current;
      if (
        el &&
        (next * ROW_HEIGHT < el.scrollTop || (next + 1) * ROW_HEIGHT > el.scrollTop + el.clientHeight)
      )
        el.scrollTo({ top: next * ROW_HEIGHT - el.clientHeight / 2 });
    },
    current: () => rows.get(cursorNow.current) ?? null,
  };

  const items = [];
  for (let i = first; i < Math.min(last, total); i++) {
    const e = rows.get(i);
    const style = { top: `${i * ROW_HEIGHT}px`, height: `${ROW_HEIGHT}px` };
    if (!e) {
      items.push(<div key={`p${i}`} class="row placeholder" style={style} aria-hidden="true" />);
      continue;
    }
    const unread = !e.keywords.$seen;
    const flagged = e.keywords.$flagged === true;
    items.push(
      <div key={e.id} role="listitem" class="row-wrap" style={style}>
        <a
          href={`#/${encodeURIComponent(mailboxId)}/${encodeURIComponent(e.id)}`}
          class={`row${unread ? ' unread' : ''}${e.id === selectedId ? ' selected' : ''}${i === cursor ? ' cursor' : ''}`}
          aria-current={e.id === selectedId ? 'true' : undefined}
          onClick={(ev) => {
            ev.preventDefault();
            setCursor(i);
            onOpen(e);
          }}
          draggable
          onDragStart={(ev) => ev.dataTransfer?.setData('application/x-mailroom-email', e.id)}
        >
          <span class="from">
            {unread && <span class="sr-only">Unread, </span>}
            {flagged && <span aria-label="Flagged">★ </span>}
            {sender(e)}
          </span>
          <span class="date">{when(e.receivedAt)}</span>
          <span class="subject">{e.subject || '(no subject)'}</span>
          <span class="preview">{e.preview}</span>
        </a>
      </div>,
    );
  }

  return (
    <div class="list" ref={box} onScroll={(ev) => setScrollTop(ev.currentTarget.scrollTop)}>
      <div role="list" aria-label="Messages" class="spacer" style={{ height: `${total * ROW_HEIGHT}px` }}>
        {items}
      </div>
      {total === 0 && rows.size === 0 && <p class="empty">No messages</p>}
    </div>
  );
}
