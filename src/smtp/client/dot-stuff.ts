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
    // Runs between line ends are copied whole; the next CR and LF are found with indexOf (native) and
    // remembered, so each byte is scanned once: a byte-by-byte JS loop was 3% of the relay's CPU.
    const len = chunk.length;
    let runStart = i;
    let nextCr = chunk.indexOf(CR, i);
    let nextLf = chunk.indexOf(LF, i);
    while (i < len) {
      if (this.atLineStart) {
        this.atLineStart = false;
        if (chunk[i] === DOT && this.dotStuff) {
          o += chunk.copy(out, o, runStart, i);
          out[o++] = DOT;
          runStart = i; // the original dot is copied with the run
        }
      }
      if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i);
      if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i);
      const e = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf);
      if (e === -1) break;
      o += chunk.copy(out, o, runStart, e);
      if (chunk[e] === CR) {
        if (e + 1 === len) {
          // Cannot tell CRLF from bare CR yet: decide when the next byte arrives.
          this.pendingCr = true;
          runStart = len;
          break;
        }
        i = chunk[e + 1] === LF ? e + 2 : e + 1;
      } else {
        i = e + 1;
      }
      out[o++] = CR;
      out[o++] = LF;
      this.atLineStart = true;
      runStart = i;
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
