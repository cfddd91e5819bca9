// A connection's session ends once: when its socket has closed and no command of it is still running.

/**
 * A client can hang up while its command runs (a LOGIN waiting for its password hash, a commit). The
 * session is not over until that command is: its end (the `session-end` log line, the server dropping
 * the session) waits for it, and meanwhile `finishing` tells shutdown to keep the store open.
 */
export class SessionEnd {
  private pending = false;
  private reported = false;

  constructor(private readonly report: () => void) {}

  /** The socket closed; `busy`: a command still runs, and its end calls commandDone. */
  socketClosed(busy: boolean): void {
    if (busy) this.pending = true;
    else this.fire();
  }

  /** A command finished: if the socket closed meanwhile, the session ends now. */
  commandDone(): void {
    if (this.pending) this.fire();
  }

  /** The socket has closed but a command still runs. */
  get finishing(): boolean {
    return this.pending;
  }

  private fire(): void {
    this.pending = false;
    if (this.reported) return;
    this.reported = true;
    this.report();
  }
}
