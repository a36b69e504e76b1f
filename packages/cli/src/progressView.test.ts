import type { SimEvent } from "@charm-upgrade/sim";
import { describe, expect, it } from "vitest";
import { createProgressView } from "./progressView.js";
import { parseSimulateArgs, simulateCommand } from "./simulateCommand.js";
import { virtualTerminal } from "./virtualTerminal.js";

const BAR = /\[[#-]{24}\] \d+\/\d+ upgraded/;
const UNIT_ROW = /^ {2}[✔✘… ] db\/\d+ /;
const ELIDED = /^ {2}[↑↓] (\d+) more (above|below) /;

/** A 24-row terminal whose first 23 rows hold earlier output: the cursor starts on the last row, as after a prompt. */
function terminal(rows = 24, columns = 100) {
  const earlier = Array.from({ length: rows - 1 }, (_, i) => `$ earlier output ${i}`);
  const term = virtualTerminal(rows, columns, earlier);
  const frames: string[] = [];
  const stdout = {
    ...term,
    write: (chunk: string) => {
      if (chunk.includes("\u001b[")) frames.push(chunk);
      return term.write(chunk);
    },
  };
  return { term, stdout, frames, earlier };
}

describe("the live view on a terminal shorter than the table", () => {
  it("30 units on 24 rows: every frame fits, is redrawn in place, and the last one is left once, whole", async () => {
    const { term, stdout, frames, earlier } = terminal();
    const code = await simulateCommand(parseSimulateArgs(["--units", "30"]), {
      stdout,
      stderr: { write: () => true },
      sleep: async () => {},
    });
    expect(code).toBe(0);
    expect(frames.length).toBeGreaterThan(100);
    // never more lines than rows: a frame leaves the last row for the cursor, or the screen would scroll under it
    for (const frame of frames) expect(frame.split("\n").length - 1).toBeLessThanOrEqual(23);

    const transcript = [...term.scrollback(), ...term.screen()];
    // The earlier output scrolled up intact, once; then ONE table (the final frame), then the summary. Before the
    // fix, each redraw of the 31-line table scrolled the screen and left a copy: thousands of lines of tables.
    expect(transcript.slice(0, earlier.length)).toEqual(earlier);
    const bars = transcript.filter((line) => BAR.test(line));
    expect(bars).toHaveLength(1);
    expect(bars[0]).toMatch(/^ {2}\[#{24}\] 30\/30 upgraded {2}done, \d+ hooks$/);
    const barAt = transcript.findIndex((line) => BAR.test(line));
    const frame = transcript.slice(earlier.length, barAt + 1);
    expect(frame.length).toBe(23);
    expect(transcript[barAt + 2]).toMatch(/^Rehearsal: 30 units on vm/);

    // the frame accounts for every unit: rows shown, and the others counted in the summary lines
    const shown = frame.filter((line) => UNIT_ROW.test(line)).length;
    const elided = frame.flatMap((line) => {
      const match = ELIDED.exec(line);
      return match ? [Number(match[1])] : [];
    });
    expect(elided.length).toBeGreaterThanOrEqual(1);
    expect(shown + elided.reduce((a, b) => a + b, 0)).toBe(30);
    for (const line of frame.filter((text) => ELIDED.test(text))) expect(line).toMatch(/: (\d+) idle; \1 upgraded$/);
  });

  it("the window follows the unit that changed last, and says what it leaves out above and below", async () => {
    const { term, stdout } = terminal(12, 100);
    const view = createProgressView(stdout, { live: true, app: "db" });
    for (let i = 0; i < 30; i++) {
      await view.onEvent({ type: "unitAdded", unit: `db/${i}`, revision: 1, workloadVersion: "1.0.0" });
    }
    await view.onEvent({ type: "state", seq: 1, unit: "db/15", from: null, to: "ready" });
    const screen = term.screen().filter((line) => line && !line.startsWith("$ earlier"));
    expect(screen.length).toBe(11);
    expect(screen[0]).toMatch(/^ {2}↑ \d+ more above \(db\/0 to db\/\d+\): \d+ -$/);
    expect(screen.some((line) => /^ {4}db\/15 {5}ready/.test(line))).toBe(true);
    expect(screen.at(-2)).toMatch(/^ {2}↓ \d+ more below \(db\/\d+ to db\/29\): \d+ -$/);
    expect(screen.at(-1)).toMatch(/0\/30 upgraded {2}deploying, 0 hooks$/);
  });

  it("a terminal too short for a window shows the progress bar alone; one that fits every unit shows them all", async () => {
    const tiny = terminal(3, 100);
    const view = createProgressView(tiny.stdout, { live: true, app: "db" });
    for (let i = 0; i < 5; i++)
      await view.onEvent({ type: "unitAdded", unit: `db/${i}`, revision: 1, workloadVersion: "1.0.0" });
    for (const frame of tiny.frames) expect(frame.split("\n").length - 1).toBeLessThanOrEqual(2);
    expect(tiny.term.screen().filter((line) => BAR.test(line))).toHaveLength(1);
    expect(tiny.term.screen().filter((line) => UNIT_ROW.test(line) || ELIDED.test(line))).toEqual([]);
    expect(tiny.term.scrollback().filter((line) => BAR.test(line))).toEqual([]);

    const roomy = terminal(24, 100);
    const all = createProgressView(roomy.stdout, { live: true, app: "db" });
    for (let i = 0; i < 5; i++)
      await all.onEvent({ type: "unitAdded", unit: `db/${i}`, revision: 1, workloadVersion: "1.0.0" });
    const screen = roomy.term.screen().filter((line) => line && !line.startsWith("$ earlier"));
    expect(screen.filter((line) => UNIT_ROW.test(line))).toHaveLength(5);
    expect(screen.some((line) => ELIDED.test(line))).toBe(false);
  });

  it("a terminal that does not say its height is taken as 24 rows", async () => {
    const frames: string[] = [];
    const view = createProgressView(
      { isTTY: true, columns: 100, write: (chunk: string) => frames.push(chunk) },
      { live: true, app: "db" },
    );
    const events: SimEvent[] = Array.from({ length: 40 }, (_, i) => ({
      type: "unitAdded",
      unit: `db/${i}`,
      revision: 1,
      workloadVersion: "1.0.0",
    }));
    for (const event of events) await view.onEvent(event);
    expect(Math.max(...frames.map((frame) => frame.split("\n").length - 1))).toBe(23);
  });
});
