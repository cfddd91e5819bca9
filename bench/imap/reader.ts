// Pure IMAP response framing for the bench client: bytes in (any split) -> whole responses, literals kept as bytes.

/** One whole server response: its text with each literal's `{n}` marker left in place, and the literals. */
export interface ImapResponse {
  kind: 'untagged' | 'tagged' | 'continuation';
  /** For tagged responses: the tag; '' otherwise. */
  tag: string;
  /** The response text without the leading "* ", "+ " or "tag ", literals' bytes cut out. */
  text: string;
  literals: Buffer[];
}

const CRLF = Buffer.from('\r\n');
/** Literal announced at the end of a line (RFC 9051 4.3; `~{n}` is a BINARY literal, RFC 3516). */
const LITERAL_AT_END = /~?\{(\d+)\}$/;

/**
 * Frames the server's byte stream into responses. Why not a line splitter: FETCH BODY[] carries
 * literals that may hold CRLFs, and a response is only whole after its last literal. Work is linear
 * in the bytes received (each chunk is scanned once; only an unfinished tail is carried over), so
 * a 100,000-line FETCH costs the client little next to the server.
 */
export class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private parts: string[] = [];
  private literals: Buffer[] = [];
  private need = -1; // bytes of the literal still expected; -1 = reading a line

  constructor(private readonly emit: (r: ImapResponse) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
    for (;;) {
      if (this.need >= 0) {
        if (this.buf.length - this.pos < this.need) return;
        // A copy: the chunk behind it is otherwise kept alive for as long as the literal is.
        this.literals.push(Buffer.from(this.buf.subarray(this.pos, this.pos + this.need)));
        this.pos += this.need;
        this.need = -1;
        continue;
      }
      const nl = this.buf.indexOf(CRLF, this.pos);
      if (nl < 0) return;
      const line = this.buf.toString('latin1', this.pos, nl);
      this.pos = nl + 2;
      this.parts.push(line);
      const first = this.parts.length === 1;
      // A continuation request's text is free-form: a `{n}` at its end is not a literal.
      const literal =
        line.endsWith('}') && !(first && line.startsWith('+')) ? LITERAL_AT_END.exec(line) : null;
      if (literal) {
        this.need = Number(literal[1]);
        continue;
      }
      this.finish();
    }
  }

  private finish(): void {
    const whole = this.parts.length === 1 ? (this.parts[0] as string) : this.parts.join('');
    const literals = this.literals;
    this.parts = [];
    this.literals = [];
    if (whole.startsWith('* ')) {
      this.emit({ kind: 'untagged', tag: '', text: whole.slice(2), literals });
    } else if (whole === '+' || whole.startsWith('+ ')) {
      this.emit({ kind: 'continuation', tag: '', text: whole.slice(2), literals });
    } else {
      const sp = whole.indexOf(' ');
      this.emit({
        kind: 'tagged',
        tag: sp < 0 ? whole : whole.slice(0, sp),
        text: sp < 0 ? '' : whole.slice(sp + 1),
        literals,
      });
    }
  }
}
