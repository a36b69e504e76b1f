import type { RehearsalReport, SimEvent } from "@charm-upgrade/sim";
import type { OutputStream } from "./io.js";

/** Options of {@link createProgressView}. */
export interface ProgressViewOptions {
  /** Redraw a live table with ANSI control codes (a terminal), or print plain lines (a pipe, a log). */
  readonly live: boolean;
  /** Application name, for unit names. */
  readonly app: string;
  /** Wait after each redraw of the live view, so a person can follow it (ms; default 0). */
  readonly delayMs?: number | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** A progress view: feed it the simulation's events, then the final report. */
export interface ProgressView {
  onEvent(event: SimEvent): void | Promise<void>;
  /** Print the summary (after clearing nothing: the live table stays as the last picture). */
  finish(report: RehearsalReport): void;
}

interface UnitLine {
  state: string;
  version: string;
  leader: boolean;
  granted: boolean;
  upgraded: boolean;
  note: string;
}

const ESC = "\u001b[";
const BAR_WIDTH = 24;
/** The height of a terminal that does not say (the VT100's). */
const DEFAULT_ROWS = 24;

/**
 * The `simulate` command's progress: on a terminal, a table of units redrawn in place as their states change,
 * with a progress bar; elsewhere, one plain line per change (no control codes). Then a summary.
 *
 * The live table never takes more lines than the terminal has rows (`out.rows`) minus one: more units than fit
 * show as a window that follows the unit that changed last, the others summarised above and below it. A taller
 * frame would scroll, and every redraw would then print a new table under the last instead of replacing it.
 */
export function createProgressView(out: OutputStream, options: ProgressViewOptions): ProgressView {
  const units = new Map<string, UnitLine>();
  let leader: string | null = null;
  let hooks = 0;
  let phase = "deploying";
  let refreshes = 0;
  let drawn = 0;
  /** The unit that changed last: the live view keeps it on screen when not every unit fits. */
  let focus: string | null = null;
  const delay = options.delayMs ?? 0;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  const line = (text: string) => out.write(`${text}\n`);
  const unit = (name: string): UnitLine => {
    let found = units.get(name);
    if (!found) {
      found = { state: "-", version: "", leader: false, granted: false, upgraded: false, note: "" };
      units.set(name, found);
    }
    return found;
  };
  const sorted = () =>
    [...units.entries()].sort(([a], [b]) => Number(a.slice(a.indexOf("/") + 1)) - Number(b.slice(b.indexOf("/") + 1)));

  const row = (name: string, u: UnitLine) => {
    const mark = u.upgraded ? "✔" : u.state === "failed" ? "✘" : u.granted ? "…" : " ";
    return `  ${mark} ${name.padEnd(8)}${u.leader ? "*" : " "} ${u.state.padEnd(10)} ${u.version.padEnd(8)} ${u.note}`.trimEnd();
  };
  /** `↑ 7 more above (db/0 to db/6): 5 idle, 2 ready; 1 upgraded`: the units a window leaves out, counted. */
  const elided = (entries: readonly (readonly [string, UnitLine])[], where: "above" | "below") => {
    const counts = new Map<string, number>();
    for (const [, u] of entries) counts.set(u.state, (counts.get(u.state) ?? 0) + 1);
    const upgraded = entries.filter(([, u]) => u.upgraded).length;
    const states = [...counts].map(([state, n]) => `${n} ${state}`).join(", ");
    const span = entries.length === 1 ? entries[0]?.[0] : `${entries[0]?.[0]} to ${entries.at(-1)?.[0]}`;
    return `  ${where === "above" ? "↑" : "↓"} ${entries.length} more ${where} (${span}): ${states}${upgraded ? `; ${upgraded} upgraded` : ""}`;
  };

  /**
   * The frame: the units, then the progress bar, in at most `height` lines. When the units do not fit, a window of
   * consecutive units around the one that changed last, with the units left out above and below summarised.
   */
  const render = (height: number): string[] => {
    const all = sorted();
    const total = units.size || 1;
    const done = [...units.values()].filter((u) => u.upgraded).length;
    const filled = Math.round((done / total) * BAR_WIDTH);
    const bar = `  [${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${done}/${units.size} upgraded  ${phase}, ${hooks} hooks`;
    const room = height - 1;
    if (all.length <= room) return [...all.map(([name, u]) => row(name, u)), bar];
    // Too small for a window with its summaries: the bar alone still says how far the upgrade is.
    if (room < 3) return [bar];
    const focused = Math.max(
      0,
      all.findIndex(([name]) => name === focus),
    );
    let size = room - 2;
    let start = Math.min(Math.max(0, focused - Math.floor(size / 2)), all.length - size);
    // At either end, one summary line is enough: the window takes its place.
    if (start === 0) size++;
    else if (start + size === all.length) {
      size++;
      start--;
    }
    const window = all.slice(start, start + size);
    const above = all.slice(0, start);
    const below = all.slice(start + size);
    return [
      ...(above.length ? [elided(above, "above")] : []),
      ...window.map(([name, u]) => row(name, u)),
      ...(below.length ? [elided(below, "below")] : []),
      bar,
    ];
  };

  const redraw = async () => {
    // One line is left for the cursor: a frame of `rows` lines would scroll the screen, and its first line would
    // be out of reach of the cursor-up that starts the next frame (each frame would then stack under the last).
    const height = Math.max(1, (out.rows && out.rows > 0 ? out.rows : DEFAULT_ROWS) - 1);
    const lines = render(height);
    const width = out.columns && out.columns > 20 ? out.columns - 1 : Number.POSITIVE_INFINITY;
    let text = drawn ? `${ESC}${drawn}A` : "";
    for (const content of lines) text += `${ESC}2K${content.length > width ? content.slice(0, width) : content}\n`;
    // a frame that shrank (a unit left, or the terminal got shorter): clear what remains below it
    for (let i = lines.length; i < drawn; i++) text += `${ESC}2K\n`;
    if (drawn > lines.length) text += `${ESC}${drawn - lines.length}A`;
    out.write(text);
    drawn = lines.length;
    if (delay > 0) await sleep(delay);
  };

  return {
    async onEvent(event) {
      let changed = true;
      switch (event.type) {
        case "hook":
          hooks++;
          changed = false;
          break;
        case "unitAdded":
          focus = event.unit;
          Object.assign(unit(event.unit), { leader: event.unit === leader, version: event.workloadVersion });
          if (!options.live) line(`${event.unit} deployed (revision ${event.revision})`);
          break;
        case "unitRemoved":
          units.delete(event.unit);
          if (!options.live) line(`${event.unit} removed`);
          break;
        case "leader":
          leader = event.unit;
          for (const [name, u] of units) u.leader = name === leader;
          if (!options.live) line(`${event.unit} is the leader`);
          break;
        case "state": {
          focus = event.unit;
          const u = unit(event.unit);
          u.state = event.to ?? "-";
          if (!options.live) line(`${event.unit}: ${event.from ?? "(none)"} -> ${event.to ?? "(none)"}`);
          break;
        }
        case "grant": {
          focus = event.grant.unit;
          const u = unit(event.grant.unit);
          u.granted = true;
          if (event.grant.outcome === "completed") Object.assign(u, { upgraded: true, version: event.grant.version });
          u.note =
            event.grant.outcome === "completed"
              ? `installed ${event.grant.version}`
              : `failed to install ${event.grant.version}`;
          if (!options.live) line(`${event.grant.unit} granted the upgrade: ${event.grant.outcome}`);
          break;
        }
        case "operator":
          if (event.message.startsWith("juju refresh")) {
            refreshes++;
            phase = refreshes > 1 ? "rolling back" : "upgrading";
            for (const u of units.values()) Object.assign(u, { granted: false, upgraded: false, note: "" });
          }
          if (!options.live) line(`$ ${event.message}`);
          else phase = event.message.startsWith("juju run") ? event.message.replace(/^juju run \S+ /, "") : phase;
          break;
        case "partition":
          if (!options.live) line(`StatefulSet partition = ${event.partition}`);
          else phase = `partition ${event.partition}`;
          break;
        case "restart":
          focus = event.unit;
          Object.assign(unit(event.unit), {
            note: `pod restarted on r${event.revision}`,
            version: event.workloadVersion,
          });
          if (!options.live) line(`${event.unit} pod restarted on revision ${event.revision}`);
          break;
        case "fault":
          if (!options.live) line(`fault: ${event.fault}`);
          break;
        default:
          changed = false;
      }
      if (options.live && changed) await redraw();
    },

    finish(report) {
      for (const u of report.units) {
        const known = unit(u.name);
        Object.assign(known, { state: u.state ?? "-", version: u.workloadVersion, leader: u.leader });
      }
      phase = "done";
      if (options.live) void redraw();
      line("");
      for (const text of formatSummary(report)) line(text);
    },
  };
}

/** The summary of a rehearsal, as plain lines (no control codes). */
export function formatSummary(report: RehearsalReport): string[] {
  const outcomes = { ok: 0, crashed: 0, failed: 0 };
  for (const hook of report.hooks) outcomes[hook.outcome]++;
  const lines = [
    `Rehearsal: ${report.units.length} units on ${report.substrate}, seed ${report.seed}, revision ${report.from.revision} (${report.from.version}) -> ${report.to.revision} (${report.to.version})`,
    `Outcome: ${report.outcome}${report.ok ? "" : " (not as expected)"}. ${report.summary}`,
    `Upgrade order: ${report.order.length ? report.order.join(" -> ") : "(nobody was granted)"}`,
  ];
  if (report.rollbackOrder.length) lines.push(`Rollback order: ${report.rollbackOrder.join(" -> ")}`);
  lines.push(
    `Hook runs: ${report.hookRuns} (ok ${outcomes.ok}, crashed ${outcomes.crashed}, failed ${outcomes.failed})`,
  );
  lines.push(`Databag writes: ${report.databagWrites}`);
  for (const action of report.actions)
    lines.push(
      `Action ${action.action} on ${action.unit}: ${action.ok ? "ok" : "failed"}${action.message ? ` - ${action.message}` : ""}`,
    );
  if (report.partition !== null) lines.push(`StatefulSet partition: ${report.partition}`);
  if (report.failure) lines.push(`Failure: ${report.failure.unit}: ${report.failure.message}`);
  lines.push(
    report.violations.length
      ? `Invariants VIOLATED:\n${report.violations.map((v) => `  - ${v}`).join("\n")}`
      : "Invariants: held (one unit at a time, stack intact)",
  );
  lines.push("Units:");
  for (const u of report.units) {
    lines.push(
      `  ${u.name.padEnd(8)}${u.leader ? "*" : " "} ${(u.state ?? "-").padEnd(10)} ${u.workloadVersion.padEnd(8)} ${u.status}${u.message ? `: ${u.message}` : ""}`,
    );
  }
  return lines;
}
