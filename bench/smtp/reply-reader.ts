// Pure SMTP reply reader for the load generator: bytes in, complete (possibly multi-line) replies out.
// RFC 5321 4.2: a reply is one or more lines "NNN-text" ending with a line "NNN text" (or "NNN").

export interface SmtpReply {
  code: number;
  lines: string[]; // the text after "NNN-" / "NNN ", one entry per line
}

/** A reply line that is not "NNN[ -]...": the server is broken, the bench must stop, not guess. */
export class ReplySyntaxError extends Error {
  constructor(readonly line: string) {
    super(`bad SMTP reply line: ${JSON.stringify(line.slice(0, 80))}`);
  }
}

// RFC 5321 4.5.3.1.5 limits a reply line to 512 octets; allow slack but refuse unbounded growth.
const MAX_LINE = 4096;

export class ReplyReader {
  private pending = '';
  private lines: string[] = [];
  private code = 0;

  /** Feeds bytes; returns every reply completed by them, in order. Throws ReplySyntaxError on garbage. */
  push(chunk: Buffer | string): SmtpReply[] {
    this.pending += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const out: SmtpReply[] = [];
    let start = 0;
    for (;;) {
      const nl = this.pending.indexOf('\n', start);
      if (nl < 0) break;
      // Tolerate a bare LF from a sloppy server (the bench measures, it does not police the peer).
      const end = nl > start && this.pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      const reply = this.line(this.pending.slice(start, end));
      if (reply) out.push(reply);
      start = nl + 1;
    }
    this.pending = this.pending.slice(start);
    if (this.pending.length > MAX_LINE) throw new ReplySyntaxError(this.pending);
    return out;
  }

  private line(line: string): SmtpReply | null {
    const m = /^([2-5][0-9][0-9])([ -]|$)(.*)$/.exec(line);
    if (!m) throw new ReplySyntaxError(line);
    const code = Number(m[1]);
    // RFC 5321 4.2.1: every line of a multi-line reply carries the same code.
    if (this.lines.length > 0 && code !== this.code) throw new ReplySyntaxError(line);
    this.code = code;
    this.lines.push(m[3] ?? '');
    if (m[2] === '-') return null;
    const reply = { code, lines: this.lines };
    this.lines = [];
    return reply;
  }
}
