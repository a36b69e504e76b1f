import type { OutputStream } from "./io.js";

/** A {@link virtualTerminal}: an output stream that is a terminal screen, for tests of the live view. */
export interface VirtualTerminal extends OutputStream {
  readonly isTTY: true;
  readonly rows: number;
  readonly columns: number;
  /** The screen now, one string per row (trailing spaces trimmed). */
  screen(): string[];
  /** The lines scrolled off the top of the screen, oldest first: what the operator scrolls back through. */
  scrollback(): string[];
}

/**
 * A terminal of `rows` × `columns` that interprets what is written the way a VT100 does, for tests: text,
 * line feed (with carriage return, as a tty's `onlcr` does), carriage return, cursor up (`ESC[nA`) and erase line
 * (`ESC[2K`); a line longer than the width wraps; a line feed on the last row scrolls the screen, the top row going
 * to the scrollback. Any other control sequence throws, so a test sees output it does not understand.
 *
 * @param before - lines already on the screen (a shell's prompt and earlier output); the cursor starts below them
 */
export function virtualTerminal(rows: number, columns: number, before: readonly string[] = []): VirtualTerminal {
  const blank = () => new Array<string>(columns).fill(" ");
  const screen: string[][] = Array.from({ length: rows }, blank);
  const scrolled: string[] = [];
  let row = 0;
  let col = 0;
  const text = (cells: readonly string[]) => cells.join("").trimEnd();
  const lineFeed = () => {
    col = 0;
    if (row < rows - 1) {
      row++;
      return;
    }
    scrolled.push(text(screen.shift() ?? []));
    screen.push(blank());
  };
  const put = (char: string) => {
    if (col === columns) lineFeed();
    const line = screen[row];
    if (line) line[col] = char;
    col++;
  };
  const write = (chunk: string) => {
    for (let i = 0; i < chunk.length; i++) {
      const char = chunk[i] ?? "";
      if (char === "\n") lineFeed();
      else if (char === "\r") col = 0;
      else if (char === "\u001b") {
        // the control sequence introducer: ESC, then `[`, parameters and a final letter
        const sequence = /^\[(\d*)([A-Za-z])/.exec(chunk.slice(i + 1));
        const [rest = "", count = "", command = ""] = sequence ?? [];
        if (command === "A") row = Math.max(0, row - Number(count || 1));
        else if (command === "K" && count === "2") screen[row] = blank();
        else throw new Error(`virtualTerminal: unsupported control sequence ${JSON.stringify(chunk.slice(i, i + 8))}`);
        i += rest.length;
      } else put(char);
    }
    return true;
  };
  for (const line of before) write(`${line}\n`);
  return { isTTY: true, rows, columns, write, screen: () => screen.map(text), scrollback: () => [...scrolled] };
}
