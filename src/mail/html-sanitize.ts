// Message HTML made harmless for the web mail's sandboxed frame (sanitize-html), pure: no scripts, no forms, no remote loads unless allowed.
import { createRequire } from 'node:module';
import type SanitizeHtml from 'sanitize-html';

/**
 * sanitize-html (CommonJS) is loaded at the first message shown, not at start: with its HTML parser it
 * costs ~14 MiB that an IMAP/SMTP-only server never needs. require() keeps this function synchronous.
 */
let loaded: typeof SanitizeHtml | null = null;
function sanitizeHtml(...args: Parameters<typeof SanitizeHtml>): string {
  loaded ??= createRequire(import.meta.url)('sanitize-html') as typeof SanitizeHtml;
  return loaded(...args);
}

export interface SanitizeOptions {
  /** The reader asked to load remote images and CSS for this message (off by default). */
  allowRemote: boolean;
  /** A Content-ID (without "cid:" and angle brackets) -> a data: URI of that image part, or null (RFC 2392). */
  resolveCid: (contentId: string) => string | null;
}

export interface SanitizedHtml {
  /** An HTML fragment: a <style> of vetted CSS (if any), then the vetted body. */
  html: string;
  /** Remote references (images, CSS url(), @import) removed because remote content was not allowed. */
  blockedRemote: number;
}

/**
 * Tags kept: text formatting, lists, tables, images and links. Everything that runs, fetches, submits,
 * frames or changes how URLs resolve is absent: script, svg and math (scripts and foreign content),
 * iframe/object/embed, form and its controls, base, meta (refresh), link (stylesheets), audio/video.
 */
const ALLOWED_TAGS = [
  'a', 'abbr', 'address', 'b', 'bdi', 'bdo', 'big', 'blockquote', 'br', 'caption', 'center', 'cite',
  'code', 'col', 'colgroup', 'dd', 'del', 'details', 'dfn', 'div', 'dl', 'dt', 'em', 'figcaption',
  'figure', 'font', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'mark',
  'ol', 'p', 'pre', 'q', 's', 'samp', 'small', 'span', 'strike', 'strong', 'sub', 'summary', 'sup',
  'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'tt', 'u', 'ul', 'var', 'wbr',
]; // prettier-ignore

/** Presentational attributes only: no event handlers, no `background` (a remote image), no `id`/`name` lookups. */
const COMMON_ATTRIBUTES = [
  'style', 'class', 'align', 'valign', 'width', 'height', 'bgcolor', 'color', 'border', 'cellpadding',
  'cellspacing', 'dir', 'lang', 'title', 'colspan', 'rowspan', 'face', 'size', 'start', 'type',
]; // prettier-ignore

/** Discarded with their text, not just their tags (a script's source is not message text). */
const NON_TEXT_TAGS = ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'template', 'xmp', 'iframe', 'object', 'svg', 'math', 'select', 'button', 'head']; // prettier-ignore

/** A URL that would be fetched from the network: http(s) or protocol-relative (scheme-less "//host"). */
function isRemote(url: string): boolean {
  return /^(?:https?:)?\/\//i.test(url.trim());
}

/** "cid:part1@example" -> "part1@example" (RFC 2392: the URL form is percent-encoded, no angle brackets). */
function cidOf(url: string): string | null {
  const m = /^\s*cid:(.+)$/i.exec(url);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]!.trim());
  } catch {
    return m[1]!.trim();
  }
}

/**
 * CSS (a style attribute's declarations or a <style> block's rules) with everything that runs or fetches
 * neutralised: escapes are decoded first so "\75 rl(" cannot hide a url(; comments go; @import, IE's
 * expression() and behavior, -moz-binding and javascript:/vbscript: are defused; url() keeps only a
 * resolved cid: image, or a remote URL when allowed; image-set()/cross-fade() (URLs without url()) go.
 */
