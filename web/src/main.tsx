// The web mail's entry: resumes the browser's session (its cookie) or shows the sign-in form.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { JmapClient } from './jmap.js';
import { MailApp } from './app.js';
import { SignIn } from './sign-in.js';

function Root() {
  const [client, setClient] = useState<JmapClient | null | undefined>(undefined);
  useEffect(() => {
    JmapClient.resume().then(setClient, () => setClient(null));
  }, []);
  if (client === undefined) return <p class="loading">Loading…</p>;
  if (client === null) return <SignIn onSignedIn={setClient} />;
  return <MailApp client={client} onSignedOut={() => setClient(null)} />;
}

render(<Root />, document.getElementById('app')!);
