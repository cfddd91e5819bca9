// Pure, stream-oriented SMTP input receivers (command lines, DATA with dot-unstuffing, BDAT chunks); any chunk split works.

/**
 * Every receiver has the same shape: `take(input, offset)` consumes bytes from `input[offset..]` until it has
 * one thing to report or the input is used up, and says how many bytes it consumed. Unconsumed bytes belong
 * to whatever receiver comes next (pipelining: a command, then DATA, then more commands, in one packet).
 */

export type LineEvent = { kind: 'line'; line: Buffer } | { kind: 'too-long' };

/**
 * Command-mode lines. A line ends at LF (an optional CR before it is stripped); the limit counts the
 * terminator. An over-long line is not buffered: it is skipped up to its end and reported once.
 */
export class LineReceiver {
  private partial: Buffer[] = [];
  private partialLength = 0;
  private discarding = false;

  constructor(private readonly maxLength: number) {}

  take(input: Buffer, offset: number): { consumed: number; event?: LineEvent } {
    const lf = input.indexOf(0x0a, offset);
    if (lf < 0) {
      const piece = input.subarray(offset);
      if (!this.discarding) {
        if (this.partialLength + piece.length > this.maxLength) {
          this.discard();
        } else if (piece.length > 0) {
          // Copy: the caller's buffer may be reused, and a partial line is small (bounded by maxLength).
          this.partial.push(Buffer.from(piece));
          this.partialLength += piece.length;
        }
      }
      return { consumed: input.length - offset };
    }
    const consumed = lf + 1 - offset;
    if (this.discarding) {
      this.discarding = false;
      return { consumed, event: { kind: 'too-long' } };
    }
    const length = this.partialLength + consumed;
    if (length > this.maxLength) {
      this.partial = [];
      this.partialLength = 0;
      return { consumed, event: { kind: 'too-long' } };
    }
    let line =
      this.partial.length === 0
        ? input.subarray(offset, lf)
        : Buffer.concat([...this.partial, input.subarray(offset, lf)]);
    this.partial = [];
    this.partialLength = 0;
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    return { consumed, event: { kind: 'line', line } };
  }

  /** True when part of a line has been received (used to tell an idle client from a slow one). */
  get pending(): boolean {
    return this.partialLength > 0 || this.discarding;
  }

  private discard(): void {
    this.partial = [];
    this.partialLength = 0;
    this.discarding = true;
  }
}

export type DataFailure = 'line-too-long' | 'too-big';

export interface DataTake {
  consumed: number;
  /** Unstuffed body bytes to pass on, in order (views into the input or small constants). */
  chunks: Buffer[];
  /** Set once <CRLF>.<CRLF> has been seen; `failure` when the message must be refused after the dot. */
  end?: { failure?: DataFailure };
}

// Where we are relative to the start of a line (RFC 5321 4.5.2 transparency).
const enum DataState {
  LineStart, // just after CRLF (or at the very start: the DATA command's CRLF precedes the body)
  Middle,
  Cr, // just emitted a CR; a LF now completes a CRLF
  Dot, // a '.' at line start, held back
  DotCr, // '.' CR at line start, held back: a LF now ends the data
}

const CR = Buffer.from('\r');

/**
 * DATA receiver: removes transparency dots and ends ONLY at <CRLF>.<CRLF>. Bare LF, bare CR, <LF>.<LF>,
 * <LF>.<CRLF> and <CR>.<CR> are ordinary body bytes, so nothing can be smuggled past the end of the data.
 * Text lines over `maxLine` octets (the RFC 5321 4.5.3.1.6 1000 with CRLF by default; the session passes
 * the larger DATA_LINE_MAX of config/limits.ts) or a body over `maxSize` make the message fail; the rest is
 * then scanned for the end but not kept, and the refusal is answered after the final dot.
 */
export class DataReceiver {
  private state: DataState = DataState.LineStart;
  private lineLength = 0;
  private size = 0;
  private failure: DataFailure | undefined;
  private done = false;

  constructor(
    private readonly maxSize: number,
    private readonly maxLine = 1000,
  ) {}

  /** Octets of (unstuffed) body received so far. */
  get received(): number {
    return this.size;
  }

