// The read view: headers, the plain text or the server-sanitised HTML in a sandboxed frame (no scripts, no same-origin), attachments.
import { useEffect, useState } from 'preact/hooks';
import type { JmapClient } from './jmap.js';
import { formatAddresses } from './compose.js';
import { type EmailFull, loadHtml } from './mail.js';

/**
 * The frame's own policy (it also inherits the page's): nothing but inline styles and data: images, and
 * remote images only once the reader allowed them. No script can run anyway: the sandbox has no
 * allow-scripts, and no allow-same-origin (the frame cannot touch this page or its cookies).
 */
function frameDocument(html: string, allowRemote: boolean): string {
  const img = allowRemote ? 'data: https: http:' : 'data:';
  const csp = `default-src 'none'; img-src ${img}; style-src 'unsafe-inline'; font-src data:`;
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}"><meta name="referrer" content="no-referrer"><style>body{font:14px/1.5 system-ui,sans-serif;margin:0;padding:8px;overflow-wrap:anywhere}img{max-width:100%;height:auto}</style></head><body>${html}</body></html>`;
}

interface Props {
  client: JmapClient;
  email: EmailFull;
}

export function Reader({ client, email }: Props) {
  const [allowRemote, setAllowRemote] = useState(false);
  const [html, setHtml] = useState<{ html: string | null; blockedRemote: number } | null>(null);
  const hasHtml = email.htmlBody.some((p) => p.type === 'text/html');
  useEffect(() => setAllowRemote(false), [email.id]);
  useEffect(() => {
    setHtml(null);
    if (!hasHtml) return;
    loadHtml(client, email.id, allowRemote).then(setHtml, () => setHtml({ html: null, blockedRemote: 0 }));
  }, [email.id, allowRemote, hasHtml]);

  const text = email.textBody
    .map((p) => (p.partId ? (email.bodyValues[p.partId]?.value ?? '') : ''))
    .join('\n');
  return (
    <article class="reader" aria-labelledby="reader-subject">
      <h2 id="reader-subject">{email.subject || '(no subject)'}</h2>
      <dl class="headers">
        <dt>From</dt>
        <dd>{formatAddresses(email.from)}</dd>
        <dt>To</dt>
        <dd>{formatAddresses(email.to)}</dd>
        {email.cc && email.cc.length > 0 && (
          <>
            <dt>Cc</dt>
            <dd>{formatAddresses(email.cc)}</dd>
          </>
        )}
        <dt>Date</dt>
        <dd>{new Date(email.sentAt ?? email.receivedAt).toLocaleString()}</dd>
      </dl>
      {html && html.blockedRemote > 0 && !allowRemote && (
        <p class="remote-note">
          {html.blockedRemote} remote {html.blockedRemote === 1 ? 'image was' : 'images were'} blocked.{' '}
          <button type="button" onClick={() => setAllowRemote(true)}>
            Load remote content
          </button>
        </p>
      )}
      {hasHtml && html?.html ? (
        <iframe
          class="body-frame"
          title="Message body"
          sandbox="allow-popups allow-popups-to-escape-sandbox"
          referrerpolicy="no-referrer"
          srcdoc={frameDocument(html.html, allowRemote)}
        />
      ) : (
        <pre class="body-text">{text}</pre>
      )}
      {email.attachments.length > 0 && (
        <section aria-label="Attachments" class="attachments">
          <h3>Attachments</h3>
          <ul>
            {email.attachments.map((a) =>
              a.blobId ? (
                <li key={a.partId ?? a.blobId}>
                  <a
                    href={client.downloadUrl(a.blobId, a.name ?? 'attachment', a.type)}
                    download={a.name ?? 'attachment'}
                  >
                    {a.name ?? 'attachment'}
                  </a>{' '}
                  <span class="size">({Math.ceil(a.size / 1024)} KB)</span>
                </li>
              ) : null,
            )}
          </ul>
        </section>
      )}
    </article>
  );
}
