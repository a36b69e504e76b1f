/** Where a command writes: `process.stdout` fits; tests pass a collector. */
export interface OutputStream {
  write(chunk: string): unknown;
  /** True on a terminal: live progress with ANSI control codes; otherwise plain lines only. */
  readonly isTTY?: boolean | undefined;
  /** Terminal width, when known. */
  readonly columns?: number | undefined;
}

/** The outside world of a command: its two output streams and how it reads files. */
export interface CliIO {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Read a UTF-8 text file; default `node:fs/promises` `readFile`. */
  readonly readFile?: ((path: string) => Promise<string>) | undefined;
  /** Write a UTF-8 text file (the HTML report); default `node:fs/promises` `writeFile`. */
  readonly writeFile?: ((path: string, text: string) => Promise<void>) | undefined;
  /** Wait `ms` milliseconds (pacing of the live view); default a timer. */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** Bad command-line input: the message is shown with the usage, and the exit code is 2. */
export class UsageError extends Error {
  /** @param message - what is wrong with the arguments, in one sentence */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Exit codes of the `charm-upgrade` command. */
export const EXIT = {
  /** As expected: upgraded / compatible. */
  ok: 0,
  /** Not as expected: the rehearsal did not end as it should / not compatible. */
  failed: 1,
  /** Bad arguments or unreadable input. */
  usage: 2,
} as const;