export function cleanCss(css: string, options: SanitizeOptions, counter: { blocked: number }): string {
  let text = css
    .replace(/\\\r?\n/g, '')
    .replace(/\\([0-9a-fA-F]{1,6})[ \t\r\n\f]?/g, (_m, hex: string) => {
      const code = parseInt(hex, 16);
      return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)
        ? String.fromCodePoint(code)
        : '\uFFFD';
    })
    .replace(/\\(.)/g, '$1')
    .replace(/\/\*[\s\S]*?(?:\*\/|$)/g, ' ')
    .replace(/</g, ' '); // never anything that could close the <style> element or open a tag
  text = text.replace(/@import[^;]*;?/gi, () => {
    counter.blocked++;
    return '';
  });
  text = text
    .replace(/@(?:charset|namespace)[^;]*;?/gi, '')
    .replace(/expression\s*\(/gi, 'blocked(')
    .replace(/(?:-webkit-|-moz-)?(?:image-set|cross-fade)\s*\(/gi, 'blocked(')
    .replace(/(?:behavior|-moz-binding)\s*:/gi, 'blocked:')
    .replace(/(?:java|vb)script\s*:/gi, 'blocked:');
  // A remote URL as a bare string (image-set("https://..."), @font-face src lists, garbage) is emptied:
  // only url() below may carry one, and only when allowed.
  text = text.replace(/(?<!url\s*\(\s*)(["'])\s*(?:https?:)?\/\/[^"']*\1/gi, '""');
  text = text.replace(
    /url\s*\(\s*(?:"([^"]*)"|'([^']*)'|([^)]*?))\s*\)/gi,
    (_m, dq?: string, sq?: string, bare?: string) => {
      const url = (dq ?? sq ?? bare ?? '').trim();
      const cid = cidOf(url);
      if (cid !== null) {
        const data = options.resolveCid(cid);
        return data ? `url("${data}")` : 'none';
      }
      if (isRemote(url)) {
        if (!options.allowRemote) {
          counter.blocked++;
          return 'none';
        }
        return `url("${url.replace(/^\/\//, 'https://').replace(/["\\\s]/g, encodeURIComponent)}")`;
      }
      return 'none'; // data:, javascript:, relative (would resolve against our origin) and anything else
    },
  );
  // A url( that the pattern above did not take (unbalanced) is not left for the browser to guess at.
  return text.replace(/url\s*\((?!")/gi, 'blocked(');
}

/** The <style> blocks' text, taken out before sanitising (sanitize-html would pass it through unvetted). */
function extractStyles(html: string): { styles: string[]; rest: string } {
  const styles: string[] = [];
  const rest = html.replace(/<style\b[^>]*>([\s\S]*?)(?:<\/style\s*>|$)/gi, (_m, css: string) => {
    styles.push(css);
    return '';
  });
  return { styles, rest };
}

/** Sanitises one message's HTML (any size: callers bound it) for display in a sandboxed frame. */
export function sanitizeMessageHtml(html: string, options: SanitizeOptions): SanitizedHtml {
  const counter = { blocked: 0 };
  const { styles, rest } = extractStyles(html);
  const body = sanitizeHtml(rest, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: {
      '*': COMMON_ATTRIBUTES,
      a: ['href', 'target', 'rel'],
      img: ['src', 'alt'],
    },
    // Links: the web and mail only; javascript:, data:, vbscript: and the rest are dropped.
    allowedSchemes: ['http', 'https', 'mailto'],
    // img src is only ever what transformTags put there: a data: URI made from the message's own part
    // (the message's own data: URLs are dropped there), or an allowed remote URL.
    allowedSchemesByTag: { img: ['data', 'http', 'https'] },
    allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    nonTextTags: NON_TEXT_TAGS,
    parseStyleAttributes: true,
    transformTags: {
      '*': (tagName, attribs) => {
        const out = { ...attribs };
        if (out.style !== undefined) out.style = cleanCss(out.style, options, counter);
        return { tagName, attribs: out };
      },
      a: (tagName, attribs) => ({
        tagName,
        // A new tab that cannot reach back to us (window.opener) and is not told where it came from.
        attribs: { ...attribs, target: '_blank', rel: 'noopener noreferrer' },
      }),
      img: (tagName, attribs) => {
        const out: Record<string, string> = { ...attribs };
        delete out.src;
        const src = attribs.src ?? '';
        const cid = cidOf(src);
        if (cid !== null) {
          const data = options.resolveCid(cid);
          if (data) out.src = data;
        } else if (isRemote(src)) {
          if (options.allowRemote) out.src = src.trim().replace(/^\/\//, 'https://');
          else counter.blocked++;
        }
        return { tagName, attribs: out };
      },
    },
  });
  const css = styles.map((s) => cleanCss(s, options, counter).trim()).filter((s) => s.length > 0);
  const head = css.length > 0 ? `<style>${css.join('\n')}</style>` : '';
  return { html: head + body, blockedRemote: counter.blocked };
}
