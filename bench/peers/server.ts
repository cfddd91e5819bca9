// What the bench needs from a server under test (ours or a peer), whatever runs it.

export interface BenchServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Messages durably stored so far (mailbox rows, Maildir files); NaN when it cannot be counted. */
  storedCount(): number;
  /** Memory in use now, in KiB (RSS of one process, or PSS summed over a process tree). */
  memoryKiB(): number;
  /** What memoryKiB() measures, for the table's footnotes. */
  readonly memoryKind: string;
  /** Stops the server and removes everything it created (unless asked to keep it). */
  stop(): Promise<void>;
}