  take(input: Buffer, offset: number): DataTake {
    if (this.done) return { consumed: 0, chunks: [], end: this.endInfo() };
    const chunks: Buffer[] = [];
    let segmentStart = offset; // start of the pending run of bytes to pass on unchanged
    let line = this.lineLength;
    let i = offset;
    for (; i < input.length; i++) {
      if (this.state === DataState.Middle || this.state === DataState.Cr) {
        // Inside a line only its end matters: jump to the next LF natively instead of a byte-by-byte loop
        // (the loop was the receiver's main cost). The switch below handles the other states byte by byte.
        const lf = input.indexOf(0x0a, i);
        const end = lf < 0 ? input.length : lf;
        if (end > i) {
          line += end - i;
          this.state = input[end - 1] === 0x0d ? DataState.Cr : DataState.Middle;
          if (line > this.maxLine && this.failure === undefined) this.failure = 'line-too-long';
        }
        if (lf < 0) {
          i = input.length;
          break;
        }
        // The LF itself: counted in the line; only CRLF (not a bare LF) starts a new line (RFC 5321 4.5.2).
        line++;
        if (line > this.maxLine && this.failure === undefined) this.failure = 'line-too-long';
        this.state = this.state === DataState.Cr ? DataState.LineStart : DataState.Middle;
        line = 0;
        i = lf;
        continue;
      }
      const b = input[i] as number;
      switch (this.state) {
        case DataState.LineStart:
          if (b === 0x2e) {
            this.emit(chunks, input.subarray(segmentStart, i));
            segmentStart = i + 1; // hold the dot back
            this.state = DataState.Dot;
            continue;
          }
          this.state = b === 0x0d ? DataState.Cr : DataState.Middle;
          break;
        case DataState.Dot:
          // The held dot is dropped either way (RFC 5321 4.5.2: a leading dot is deleted).
          if (b === 0x0d) {
            segmentStart = i + 1; // hold the CR back too
            this.state = DataState.DotCr;
            continue;
          }
          this.state = DataState.Middle;
          break;
        case DataState.DotCr:
          if (b === 0x0a) {
            this.done = true;
            this.lineLength = line;
            return { consumed: i + 1 - offset, chunks, end: this.endInfo() };
          }
          // ".\r" then something else: the CR was data after a stuffed dot.
          this.emit(chunks, CR);
          line++;
          segmentStart = i;
          this.state = b === 0x0d ? DataState.Cr : DataState.Middle;
          break;
      }
      // Here byte b is body data. Line length counts octets up to and including a LF (bare LF too,
      // leniently: a bare-LF "line" is no threat to anyone's buffers), so CRLF is part of the 1000.
      line++;
      if (line > this.maxLine && this.failure === undefined) this.failure = 'line-too-long';
      if (b === 0x0a) line = 0;
    }
    this.lineLength = line;
    if (this.state !== DataState.Dot && this.state !== DataState.DotCr) {
      this.emit(chunks, input.subarray(segmentStart, i));
    }
    return { consumed: i - offset, chunks };
  }

  private endInfo(): { failure?: DataFailure } {
    return this.failure ? { failure: this.failure } : {};
  }

  /** Counts a run of body bytes against the size limit and passes it on unless the message already failed. */
  private emit(chunks: Buffer[], bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.size += bytes.length;
    if (this.size > this.maxSize && this.failure === undefined) this.failure = 'too-big';
    if (this.failure === undefined) chunks.push(bytes);
  }
}

/** BDAT receiver (RFC 3030): exactly `size` octets, no transparency, no line rules. */
export class BdatReceiver {
  private remaining: number;

  constructor(size: number) {
    this.remaining = size;
  }

  get done(): boolean {
    return this.remaining === 0;
  }

  take(input: Buffer, offset: number): { consumed: number; chunk: Buffer | undefined; done: boolean } {
    const n = Math.min(this.remaining, input.length - offset);
    this.remaining -= n;
    return {
      consumed: n,
      chunk: n > 0 ? input.subarray(offset, offset + n) : undefined,
      done: this.remaining === 0,
    };
  }
}
