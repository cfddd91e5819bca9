// Pure streaming cut for TOP (RFC 1939 7): the header, the blank line after it, then at most n body lines.

const LF = 0x0a;
const CR = 0x0d;

/**
 * Feed the raw message chunk by chunk; each call returns the part to send and whether the cut has been
 * reached (then the caller stops reading the message). State crosses chunk boundaries, so any split of the
 * input gives the same output. A message without a blank line is all header and is sent whole (RFC 1939 7
 * only promises "the headers ... the blank line ... and the number of lines").
 */
export class TopFilter {
  private inHeader = true;
  private lineLength = 0; // octets of the current line so far, excluding a CR right before LF
  private pendingCr = false;
  private left: number;
  private finished = false;

  constructor(bodyLines: number) {
    this.left = bodyLines;
  }

  get done(): boolean {
    return this.finished;
  }

  push(chunk: Buffer): Buffer {
    if (this.finished) return Buffer.alloc(0);
    let i = 0;
    while (i < chunk.length) {
      if (!this.inHeader && this.left === 0) {
        this.finished = true;
        return chunk.subarray(0, i);
      }
      const lf = chunk.indexOf(LF, i);
      if (lf === -1) {
        const tail = chunk.subarray(i);
        // A trailing CR may be the CR of CRLF: do not count it as line content yet.
        if (tail.length > 0) {
          const endsCr = tail[tail.length - 1] === CR;
          this.lineLength += (this.pendingCr ? 1 : 0) + tail.length - (endsCr ? 1 : 0);
          this.pendingCr = endsCr;
        }
        return chunk;
      }
      const seg = lf - i;
      const crBeforeLf = seg > 0 ? chunk[lf - 1] === CR : this.pendingCr;
      const length =
        this.lineLength + (this.pendingCr && seg > 0 ? 1 : 0) + seg - (crBeforeLf && seg > 0 ? 1 : 0);
      this.pendingCr = false;
      this.lineLength = 0;
      if (this.inHeader) {
        if (length === 0) this.inHeader = false; // the blank line ends the header (RFC 5322 2.1)
      } else {
        this.left--;
      }
      i = lf + 1;
    }
    if (!this.inHeader && this.left === 0) this.finished = true;
    return chunk;
  }
}
