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

/**
 * The web mail's pages: scripts, styles, fonts and API calls only from this origin, no inline script
 * (no 'unsafe-inline' or 'unsafe-eval' in script-src), no plugins, no <base>, forms post only here, and
 * never framed. Two allowances exist for message HTML, which is shown in a sandboxed srcdoc frame that
 * inherits this policy (HTML "policy container" of about:srcdoc): 'unsafe-inline' styles (message
 * formatting is inline CSS; scripts stay blocked) and data:/http(s) images (a cid: image arrives as
 * data:, and remote images load once the reader allows them for that message; until then the server
 * removed them and the frame's own stricter policy blocks any that slipped through).
 */
export const WEB_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: https: http:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of the web mail's files besides the CSP (pages get it; other files get API_SECURITY_HEADERS' CSP). */
export const WEB_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

/** HSTS over TLS only (RFC 6797 7.2: ignored over plain HTTP); a year, as the RFC's examples. */
export const HSTS = 'max-age=31536000';
