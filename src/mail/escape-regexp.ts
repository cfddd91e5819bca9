// A text as a regular expression that matches it literally (IMAP SEARCH's header needles, JMAP's search snippets).

/** `text` with every character a RegExp gives a meaning to escaped, so `new RegExp(escapeRegExp(text))` finds `text` itself. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
