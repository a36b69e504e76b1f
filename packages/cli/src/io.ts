/** Where a command writes: `process.stdout` fits; tests pass a collector. */
export interface OutputStream {
  write(chunk: string): unknown;
  /** True on a terminal: live progress with ANSI control codes; otherwise plain lines only. */
  readonly isTTY?: boolean | undefined;
  /** Terminal width, when known. */
  readonly columns?: number | undefined;
  /**
   * Terminal height, when known: the live view never draws more lines than fit, since a frame taller than the
   * screen scrolls its top off and can no longer be redrawn in place (24 is assumed on a terminal that does not say).
   */
  readonly rows?: number | undefined;
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

/**
 * A bad value for one option, e.g. `--units -3`: names the option, what was given and how to fix it, so the message
 * (shown with the usage, exit 2) tells the operator what to type instead. A {@link UsageError}, so callers that
 * catch usage errors catch this too.
 */
export class OptionError extends UsageError {
  /** The option, as typed on the command line (`--units`). */
  readonly option: string;
  /** The value given (`undefined`: none was given). */
  readonly value: string | undefined;
  /** What to give instead, in words with an example (`a whole number from 1 to 100, e.g. --units 5`). */
  readonly fix: string;

  /**
   * @param option - the option, with its dashes
   * @param value - the value given, or `undefined` when it is missing
   * @param fix - what the option takes, with an example
   */
  constructor(option: string, value: string | undefined, fix: string) {
    super(
      value === undefined
        ? `${option} needs a value: ${fix}`
        : `${option} must be ${fix}; got ${JSON.stringify(value)}`,
    );
    this.name = "OptionError";
    this.option = option;
    this.value = value;
    this.fix = fix;
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
