// The signed-in web mail: mailbox navigation, the message list, the reader, the composer, settings, keyboard shortcuts, live updates.
import { useEffect, useRef, useState } from 'preact/hooks';
import { type JmapClient, SignedOut } from './jmap.js';
import { type Draft, emptyDraft, forwardDraft, replyDraft } from './compose.js';
import { Composer } from './composer.js';
import {
  destroyEmails,
  displayName,
  type EmailFull,
  type EmailSummary,
  emptyMailbox,
  type Identity,
  loadEmail,
  loadIdentities,
  loadMailboxes,
  type Mailbox,
  moveEmails,
  setKeyword,
} from './mail.js';
import { type ListControl, MessageList } from './message-list.js';
import { Reader } from './reader.js';
import { Settings } from './settings.js';

interface Props {
  client: JmapClient;
  onSignedOut: () => void;
}

/** Keys typed into a field are text, not shortcuts. */
function typing(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))
  );
}

export function MailApp({ client, onSignedOut }: Props) {
  const [mailboxes, setMailboxes] = useState<Mailbox[]>([]);
  const [current, setCurrent] = useState<string | null>(null);
  const [searchInput, setSearchInput] = useState('');
  const [search, setSearch] = useState('');
  const [version, setVersion] = useState(0);
  const [open, setOpen] = useState<EmailFull | null>(null);
  const [composing, setComposing] = useState<Draft | null>(null);
  const [settings, setSettings] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [identities, setIdentities] = useState<Identity[]>([]);
  const list = useRef<ListControl | null>(null);
  const searchBox = useRef<HTMLInputElement>(null);

  const fail = (e: unknown) => {
    if (e instanceof SignedOut) return onSignedOut();
    setError(e instanceof Error ? e.message : String(e));
  };
  const byRole = (role: string) => mailboxes.find((m) => m.role === role) ?? null;
  const loads = useRef(0);
  const refresh = () => {
    // Answers can come back out of order (the browser has several connections): an older list must not
    // overwrite a newer one, or a count stays stale after "Mark as unread" until the next push.
    const load = ++loads.current;
    loadMailboxes(client).then((list) => {
      if (load !== loads.current) return;
      setMailboxes(list);
      setCurrent((c) => c ?? list.find((m) => m.role === 'inbox')?.id ?? list[0]?.id ?? null);
    }, fail);
    setVersion((v) => v + 1);
  };

  useEffect(() => {
    refresh();
    loadIdentities(client).then(setIdentities, fail);
    // Live updates (RFC 8620 7.3): any StateChange reloads the counts and the visible page, at most every 300 ms.
    let pending: number | undefined;
    const stop = client.events(() => {
      window.clearTimeout(pending);
      pending = window.setTimeout(refresh, 300);
    });
    return () => {
      stop();
      window.clearTimeout(pending);
    };
  }, [client]);

  const opens = useRef(0);
  const openEmail = async (e: EmailSummary) => {
    setSettings(false);
    // Only the newest open may show: o pressed twice quickly must not end on the slower answer.
    const openNo = ++opens.current;
    try {
      const full = await loadEmail(client, e.id);
      if (openNo !== opens.current) return;
      setOpen(full);
      if (full && !full.keywords.$seen) {
        await setKeyword(client, [e.id], '$seen', true);
        refresh();
      }
    } catch (err) {
      fail(err);
    }
  };

  const act =
    (work: () => Promise<void>, close = false) =>
    async () => {
      try {
        await work();
        if (close) setOpen(null);
        refresh();
      } catch (e) {
        fail(e);
      }
    };

  const me = client.session.username;
  const trash = byRole('trash');
  const archive = byRole('archive');
  const target = () => open ?? list.current?.current() ?? null;
  const remove = act(async () => {
    const e = target();
    if (!e) return;
    if (!trash || current === trash.id || e.mailboxIds[trash.id]) await destroyEmails(client, [e.id]);
    else await moveEmails(client, [e.id], trash.id);
  }, true);
  const archiveIt = act(async () => {
    const e = target();
    if (e && archive) await moveEmails(client, [e.id], archive.id);
  }, true);
  const reply = (all: boolean) => open && setComposing(replyDraft(open, all, me));
  const forward = () => open && setComposing(forwardDraft(open));

  // Keyboard shortcuts: j/k next/previous, o open, r reply, a reply all, f forward, c compose, / search, # delete, e archive.
  // The actions are set at every render and the listener is added once: a listener re-added by an
  // effect runs late (after paint), so a key typed just after a message showed would act on the
  // message shown before it.
  const shortcuts = useRef<Record<string, () => void>>({});
  shortcuts.current = {
    j: () => list.current?.move(1),
    k: () => list.current?.move(-1),
    o: () => {
      const e = list.current?.current();
      if (e) void openEmail(e);
    },
    r: () => reply(false),
    a: () => reply(true),
    f: forward,
    c: () => setComposing(emptyDraft()),
    '/': () => searchBox.current?.focus(),
    '#': () => void remove(),
    e: () => void archiveIt(),
    Escape: () => (composing ? undefined : setOpen(null)),
  };
  useEffect(() => {
    const onKey = (ev: KeyboardEvent) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
      const action = shortcuts.current[ev.key];
      if (action) {
        ev.preventDefault();
        action();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const signOut = async () => {
    await client.signOut().catch(() => undefined);
    onSignedOut();
  };
  const drop = (mailboxId: string) => (ev: DragEvent) => {
    ev.preventDefault();
    const id = ev.dataTransfer?.getData('application/x-mailroom-email');
    if (id) void act(() => moveEmails(client, [id], mailboxId))();
  };
  const currentBox = mailboxes.find((m) => m.id === current) ?? null;
  const emptiable = currentBox && (currentBox.role === 'trash' || currentBox.role === 'junk');

  return (
    <div class={`app${open || composing || settings ? ' detail' : ''}`}>
      <header class="top">
        <button type="button" class="primary" onClick={() => setComposing(emptyDraft())}>
          Compose
        </button>
        <form role="search" onSubmit={(ev) => (ev.preventDefault(), setSearch(searchInput.trim()))}>
          <input
            ref={searchBox}
            type="search"
            aria-label="Search"
            placeholder="Search"
            value={searchInput}
            onInput={(e) => setSearchInput(e.currentTarget.value)}
          />
        </form>
        <span class="user">{me}</span>
        <button type="button" onClick={() => setSettings(true)}>
          Settings
        </button>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <nav aria-label="Mailboxes" class="mailboxes">
        <ul>
          {mailboxes.map((m) => (
            <li key={m.id} onDragOver={(ev) => ev.preventDefault()} onDrop={drop(m.id)}>
              <a
                href={`#/${encodeURIComponent(m.id)}`}
                aria-current={m.id === current ? 'page' : undefined}
                onClick={(ev) => {
                  ev.preventDefault();
                  setCurrent(m.id);
                  setOpen(null);
                  setSearch('');
                  setSearchInput('');
                }}
              >
                <span class="name">{displayName(m)}</span>
                {m.unreadEmails > 0 && (
                  <span class="count">
                    {m.unreadEmails}
                    <span class="sr-only"> unread</span>
                  </span>
                )}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {error && (
        <p role="alert" class="error" onClick={() => setError(null)}>
          {error}
        </p>
      )}
      <main class="content">
        <section class="list-pane" aria-label={currentBox ? displayName(currentBox) : 'Messages'}>
          {emptiable && (
            <button type="button" onClick={act(() => emptyMailbox(client, currentBox.id))}>
              Empty {displayName(currentBox)}
            </button>
          )}
          {current && (
            <MessageList
              client={client}
              mailboxId={current}
              search={search}
              version={version}
              selectedId={open?.id ?? null}
              onOpen={(e) => void openEmail(e)}
              control={list}
              onError={fail}
            />
          )}
        </section>
        <section class="detail-pane" aria-label="Message">
          {settings ? (
            <Settings client={client} onClose={() => setSettings(false)} onError={fail} />
          ) : composing ? (
            <Composer
              client={client}
              initial={composing}
              identity={identities.find((i) => i.email === me) ?? identities[0] ?? null}
              draftsId={byRole('drafts')?.id ?? null}
              sentId={byRole('sent')?.id ?? null}
              onClose={() => {
                setComposing(null);
                refresh();
              }}
              onError={fail}
            />
          ) : open ? (
            <div class="message-view">
              <div class="toolbar" role="toolbar" aria-label="Message actions">
                <button type="button" class="back" onClick={() => setOpen(null)}>
                  Back
                </button>
                <button type="button" onClick={() => reply(false)}>
                  Reply
                </button>
                <button type="button" onClick={() => reply(true)}>
                  Reply all
                </button>
                <button type="button" onClick={forward}>
                  Forward
                </button>
                <button type="button" onClick={() => void remove()}>
                  Delete
                </button>
                <button
                  type="button"
                  onClick={act(() => setKeyword(client, [open.id], '$seen', false), true)}
                >
                  Mark as unread
                </button>
                <button
                  type="button"
                  aria-pressed={open.keywords.$flagged === true}
                  onClick={act(async () => {
                    const on = !open.keywords.$flagged;
                    await setKeyword(client, [open.id], '$flagged', on);
                    setOpen({ ...open, keywords: { ...open.keywords, $flagged: on } });
                  })}
                >
                  Flag
                </button>
                {archive && (
                  <button type="button" onClick={() => void archiveIt()}>
                    Archive
                  </button>
                )}
                <label>
                  Move to
                  <select
                    value=""
                    onChange={(e) => {
                      const to = e.currentTarget.value;
                      if (to) void act(() => moveEmails(client, [open.id], to), true)();
                    }}
                  >
                    <option value="">…</option>
                    {mailboxes
                      .filter((m) => m.id !== current)
                      .map((m) => (
                        <option key={m.id} value={m.id}>
                          {displayName(m)}
                        </option>
                      ))}
                  </select>
                </label>
              </div>
              <Reader client={client} email={open} />
            </div>
          ) : (
            <p class="empty">Select a message</p>
          )}
        </section>
      </main>
    </div>
  );
}
