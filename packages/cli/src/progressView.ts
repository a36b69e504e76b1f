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

/**
 * The `simulate` command's progress: on a terminal, a table of units redrawn in place as their states change,
 * with a progress bar; elsewhere, one plain line per change (no control codes). Then a summary.
 */
export function createProgressView(out: OutputStream, options: ProgressViewOptions): ProgressView {
  const units = new Map<string, UnitLine>();
  let leader: string | null = null;
  let hooks = 0;
  let phase = "deploying";
  let refreshes = 0;
  let drawn = 0;
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
  const sorted = () => [...units.entries()].sort(([a], [b]) => Number(a.slice(a.indexOf("/") + 1)) - Number(b.slice(b.indexOf("/") + 1)));

  const render = (): string[] => {
    const rows = sorted().map(([name, u]) => {
      const mark = u.upgraded ? "✔" : u.state === "failed" ? "✘" : u.granted ? "…" : " ";
      return `  ${mark} ${name.padEnd(8)}${u.leader ? "*" : " "} ${u.state.padEnd(10)} ${u.version.padEnd(8)} ${u.note}`.trimEnd();
    });
    const total = units.size || 1;
    const done = [...units.values()].filter((u) => u.upgraded).length;
    const filled = Math.round((done / total) * BAR_WIDTH);
    const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${done}/${units.size} upgraded`;
    return [...rows, `  ${bar}  ${phase}, ${hooks} hooks`];
  };

  const redraw = async () => {
    const lines = render();
    const width = out.columns && out.columns > 20 ? out.columns - 1 : Number.POSITIVE_INFINITY;
    let text = drawn ? `${ESC}${drawn}A` : "";
    for (const row of lines) text += `${ESC}2K${row.length > width ? row.slice(0, width) : row}\n`;
    // a table that shrank (a unit left): clear what remains below it
    for (let i = lines.length; i < drawn; i++) text += `${ESC}2K\n`;
    if (drawn > lines.length) text += `${ESC}${drawn - lines.length}A`;
    out.write(text);
    drawn = Math.max(lines.length, 0);
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
          const u = unit(event.unit);
          u.state = event.to ?? "-";
          if (!options.live) line(`${event.unit}: ${event.from ?? "(none)"} -> ${event.to ?? "(none)"}`);
          break;
        }
        case "grant": {
          const u = unit(event.grant.unit);
          u.granted = true;
          if (event.grant.outcome === "completed") Object.assign(u, { upgraded: true, version: event.grant.version });
          u.note = event.grant.outcome === "completed" ? `installed ${event.grant.version}` : `failed to install ${event.grant.version}`;
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
          Object.assign(unit(event.unit), { note: `pod restarted on r${event.revision}`, version: event.workloadVersion });
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
  lines.push(`Hook runs: ${report.hookRuns} (ok ${outcomes.ok}, crashed ${outcomes.crashed}, failed ${outcomes.failed})`);
  lines.push(`Databag writes: ${report.databagWrites}`);
  for (const action of report.actions) lines.push(`Action ${action.action} on ${action.unit}: ${action.ok ? "ok" : "failed"}${action.message ? ` - ${action.message}` : ""}`);
  if (report.partition !== null) lines.push(`StatefulSet partition: ${report.partition}`);
  if (report.failure) lines.push(`Failure: ${report.failure.unit}: ${report.failure.message}`);
  lines.push(report.violations.length ? `Invariants VIOLATED:\n${report.violations.map((v) => `  - ${v}`).join("\n")}` : "Invariants: held (one unit at a time, stack intact)");
  lines.push("Units:");
  for (const u of report.units) {
    lines.push(`  ${u.name.padEnd(8)}${u.leader ? "*" : " "} ${(u.state ?? "-").padEnd(10)} ${u.workloadVersion.padEnd(8)} ${u.status}${u.message ? `: ${u.message}` : ""}`);
  }
  return lines;
}
