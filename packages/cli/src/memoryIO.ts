import type { CliIO, OutputStream } from "./io.js";

/** An output stream that collects what is written, for tests. */
export function collector(isTTY = false): OutputStream & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY, columns: 100, write: (chunk: string) => chunks.push(chunk), text: () => chunks.join("") };
}

/**
 * A {@link CliIO} in memory, for tests: `files` answer `readFile` (a missing one fails like `ENOENT`), output is
 * collected, and waits are instant.
 */
export function memoryIO(files: Record<string, string> = {}, tty = false) {
  const stdout = collector(tty);
  const stderr = collector();
  const cli: CliIO = {
    stdout,
    stderr,
    readFile: async (path) => {
      const text = files[path];
      if (text === undefined)
        throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
      return text;
    },
    sleep: async () => {},
  };
  return { cli, stdout, stderr };
}
