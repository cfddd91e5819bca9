// The composer: "To", "Cc", "Subject", "Message", attachments by blob upload, drafts saved while typing, "Send".
import { useEffect, useRef, useState } from 'preact/hooks';
import type { JmapClient } from './jmap.js';
import { type Draft, saveDraft, send } from './compose.js';
import type { Identity } from './mail.js';

/** A draft is saved this long after the last keystroke (and on close). */
const SAVE_DELAY_MS = 1500;

interface Props {
  client: JmapClient;
  initial: Draft;
  identity: Identity | null;
  draftsId: string | null;
  sentId: string | null;
  onClose: (sent: boolean) => void;
  onError: (e: unknown) => void;
}

export function Composer({ client, initial, identity, draftsId, sentId, onClose, onError }: Props) {
  const [draft, setDraft] = useState<Draft>(initial);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const savedId = useRef<string | null>(null);
  const dirty = useRef(false);
  const saving = useRef<Promise<void>>(Promise.resolve());
  const timer = useRef<number | undefined>(undefined);

  const update = (patch: Partial<Draft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    dirty.current = true;
  };

  // Drafts saved while typing: one Email/set after a pause, replacing the previous save, one at a time.
  useEffect(() => {
    if (!dirty.current || !identity || !draftsId) return;
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => {
      saving.current = saving.current.then(async () => {
        try {
          savedId.current = await saveDraft(client, draft, identity, draftsId, savedId.current);
          dirty.current = false;
          setStatus(`Draft saved ${new Date().toLocaleTimeString()}`);
        } catch (e) {
          setStatus('Draft not saved');
          onError(e);
        }
      });
    }, SAVE_DELAY_MS);
    return () => window.clearTimeout(timer.current);
  }, [draft]);

  const attach = async (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) {
      setStatus(`Uploading ${file.name}…`);
      try {
        const blob = await client.upload(file);
        update({
          attachments: [
            ...draft.attachments,
            { blobId: blob.blobId, name: file.name, type: blob.type, size: blob.size },
          ],
        });
        setStatus(`${file.name} attached`);
      } catch (e) {
        onError(e);
      }
    }
  };

  const submit = async (ev: Event) => {
    ev.preventDefault();
    if (!identity || !draftsId) return onError(new Error('no identity or Drafts mailbox to send from'));
    window.clearTimeout(timer.current);
    setBusy(true);
    await saving.current;
    try {
      await send(client, draft, identity, draftsId, sentId, savedId.current);
      onClose(true);
    } catch (e) {
      onError(e);
      setBusy(false);
    }
  };

  return (
    <section class="composer" aria-label="New message">
      <form onSubmit={submit}>
        <label>
          To
          <input
            type="text"
            value={draft.to}
            onInput={(e) => update({ to: e.currentTarget.value })}
            autocomplete="off"
          />
        </label>
        <label>
          Cc
          <input
            type="text"
            value={draft.cc}
            onInput={(e) => update({ cc: e.currentTarget.value })}
            autocomplete="off"
          />
        </label>
        <label>
          Subject
          <input
            type="text"
            value={draft.subject}
            onInput={(e) => update({ subject: e.currentTarget.value })}
          />
        </label>
        <label class="message">
          Message
          <textarea rows={14} value={draft.body} onInput={(e) => update({ body: e.currentTarget.value })} />
        </label>
        {draft.attachments.length > 0 && (
          <ul class="attachments" aria-label="Attachments">
            {draft.attachments.map((a, i) => (
              <li key={a.blobId}>
                {a.name}{' '}
                <button
                  type="button"
                  aria-label={`Remove ${a.name}`}
                  onClick={() => update({ attachments: draft.attachments.filter((_, j) => j !== i) })}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        <div class="actions">
          <button type="submit" disabled={busy}>
            Send
          </button>
          <label class="attach">
            Attach files
            <input type="file" multiple onChange={(e) => void attach(e.currentTarget.files)} />
          </label>
          <button type="button" onClick={() => onClose(false)}>
            Close
          </button>
          <span role="status" class="status">
            {status}
          </span>
        </div>
      </form>
    </section>
  );
}
