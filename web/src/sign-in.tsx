// The sign-in form: "Email", "Password", "Sign in" (CONTRACT.md names).
import { useState } from 'preact/hooks';
import { JmapClient } from './jmap.js';

export function SignIn({ onSignedIn }: { onSignedIn: (c: JmapClient) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    const result = await JmapClient.signIn(email.trim(), password).catch((e: unknown) => String(e));
    setBusy(false);
    if (typeof result === 'string') setError(result);
    else onSignedIn(result);
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Mailroom</h1>
        <label>
          Email
          <input
            type="email"
            name="email"
            autocomplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
