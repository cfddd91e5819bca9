// Settings: the vacation reply (VacationResponse, RFC 8621 8) and identities (Identity/set, RFC 8621 6).
import { useEffect, useState } from 'preact/hooks';
import type { JmapClient } from './jmap.js';
import {
  type Identity,
  loadIdentities,
  loadVacation,
  saveIdentity,
  saveVacation,
  type Vacation,
} from './mail.js';

export function Settings({
  client,
  onClose,
  onError,
}: {
  client: JmapClient;
  onClose: () => void;
  onError: (e: unknown) => void;
}) {
  const [vacation, setVacation] = useState<Vacation | null>(null);
  const [identities, setIdentities] = useState<Identity[]>([]);
  const [status, setStatus] = useState('');
  useEffect(() => {
    loadVacation(client).then(setVacation, onError);
    loadIdentities(client).then(setIdentities, onError);
  }, []);

  const saveAll = async (ev: Event) => {
    ev.preventDefault();
    try {
      if (vacation) await saveVacation(client, vacation);
      for (const i of identities)
        await saveIdentity(client, i.id, { name: i.name, textSignature: i.textSignature });
      setStatus('Saved');
    } catch (e) {
      onError(e);
    }
  };
  const setIdentity = (id: string, patch: Partial<Identity>) =>
    setIdentities((list) => list.map((i) => (i.id === id ? { ...i, ...patch } : i)));

  return (
    <section class="settings" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <form onSubmit={saveAll}>
        <fieldset>
          <legend>Vacation reply</legend>
          {vacation && (
            <>
              <label class="inline">
                <input
                  type="checkbox"
                  checked={vacation.isEnabled}
                  onChange={(e) => setVacation({ ...vacation, isEnabled: e.currentTarget.checked })}
                />
                Send a vacation reply
              </label>
              <label>
                Vacation subject
                <input
                  type="text"
                  value={vacation.subject ?? ''}
                  onInput={(e) => setVacation({ ...vacation, subject: e.currentTarget.value || null })}
                />
              </label>
              <label>
                Vacation message
                <textarea
                  rows={5}
                  value={vacation.textBody ?? ''}
                  onInput={(e) => setVacation({ ...vacation, textBody: e.currentTarget.value || null })}
                />
              </label>
            </>
          )}
        </fieldset>
        <fieldset>
          <legend>Identities</legend>
          {identities.map((i) => (
            <div key={i.id} class="identity">
              <p>{i.email}</p>
              <label>
                Name for {i.email}
                <input
                  type="text"
                  value={i.name}
                  onInput={(e) => setIdentity(i.id, { name: e.currentTarget.value })}
                />
              </label>
              <label>
                Signature for {i.email}
                <textarea
                  rows={3}
                  value={i.textSignature}
                  onInput={(e) => setIdentity(i.id, { textSignature: e.currentTarget.value })}
                />
              </label>
            </div>
          ))}
        </fieldset>
        <div class="actions">
          <button type="submit">Save settings</button>
          <button type="button" onClick={onClose}>
            Close settings
          </button>
          <span role="status">{status}</span>
        </div>
      </form>
    </section>
  );
}
