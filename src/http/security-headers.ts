// Headers every HTTP response carries: no sniffing, no framing, no referrer, nothing cached, a strict CSP for API answers.

/**
 * For JSON, problem details and downloads (none of them is a page): nothing may load or run
 * (CSP default-src 'none', sandbox), they may not be framed (frame-ancestors; X-Frame-Options for
 * old browsers), content types are not sniffed (a download served as text/plain stays text), and
 * other origins may not embed them (CORP). Authenticated answers are never cached (no-store).
 * The web mail's pages get their own CSP (static.ts, later).
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/** RFC 6266 / RFC 8187 Content-Disposition for a download: always attachment, the name in UTF-8 and an ASCII fallback. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** A media type as RFC 9110 8.3.1 writes it (type "/" subtype, optional parameters); used to vet `accept=`. */
export function isMediaType(text: string): boolean {
  const token = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
  const param = `\\s*;\\s*${token}=(?:${token}|"[^"\\\\\\r\\n]*")`;
  return text.length <= 255 && new RegExp(`^${token}/${token}(?:${param})*$`).test(text);
}
