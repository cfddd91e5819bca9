// Streaming, pure transform for outgoing message bodies: CRLF normalisation and DATA dot-stuffing (RFC 5321 4.5.2).

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');

/**
 * Turns a message body into what goes on the wire, chunk by chunk, with state kept across chunk
 * boundaries. Every bare CR and bare LF becomes CRLF: a receiver that (wrongly) ends DATA at
 * `<LF>.<LF>` or `<CR>.<CR>` must never see such a sequence from us, or we would forward an SMTP
 * smuggling payload (CVE-2023-51764 family). With `dotStuff` (DATA), a line starting with "." gets
 * one more (RFC 5321 4.5.2) and `end()` appends the terminating `.CRLF`; without it (BDAT, RFC 3030)
 * only line endings are normalised.
 */
export class BodyEncoder {
  private atLineStart = true;
  private pendingCr = false;
  private total = 0;

  constructor(private readonly dotStuff: boolean) {}

  /** Octets produced so far. */
  get outputSize(): number {
    return this.total;
  }

  write(chunk: Buffer): Buffer {
    // Worst case each input byte becomes two (LF -> CRLF, "." -> ".."), plus a held CR.
    const out = Buffer.allocUnsafe(chunk.length * 2 + 2);
    let o = 0;
    let i = 0;
    if (this.pendingCr) {
      // The CR closing the previous chunk: a line end whether or not a LF follows.
      this.pendingCr = false;
      out[o++] = CR;
      out[o++] = LF;
      this.atLineStart = true;
      if (chunk.length > 0 && chunk[0] === LF) i = 1;
    }
    let runStart = i;
    for (; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === CR || b === LF) {
        o += chunk.copy(out, o, runStart, i);
        if (b === CR) {
          if (i + 1 === chunk.length) {
            // Cannot tell CRLF from bare CR yet: decide when the next byte arrives.
            this.pendingCr = true;
            runStart = i + 1;
            continue;
          }
          if (chunk[i + 1] === LF) i++;
        }
        out[o++] = CR;
        out[o++] = LF;
        this.atLineStart = true;
        runStart = i + 1;
        continue;
      }
      if (this.atLineStart) {
        this.atLineStart = false;
        if (b === DOT && this.dotStuff) {
          o += chunk.copy(out, o, runStart, i);
          out[o++] = DOT;
          runStart = i; // the original dot is copied with the run
        }
      }
    }
    o += chunk.copy(out, o, runStart, chunk.length);
    this.total += o;
    return out.subarray(0, o);
  }

  /** Ends the body: a last line without CRLF gets one (RFC 5321 4.1.1.4), then `.CRLF` when dot-stuffing. */
  end(): Buffer {
    const parts: Buffer[] = [];
    if (this.pendingCr || !this.atLineStart) parts.push(CRLF);
    this.pendingCr = false;
    this.atLineStart = true;
    if (this.dotStuff) parts.push(Buffer.from('.\r\n'));
    const out = Buffer.concat(parts);
    this.total += out.length;
    return out;
  }
}

/** Convenience for tests and small bodies: the whole body encoded at once. */
export function encodeBody(body: Buffer, dotStuff: boolean): Buffer {
  const enc = new BodyEncoder(dotStuff);
  return Buffer.concat([enc.write(body), enc.end()]);
}
